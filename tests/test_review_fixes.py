"""Findings of the review of issue 6's application changes, each with a test that failed before its fix."""
from __future__ import annotations

import time

from tests.conftest import PASSWORD
from tests.helpers import csrf_token
from tests.test_settings import post_form


def test_the_language_switch_never_links_to_another_site(app):
    """``/\\evil.example`` reached the switch raw: browsers read ``/\\host`` as ``//host``."""
    page = app.test_client().get("/%5Cevil.example", headers={"Accept-Language": "fr"})
    text = page.get_data(as_text=True)
    assert 'href="/\\evil.example' not in text and 'href="/%5Cevil.example?lang=en"' in text


def test_signing_in_gives_a_new_csrf_token(app, user):
    """The token of the pre-login cookie (which anyone can obtain) must not survive the sign-in."""
    client = app.test_client()
    before = csrf_token(client.get("/login"))
    assert client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": before}).status_code == 302
    after = csrf_token(client.get("/settings"))
    assert after != before
    # The old token no longer passes; the new one does.
    assert client.post("/settings/tokens", data={"name": "x", "csrf_token": before}).status_code == 400
    assert client.post("/settings/tokens", data={"name": "x", "csrf_token": after}).status_code == 302


def test_a_new_token_left_in_the_session_is_not_shown_later(app, logged_in, monkeypatch):
    """The redirect never followed: the value must not come back much later."""
    from app.settings import routes

    assert post_form(logged_in, "/settings/tokens", {"name": "ci"}).status_code == 302
    real = time.time
    monkeypatch.setattr(routes.time, "time", lambda: real() + routes.NEW_TOKEN_SECONDS + 1)
    page = logged_in.get("/settings/tokens")
    assert b'id="new-token"' not in page.data and b"sil_" not in page.data.split(b"<code>")[0]


def test_a_relative_sqlite_path_is_the_one_flask_sqlalchemy_opens(tmp_path, monkeypatch):
    """Config checks (master key) and the rate-limit storage opened ``./x.db`` while the app opened
    ``<instance>/x.db``: sign-in failed and a missing master key could be regenerated over data."""
    from app import config

    monkeypatch.chdir(tmp_path)
    settings = config.load({"SILLAGE_DATABASE_URL": "sqlite:///rel.db", "SILLAGE_SECRET_KEY": "s" * 32,
                            "SILLAGE_MASTER_KEY": "m" * 44, "SILLAGE_INSTANCE_PATH": str(tmp_path / "inst")})
    expected = f"sqlite:///{tmp_path / 'inst' / 'rel.db'}"
    assert settings["SQLALCHEMY_DATABASE_URI"] == expected
    assert settings["RATELIMIT_STORAGE_OPTIONS"] == {"database_url": expected}
    for url in ("sqlite:////abs/path.db", "sqlite://", "postgresql+psycopg://u:p@h/db"):
        kept = config.load({"SILLAGE_DATABASE_URL": url, "SILLAGE_SECRET_KEY": "s" * 32,
                            "SILLAGE_MASTER_KEY": "m" * 44, "SILLAGE_INSTANCE_PATH": str(tmp_path / "inst")})
        assert kept["SQLALCHEMY_DATABASE_URI"] == url


def test_one_request_holds_one_verification_slot(app_settings):
    """The page verifies and then prepares the badge image inside one slot, never two."""
    from app import create_app
    from app.verification import runner

    app_settings["VERIFY_SLOTS"] = 1
    app = create_app(app_settings)
    with app.test_request_context("/verify"), runner.slot() as outer:
        with runner.slot() as inner:  # with one slot, a second lock would be refused
            assert inner == outer == 0
        result = runner.run({"type": ["VerifiableCredential"]})
        assert result["verified"] is False
    with app.test_request_context("/verify"), runner.slot() as again:
        assert again == 0  # released


def test_a_removed_slot_folder_is_made_again(app_settings):
    import shutil
    from pathlib import Path

    from app import create_app
    from app.verification import runner

    app = create_app(app_settings)
    with app.test_request_context("/"), runner.slot():
        pass
    shutil.rmtree(Path(app.instance_path) / "verify-slots")
    with app.test_request_context("/"), runner.slot() as number:
        assert number == 0
