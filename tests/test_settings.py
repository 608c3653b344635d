"""Settings: password, e-mail change, sessions, preferences, API tokens, deleting the account."""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.database import utcnow
from app.extensions import db
from app.models import ApiToken, Diploma, Experience, JournalEntry, OneTimeToken, Portfolio, Skill, User
from app.services import accounts, one_time_tokens, tokens
from tests.conftest import PASSWORD, login
from tests.helpers import csrf_token
from tests.test_api import api_for
from tests.test_auth import (
    NEW_PASSWORD, count_verifications, english, is_signed_in, link_in, outbox, post_form, user_by_email,
)


@pytest.fixture
def client(app):
    return english(app)


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return post_form(client, "/settings/password", {"current_password": current, "new_password": new,
                                                    "new_password_confirm": confirm or new})


# --- access ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/settings", "/settings/password", "/settings/email",
                                  "/settings/preferences", "/settings/tokens", "/settings/delete"])
def test_settings_pages_need_a_signed_in_person(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_settings_page_shows_the_account(logged_in, user):
    page = logged_in.get("/settings")
    assert page.status_code == 200
    assert user.email.encode() in page.data and b"confirmed" in page.data
    for path in (b"/settings/password", b"/settings/email", b"/settings/preferences", b"/settings/tokens",
                 b"/settings/delete"):
        assert path in page.data


# --- password and sessions -------------------------------------------------------------------------

def test_password_change_keeps_this_session_and_ends_the_others(app, logged_in, user):
    other = english(app)
    assert login(other, user.email).status_code == 302
    assert is_signed_in(other)

    response = change_password(logged_in)
    assert response.status_code == 302
    assert is_signed_in(logged_in)
    assert not is_signed_in(other)
    assert accounts.verify_password(user_by_email(user.email), NEW_PASSWORD)
    assert login(other, user.email, NEW_PASSWORD).status_code == 302
    assert any(m["To"] == user.email for m in outbox(app))  # the owner is told


@pytest.mark.parametrize("current, new, confirm, message", [
    ("wrong current password", NEW_PASSWORD, None, b"not your current password"),
    (PASSWORD, "short", None, b"at least 12 characters"),
    (PASSWORD, "motdepasse123", None, b"too common"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", b"two passwords are different"),
])
def test_password_change_refusals_change_nothing(logged_in, user, current, new, confirm, message):
    before = user_by_email(user.email)
    hash_before, version_before = before.password_hash, before.session_version
    response = change_password(logged_in, current, new, confirm)
    assert response.status_code == 422
    assert message in response.data
    after = user_by_email(user.email)
    assert (after.password_hash, after.session_version) == (hash_before, version_before)
    assert is_signed_in(logged_in)


@pytest.mark.parametrize("revoke", [False, True])
def test_password_change_revokes_the_api_tokens_only_if_asked(app, logged_in, user, make_user, revoke):
    page = logged_in.get("/settings/password")
    checkbox = re.search(rb'<input[^>]*name="revoke_tokens"[^>]*>', page.data).group(0)
    assert b'type="checkbox"' in checkbox and b"checked" not in checkbox  # unchecked unless chosen
    assert b'<label for="revoke_tokens">Also revoke my API tokens</label>' in page.data
    mine, raw = tokens.create_token(db.session, user, "laptop")
    theirs, _ = tokens.create_token(db.session, make_user("neighbour@example.org"), "theirs")
    db.session.commit()

    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    response = post_form(logged_in, "/settings/password", {**data, "revoke_tokens": "y"} if revoke else data)
    assert response.status_code == 302
    db.session.expire_all()
    assert (db.session.get(ApiToken, mine.id).revoked_at is not None) is revoke
    assert db.session.get(ApiToken, theirs.id).revoked_at is None
    api_status = english(app).get("/api/v1/account", headers={"Authorization": f"Bearer {raw}"}).status_code
    assert api_status == (401 if revoke else 200)
    flashed = logged_in.get("/settings").data
    assert (b"API tokens revoked" in flashed) is revoke


def test_a_refused_password_change_revokes_nothing(logged_in, user):
    mine, _ = tokens.create_token(db.session, user, "laptop")
    db.session.commit()
    response = post_form(logged_in, "/settings/password", {
        "current_password": "not my password!", "new_password": NEW_PASSWORD,
        "new_password_confirm": NEW_PASSWORD, "revoke_tokens": "y"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(ApiToken, mine.id).revoked_at is None


def test_log_out_everywhere_else(app, logged_in, user):
    other = english(app)
    login(other, user.email)
    response = post_form(logged_in, "/settings/sessions/end", {}, page_url="/settings")
    assert response.status_code == 302
    assert is_signed_in(logged_in)
    assert not is_signed_in(other)


def test_posts_without_csrf_token_change_nothing(logged_in, user):
    response = logged_in.post("/settings/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert accounts.verify_password(user_by_email(user.email), PASSWORD)
    assert logged_in.post("/settings/delete", data={"password": PASSWORD}).status_code == 400
    assert user_by_email(user.email) is not None
    assert logged_in.post("/settings/sessions/end").status_code == 400
    assert user_by_email(user.email).session_version == 1


# --- e-mail change ---------------------------------------------------------------------------------

def test_email_change_is_confirmed_by_a_link_sent_to_the_new_address(app, client, logged_in, user):
    response = post_form(logged_in, "/settings/email",
                         {"new_email": "Moved@Example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert user_by_email(user.email) is not None  # nothing changes before the link is followed
    mails = outbox(app)
    assert [m["To"] for m in mails] == ["moved@example.org"]
    path = link_in(mails[0], "/settings/email/confirm/")

    stranger = english(app)  # the link works on any device, signed in or not: it is the proof
    page = stranger.get(path)
    assert page.status_code == 200
    assert stranger.post(path, data={"csrf_token": csrf_token(page)}).status_code == 302
    moved = user_by_email("moved@example.org")
    assert moved is not None and moved.id == user.id and moved.is_verified
    assert user_by_email("owner@example.org") is None
    assert [m["To"] for m in outbox(app)][-1] == "owner@example.org"  # the old address is told
    assert stranger.post(path, data={"csrf_token": csrf_token(page)}).status_code == 400  # once only
    assert login(english(app), "moved@example.org").status_code == 302


def test_email_change_needs_the_password(app, logged_in, user):
    response = post_form(logged_in, "/settings/email",
                         {"new_email": "moved@example.org", "password": "wrong one!!"})
    assert response.status_code == 422 and b"not your current password" in response.data
    assert outbox(app) == []
    assert db.session.scalar(select(func.count()).select_from(OneTimeToken)) == 0


def test_email_change_needs_a_verified_address(app, client, make_user):
    person = make_user("unverified@example.org", verified=False)
    login(client, person.email)
    response = post_form(client, "/settings/email", {"new_email": "moved@example.org", "password": PASSWORD},
                         page_url="/settings")
    assert response.status_code == 302 and response.headers["Location"] == "/settings"
    assert [m["To"] for m in outbox(app)] == []


def test_email_change_to_a_taken_address_reveals_nothing_then_fails(app, logged_in, user, make_user):
    make_user("taken@example.org")
    response = post_form(logged_in, "/settings/email",
                         {"new_email": "taken@example.org", "password": PASSWORD})
    assert response.status_code == 302  # same answer as for a free address
    path = link_in(outbox(app)[0], "/settings/email/confirm/")
    page = logged_in.get(path)
    assert logged_in.post(path, data={"csrf_token": csrf_token(page)}).status_code == 409
    assert user_by_email("owner@example.org").id == user.id


# --- preferences -----------------------------------------------------------------------------------

def test_preferences_set_language_and_time_zone(logged_in, user):
    response = post_form(logged_in, "/settings/preferences", {"locale": "en", "timezone": "America/Montreal"})
    assert response.status_code == 302
    saved = user_by_email(user.email)
    assert (saved.locale, saved.timezone) == ("en", "America/Montreal")
    logged_in.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    assert b'<html lang="en">' in logged_in.get("/settings").data  # the account's choice wins


@pytest.mark.parametrize("data", [{"locale": "de", "timezone": ""},
                                  {"locale": "fr", "timezone": "Mars/Olympus"}])
def test_preferences_refuse_unknown_values(logged_in, user, data):
    response = post_form(logged_in, "/settings/preferences", data)
    assert response.status_code == 422
    saved = user_by_email(user.email)
    assert (saved.locale, saved.timezone) == (None, None)


def test_preferences_service_validates_with_zoneinfo(app, user):
    with app.test_request_context():
        accounts.set_preferences(db.session, user, locale="fr", timezone="Pacific/Noumea")
        assert user.timezone == "Pacific/Noumea"
        with pytest.raises(accounts.ValidationFailed) as exc:
            accounts.set_preferences(db.session, user, locale="xx", timezone="Nowhere/Town")
    assert set(exc.value.fields) == {"locale", "timezone"}


def test_the_form_offers_exactly_the_zones_the_service_accepts(logged_in):
    page = logged_in.get("/settings/preferences").get_data(as_text=True)
    menu = re.search(r'<select[^>]*name="timezone".*?</select>', page, re.S).group(0)
    offered = set(re.findall(r'<option[^>]*value="([^"]*)"', menu)) - {""}
    assert offered == accounts.timezones()
    assert {"Europe/Paris", "America/Argentina/Buenos_Aires", "UTC"} <= offered
    assert not offered & {"localtime", "Factory", "posixrules", "EST5EDT", "Etc/GMT+5"}


# --- API tokens ------------------------------------------------------------------------------------

def test_tokens_are_created_shown_once_and_revoked(app, logged_in, user):
    response = post_form(logged_in, "/settings/tokens", {"name": "Backup script", "expires_in_days": "30"})
    # Post/redirect/get: the form post answers a redirect, so reloading the page cannot post again.
    assert response.status_code == 302 and response.headers["Location"] == "/settings/tokens"
    token = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert token.name == "Backup script" and token.expires_at is not None

    shown_page = logged_in.get("/settings/tokens")
    assert shown_page.status_code == 200 and shown_page.headers["Cache-Control"] == "no-store"
    shown = shown_page.data.split(b'id="new-token"')[1].split(b'value="')[1].split(b'"')[0].decode()
    assert shown.startswith("sil_") and token.prefix in shown
    assert tokens.hash_token(shown) == token.token_hash
    # The list shows the same beginning as the real token, "sil_" included.
    assert f"<code>{shown[:12]}…</code>".encode() in shown_page.data
    # A copy button, enhanced by a script that carries this response's CSP nonce.
    assert b'id="copy-token"' in shown_page.data
    nonce = re.search(r"'nonce-([^']+)'", shown_page.headers["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">'.encode() in shown_page.data

    listing = logged_in.get("/settings/tokens")  # the reload
    assert b"Backup script" in listing.data and shown.encode() not in listing.data  # never shown again
    assert b'id="copy-token"' not in listing.data
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1  # no second token

    revoked = logged_in.post(f"/settings/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(listing)})
    assert revoked.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_new_token_value_leaves_the_session_store_once_shown(app, logged_in, user):
    """The value waits in the server-side session between the redirect and the page, no longer."""
    assert post_form(logged_in, "/settings/tokens", {"name": "ci"}).status_code == 302
    logged_in.get("/settings/tokens")
    rows = db.session.execute(text("SELECT data FROM http_sessions")).scalars().all()
    assert rows and not any(b"sil_" in bytes(row) for row in rows)


def test_tokens_of_someone_else_answer_404(app, logged_in, make_user):
    from app.services import tokens

    stranger = make_user("stranger@example.org")
    theirs, _raw = tokens.create_token(db.session, stranger, "theirs")
    db.session.commit()
    page = logged_in.get("/settings/tokens")
    assert b"theirs" not in page.data
    response = logged_in.post(f"/settings/tokens/{theirs.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404
    assert logged_in.post(f"/settings/tokens/{uuid.uuid4()}/revoke",
                          data={"csrf_token": csrf_token(page)}).status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, theirs.id).revoked_at is None


def test_token_form_refusals(logged_in, user):
    response = post_form(logged_in, "/settings/tokens", {"name": "", "expires_in_days": "0"})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_tokens_need_a_verified_address(client, make_user):
    person = make_user("unverified@example.org", verified=False)
    login(client, person.email)
    assert client.get("/settings/tokens").headers["Location"] == "/settings"


# --- delete the account ----------------------------------------------------------------------------

def _fill_portfolio(user: User) -> None:
    portfolio_id = user.portfolio.id
    skill = Skill(id=uuid.uuid4(), portfolio_id=portfolio_id, name="Welding", level=3)
    experience = Experience(id=uuid.uuid4(), portfolio_id=portfolio_id, kind="job", title="Welder",
                            start_date=date(2020, 1, 1), skills=[skill])
    db.session.add_all([skill, experience,
                        Diploma(id=uuid.uuid4(), portfolio_id=portfolio_id, title="CAP"),
                        JournalEntry(id=uuid.uuid4(), portfolio_id=portfolio_id, title="Thoughts", body="…"),
                        ApiToken(id=uuid.uuid4(), user_id=user.id, name="t", token_hash=uuid.uuid4().hex * 2,
                                 prefix="abc")])
    one_time_tokens.issue_token(db.session, user, "reset_password")
    db.session.commit()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_delete_account_asks_the_password_then_removes_everything(app, logged_in, user, make_user):
    neighbour = make_user("neighbour@example.org")
    _fill_portfolio(user)
    _fill_portfolio(neighbour)

    wrong = post_form(logged_in, "/settings/delete", {"password": "not my password"})
    assert wrong.status_code == 422 and b"not your current password" in wrong.data
    assert user_by_email(user.email) is not None and _count(Experience) == 2

    response = post_form(logged_in, "/settings/delete", {"password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    assert user_by_email("owner@example.org") is None
    for model in (Portfolio, Experience, Skill, Diploma, JournalEntry, ApiToken, OneTimeToken):
        assert _count(model) == 1, model  # only the neighbour's are left
    assert db.session.execute(text("SELECT count(*) FROM experience_skills")).scalar() == 1
    assert not is_signed_in(logged_in)
    assert login(english(app), "owner@example.org").status_code == 422


def test_delete_account_removes_the_photo_blob(app, logged_in, user):
    storage = pytest.importorskip("app.storage")
    key = f"photos/{user.portfolio.id}/{uuid.uuid4()}.jpg"
    storage.put(key, b"\xff\xd8\xff photo", "image/jpeg")
    user.portfolio.photo_key = key
    db.session.commit()
    assert post_form(logged_in, "/settings/delete", {"password": PASSWORD}).status_code == 302
    assert not storage.exists(key)


# --- the current password: one check, with the sign-in backoff and the sign-in budget ---------------

# Each settings POST that checks the current password: its field, and its form data for a password.
PASSWORD_FORMS = {
    "/settings/password": ("current_password", lambda password: {
        "current_password": password, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}),
    "/settings/email": ("password", lambda password: {"new_email": "moved@example.org",
                                                      "password": password}),
    "/settings/delete": ("password", lambda password: {"password": password}),
}


def post_password(client, path: str, password: str):
    return post_form(client, path, PASSWORD_FORMS[path][1](password))


def field_error(response, field: str) -> str:
    """The message shown under ``field`` (the input points to it with aria-describedby)."""
    page = response.get_data(as_text=True)
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert match, page
    assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"|'
                     rf'aria-describedby="[^"]*{field}-error"[^>]*id="{field}"', page)
    return match.group(1)


def test_wrong_current_passwords_on_the_pages_lock_the_account_everywhere(app, logged_in, user):
    hash_before = user_by_email(user.email).password_hash
    pages = ["/settings/password", "/settings/email", "/settings/delete", "/settings/password",
             "/settings/email"]
    for attempt, path in enumerate(pages, start=1):
        response = post_password(logged_in, path, "not my password!")
        assert response.status_code == 422
        assert "not your current password" in field_error(response, PASSWORD_FORMS[path][0])
        assert user_by_email(user.email).failed_logins == attempt
    assert attempt == accounts.LOCK_AFTER and user_by_email(user.email).locked_until > utcnow()

    # Locked: the right password is refused on every page, in the API and on the sign-in page.
    for path, (field, _data) in PASSWORD_FORMS.items():
        response = post_password(logged_in, path, PASSWORD)
        assert response.status_code == 422 and "not your current password" in field_error(response, field)
    api = api_for(english(app), user_by_email(user.email))
    refused = api.post("/account/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert refused.status_code == 403 and refused.get_json()["error"] == "invalid_credentials"
    assert login(english(app), user.email).status_code == 422
    locked = user_by_email(user.email)
    assert locked.failed_logins == accounts.LOCK_AFTER  # locked attempts are not counted
    assert locked.password_hash == hash_before and locked.email == "owner@example.org"
    assert is_signed_in(logged_in) and outbox(app) == []
    assert db.session.scalar(select(func.count()).select_from(OneTimeToken)) == 0


def test_the_right_password_on_a_page_resets_the_count(app, logged_in, user):
    signed_in_at = user_by_email(user.email).last_login_at
    for _ in range(accounts.LOCK_AFTER - 1):
        assert post_password(logged_in, "/settings/email", "not my password!").status_code == 422
    assert user_by_email(user.email).failed_logins == accounts.LOCK_AFTER - 1
    assert post_password(logged_in, "/settings/email", PASSWORD).status_code == 302
    confirmed = user_by_email(user.email)
    assert (confirmed.failed_logins, confirmed.locked_until) == (0, None)
    assert confirmed.last_login_at == signed_in_at  # confirming a password is not signing in
    # The count starts again from zero: four more failures do not lock.
    for _ in range(accounts.LOCK_AFTER - 1):
        post_password(logged_in, "/settings/password", "not my password!")
    assert user_by_email(user.email).locked_until is None
    assert post_password(logged_in, "/settings/password", PASSWORD).status_code == 302


def test_an_expired_lock_lets_the_page_through(app, logged_in, user):
    locked = user_by_email(user.email)
    locked.failed_logins, locked.locked_until = accounts.LOCK_AFTER, utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert post_password(logged_in, "/settings/password", PASSWORD).status_code == 302
    assert user_by_email(user.email).failed_logins == 0


@pytest.mark.parametrize("path", list(PASSWORD_FORMS))
def test_each_page_verifies_the_password_once_per_request(app, logged_in, user, monkeypatch, path):
    calls = count_verifications(monkeypatch)
    assert post_password(logged_in, path, "not my password!").status_code == 422
    assert len(calls) == 1
    assert post_password(logged_in, path, PASSWORD).status_code == 302
    assert len(calls) == 2


@pytest.fixture
def strict_budget(app_settings):
    """A small per-IP sign-in budget; the sign-in of ``logged_in`` spends the first guess of it."""
    app_settings["RATE_LIMIT_LOGIN"] = "4/minute"
    return app_settings


def test_one_per_ip_budget_for_the_sign_in_page_the_settings_and_the_api(strict_budget, app, logged_in, user):
    api = api_for(english(app), user)
    assert post_password(logged_in, "/settings/password", "not my password!").status_code == 422
    wrong = {"current_password": "not my password!", "new_password": NEW_PASSWORD}
    assert api.post("/account/password", json=wrong).status_code == 403
    assert login(english(app), user.email, "not my password!").status_code == 422  # 4th of 4
    for path in PASSWORD_FORMS:
        assert post_password(logged_in, path, PASSWORD).status_code == 429, path
        assert logged_in.get(path).status_code == 200  # showing the form costs nothing
    for response in (api.post("/account/password", json=wrong),
                     api.post("/account/email", json={"new_email": "x@example.org", "password": PASSWORD}),
                     api.delete("/account", json={"password": PASSWORD}),
                     english(app).post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})):
        assert response.status_code == 429 and response.get_json()["error"] == "rate_limited"
    assert login(english(app), user.email).status_code == 429
    # Pages that check no password keep working; nothing refused above was checked or changed.
    assert post_form(logged_in, "/settings/preferences", {"locale": "en", "timezone": ""}).status_code == 302
    after = user_by_email(user.email)
    assert after is not None and after.failed_logins == 3 and after.email == "owner@example.org"
    assert accounts.verify_password(after, PASSWORD)


def test_the_budget_is_per_ip(app_settings, user):
    """Another address still has its budget (the budget is per IP; the lock, per account)."""
    app = create_app({**app_settings, "RATE_LIMIT_LOGIN": "1/minute"})
    with app.app_context():
        first, second = english(app), english(app)
        second.environ_base["REMOTE_ADDR"] = "192.0.2.9"
        assert login(first, user.email).status_code == 302
        assert post_password(first, "/settings/password", "not my password!").status_code == 429
        assert login(second, user.email).status_code == 302
        assert post_password(second, "/settings/email", PASSWORD).status_code == 429
