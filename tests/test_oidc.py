"""Single sign-on against a REAL OpenID provider (npm oidc-provider, tests/oidc/provider.js) on 127.0.0.1.

Every sign-in is driven through the provider's own pages over HTTP; the forged answers are real
answers from the provider whose ID token the test replaces after the genuine code exchange (signed
with another key, or with the provider's own key but wrong claims): each must be refused with its
message, and no account may be created or linked.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from authlib.jose import JsonWebKey, jwt
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.models.sso import ExternalIdentity
from app.services import admin, audit
from app.sso import flow
from tests.conftest import login
from tests.helpers import csrf_token
from tests.oidc.server import running_provider, sign_in_over_http
from tests.test_auth import outbox

CALLBACK = "http://localhost/auth/oidc/test/callback"


@pytest.fixture
def provider(tmp_path):
    with running_provider(tmp_path, [CALLBACK]) as running:
        yield running


@pytest.fixture
def app_settings(app_settings, provider):
    app_settings["OIDC_PROVIDERS"] = [{"name": "test", "label": "Test ENT", "issuer": provider["issuer"],
                                       "client_id": provider["client_id"],
                                       "client_secret": provider["secret"]}]
    app_settings["BABEL_DEFAULT_LOCALE"] = "en"  # the messages below are asserted in English
    return app_settings


def _start(client, path="/auth/oidc/test/login"):
    response = client.get(path)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def _continue_url(response):
    import re
    from html import unescape
    return unescape(re.search(r'<a class="button" id="sso-continue" href="([^"]+)"', response.text).group(1))


def _callback(client, url):
    parts = urlsplit(url)
    # buffered: the body is read and closed like a WSGI server does, which sends the mails of the answer
    return client.get(f"{parts.path}?{parts.query}", buffered=True)


def _counts():
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(ExternalIdentity)))


def test_login_page_shows_the_provider_button_and_the_request_uses_pkce_state_nonce(client, provider):
    assert "Test ENT" in client.get("/login").text
    url = _start(client)
    assert url.startswith(provider["issuer"])
    for part in ("code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "response_type=code"):
        assert part in url


def test_verified_email_creates_the_account_and_signs_in(client):
    response = _callback(client, sign_in_over_http(_start(client), "newcomer"))
    assert response.status_code == 302, response.text
    user = db.session.scalars(select(User).where(User.email == "newcomer.sso@example.org")).one()
    assert user.is_verified
    identity = db.session.scalars(select(ExternalIdentity)).one()
    assert (identity.user_id, identity.provider, identity.subject) == (user.id, "test", "newcomer")
    assert client.get("/settings").status_code == 200  # signed in


def test_verified_email_links_the_existing_account_then_signs_in_again(client, make_user):
    user = make_user("ines.sso@example.org")
    assert _callback(client, sign_in_over_http(_start(client), "ines")).status_code == 302
    assert db.session.scalars(select(ExternalIdentity)).one().user_id == user.id
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/settings"))})
    assert client.get("/settings").status_code == 302  # signed out
    assert _callback(client, sign_in_over_http(_start(client), "ines")).status_code == 302
    assert client.get("/settings").status_code == 200
    assert _counts() == (1, 1)


def test_unverified_email_is_refused_then_linked_from_the_settings_and_unlinked(client, user):
    before = _counts()
    response = _callback(client, sign_in_over_http(_start(client), "unverified"))
    assert response.status_code == 403
    assert "did not confirm an e-mail address" in response.text
    assert _counts() == before
    # The person signs in with the password and links explicitly.
    login(client, user.email)
    page = client.get("/settings/sign-in-services")
    assert "Link my Test ENT account" in page.text
    response = client.post("/settings/sign-in-services/test/link", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200
    assert _callback(client, sign_in_over_http(_continue_url(response), "unverified")).status_code == 302
    identity = db.session.scalars(select(ExternalIdentity)).one()
    assert identity.user_id == user.id
    # Without CSRF, no linking nor unlinking; with it, the link goes.
    assert client.post("/settings/sign-in-services/test/link").status_code == 400
    assert client.post(f"/settings/sign-in-services/{identity.id}/unlink").status_code == 400
    page = client.get("/settings/sign-in-services")
    assert client.post(f"/settings/sign-in-services/{identity.id}/unlink",
                       data={"csrf_token": csrf_token(page)}).status_code == 302
    assert _counts() == before


def test_an_identity_linked_to_one_account_cannot_be_linked_to_another(client, app, make_user):
    make_user("ines.sso@example.org")
    _callback(client, sign_in_over_http(_start(client), "ines"))
    other = app.test_client()
    login(other, make_user("someone@example.org").email)
    page = other.get("/settings/sign-in-services")
    response = other.post("/settings/sign-in-services/test/link", data={"csrf_token": csrf_token(page)})
    response = _callback(other, sign_in_over_http(_continue_url(response), "ines"))
    assert response.status_code == 409 and "already linked to another" in response.text
    assert _counts() == (2, 1)


def test_bad_state_is_refused(client):
    url = sign_in_over_http(_start(client), "newcomer")
    before = _counts()
    response = _callback(client, url.replace("state=", "state=forged"))
    assert response.status_code == 400 and 'data-code="bad_state"' in response.text
    # Another browser (no sign-in started there) presenting the genuine answer: refused too.
    from flask import current_app
    response = _callback(current_app.test_client(), url)
    assert response.status_code == 400 and 'data-code="bad_state"' in response.text
    assert _counts() == before


def test_code_replay_is_refused(client):
    url = sign_in_over_http(_start(client), "newcomer")
    assert _callback(client, url).status_code == 302
    code = dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))["code"]
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/settings"))})
    fresh = _start(client)  # a new sign-in, whose state the replayed code now claims
    state = dict(part.split("=", 1) for part in urlsplit(fresh).query.split("&"))["state"]
    before = _counts()
    response = client.get(f"/auth/oidc/test/callback?code={code}&state={state}")
    assert response.status_code == 400 and 'data-code="code_refused"' in response.text
    assert _counts() == before


def _forge(provider, **changes):
    """Replace the genuine ID token by one with ``changes`` (a claim set to None is removed), signed by
    the provider's own key unless ``key`` is given."""
    key = changes.pop("key", provider["key"])
    real = flow.exchange_code

    def exchange(*args, **kwargs):
        tokens = real(*args, **kwargs)
        claims = dict(jwt.decode(tokens["id_token"], provider["key"]))
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        header = {"alg": "RS256", "kid": key.as_dict().get("kid", "test-provider-key")}
        tokens["id_token"] = jwt.encode(header, claims, key).decode()
        return tokens

    return exchange


OTHER_KEY = JsonWebKey.generate_key("RSA", 2048, {"kid": "test-provider-key"}, is_private=True)


@pytest.mark.parametrize("changes, code", [
    ({"key": OTHER_KEY}, "bad_signature"),
    ({"iss": "http://127.0.0.1:1/evil"}, "wrong_issuer"),
    ({"aud": "another-client"}, "wrong_audience"),
    ({"aud": ["sillage", "another-client"], "azp": "another-client"}, "wrong_audience"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3700}, "expired_token"),
    ({"iat": int(time.time()) + 3600}, "bad_issued_at"),
    ({"nonce": "not-the-nonce-we-sent"}, "bad_nonce"),
    ({"nonce": None}, "bad_nonce"),
], ids=["signature", "issuer", "audience", "azp", "expired", "future_iat", "wrong_nonce", "missing_nonce"])
def test_forged_id_tokens_are_refused(client, provider, monkeypatch, changes, code):
    monkeypatch.setattr(flow, "exchange_code", _forge(provider, **changes))
    url = sign_in_over_http(_start(client), "newcomer")
    before = _counts()
    response = _callback(client, url)
    assert response.status_code == 400, response.text
    assert f'data-code="{code}"' in response.text
    assert "Nothing was created or linked." in response.text
    assert _counts() == before
    assert client.get("/settings").status_code == 302  # not signed in


def test_a_token_signed_with_alg_none_is_refused(client, provider, monkeypatch):
    real = flow.exchange_code

    def exchange(*args, **kwargs):
        tokens = real(*args, **kwargs)
        header, payload, _ = tokens["id_token"].split(".")
        tokens["id_token"] = "eyJhbGciOiJub25lIn0." + payload + "."
        return tokens

    monkeypatch.setattr(flow, "exchange_code", exchange)
    response = _callback(client, sign_in_over_http(_start(client), "newcomer"))
    assert response.status_code == 400 and 'data-code="bad_signature"' in response.text


def test_unknown_provider_and_wrong_configuration():
    from app.sso.providers import parse
    with pytest.raises(ValueError):
        parse('[{"name": "Bad Name", "issuer": "https://x", "client_id": "c"}]')
    with pytest.raises(ValueError):
        parse('[{"name": "a", "issuer": "ftp://x", "client_id": "c"}]')
    assert parse('[{"name": "a", "issuer": "https://x/", "client_id": "c", "scopes": ["email"]}]')[0].scopes \
        == ("openid", "email")


def test_unknown_provider_is_a_clear_404(client):
    response = client.get("/auth/oidc/nowhere/login")
    assert response.status_code == 404 and 'data-code="unknown_provider"' in response.text
    assert "This sign-in service is not configured here." in response.text
    response = client.get("/auth/oidc/nowhere/login", headers={"Accept-Language": "fr"})
    assert "Ce service de connexion n&#39;est pas configuré ici." in response.text


def test_api_lists_and_unlinks_only_the_callers_identities(client, app, make_user):
    from app.services import tokens

    ines = make_user("ines.sso@example.org")
    _callback(client, sign_in_over_http(_start(client), "ines"))
    identity = db.session.scalars(select(ExternalIdentity)).one()
    other = make_user("someone@example.org")
    _t, raw_ines = tokens.create_token(db.session, ines, "test")
    _t, raw_other = tokens.create_token(db.session, other, "test")
    db.session.commit()
    api = app.test_client()
    assert api.get("/api/v1/sign-in-services").status_code == 401
    listed = api.get("/api/v1/sign-in-services", headers={"Authorization": f"Bearer {raw_ines}"}).json
    assert [(row["provider"], row["label"], row["email"]) for row in listed["linked"]] \
        == [("test", "Test ENT", "ines.sso@example.org")]
    assert listed["available"] == [{"name": "test", "label": "Test ENT"}]
    # Someone else's identity, or a malformed id: 404 with a JSON error, nothing removed.
    response = api.delete(f"/api/v1/sign-in-services/{identity.id}",
                          headers={"Authorization": f"Bearer {raw_other}"})
    assert response.status_code == 404 and response.json["error"] == "not_found"
    response = api.delete("/api/v1/sign-in-services/not-a-uuid", headers={"Authorization": f"Bearer {raw_ines}"})
    assert response.status_code == 404 and response.json["error"] == "not_found"
    assert _counts()[1] == 1
    response = api.delete(f"/api/v1/sign-in-services/{identity.id}",
                          headers={"Authorization": f"Bearer {raw_ines}"})
    assert response.status_code == 204
    assert _counts()[1] == 0


def test_a_wrong_instance_file_stops_the_start(app_settings):
    from pathlib import Path

    from app import create_app
    from tests.conftest import release_database

    settings = dict(app_settings, OIDC_PROVIDERS=None)
    (Path(settings["INSTANCE_PATH"]) / "oidc_providers.json").write_text('[{"name": "x"}]')
    with pytest.raises(ValueError, match="issuer"):
        create_app(settings)
    (Path(settings["INSTANCE_PATH"]) / "oidc_providers.json").write_text(
        '[{"name": "ent", "issuer": "https://ent.example", "client_id": "c"}]')
    app = create_app(settings)
    with app.app_context():
        try:
            assert "/auth/oidc/ent/login" in app.test_client().get("/login").text
        finally:
            release_database()


# --- suspension, audit log, notice mail ------------------------------------------------------------

REFUSED = "The e-mail address or the password is not right."
SUSPENDED = 'data-login-refusal="suspended"'


def _actions(user):
    db.session.rollback()
    return [(event.action, event.target_type, event.details)
            for event in reversed(audit.events(db.session, actor_id=user.id))]


def _mails(app, to):
    return [mail for mail in outbox(app) if mail["To"] == to]


def test_a_suspended_account_is_told_as_after_the_right_password(app, client, make_user, platform_admin):
    ines = make_user("ines.sso@example.org")
    admin.suspend(db.session, platform_admin, ines, "Spam reported by three schools.")
    db.session.commit()
    password_answer = login(client, ines.email)
    assert password_answer.status_code == 403 and SUSPENDED in password_answer.text
    # Not linked yet: the verified e-mail would link it; the provider proved who it is, as the password
    # would: the same page, nothing linked, not signed in, the admin's reason never shown.
    response = _callback(client, sign_in_over_http(_start(client), "ines"))
    assert response.status_code == 403 and SUSPENDED in response.text and REFUSED not in response.text
    assert "Spam reported" not in response.text
    assert _counts() == (2, 0)
    assert client.get("/settings").status_code == 302  # not signed in
    assert _mails(app, ines.email) == []

    # Linked while active, then suspended: the known identity is refused too, and stays linked.
    admin.reinstate(db.session, platform_admin, ines)
    db.session.commit()
    assert _callback(client, sign_in_over_http(_start(client), "ines")).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/settings"))})
    admin.suspend(db.session, platform_admin, db.session.get(User, ines.id), "Again.")
    db.session.commit()
    response = _callback(client, sign_in_over_http(_start(client), "ines"))
    assert response.status_code == 403 and SUSPENDED in response.text
    assert client.get("/settings").status_code == 302
    assert _counts() == (2, 1)


def test_linking_by_verified_email_is_audited_and_mailed_to_the_owner(app, client, make_user):
    ines = make_user("ines.sso@example.org")
    assert _callback(client, sign_in_over_http(_start(client), "ines")).status_code == 302
    identity = db.session.scalars(select(ExternalIdentity)).one()
    assert _actions(ines) == [("sso.identity_link", "external_identity",
                               {"provider": "test", "by": "verified_email"})]
    assert audit.events(db.session, action="sso.identity_link")[0].target_id == str(identity.id)
    [notice] = _mails(app, ines.email)
    body = notice.get_body(("plain",)).get_content()
    assert notice["Subject"] == "A sign-in service was linked to your account"
    assert "Your Test ENT account (ines.sso@example.org) has been linked" in body
    assert "http://localhost/settings/sign-in-services" in body and "http://localhost/reset-password" in body
    # Signing in again with the linked identity is no new link: no event, no mail.
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/settings"))})
    assert _callback(client, sign_in_over_http(_start(client), "ines")).status_code == 302
    assert len(_actions(ines)) == 1 and len(_mails(app, ines.email)) == 1


def test_an_account_created_by_sso_is_audited_and_gets_no_link_notice(app, client):
    assert _callback(client, sign_in_over_http(_start(client), "newcomer")).status_code == 302
    newcomer = db.session.scalars(select(User).where(User.email == "newcomer.sso@example.org")).one()
    assert _actions(newcomer) == [("sso.account_create", "user", {"provider": "test"}),
                                  ("sso.identity_link", "external_identity",
                                   {"provider": "test", "by": "verified_email"})]
    assert _mails(app, newcomer.email) == []  # they just made it themselves: nothing to warn about


def test_linking_and_unlinking_from_the_settings_and_the_api_are_audited(app, client, user):
    from app.services import tokens

    login(client, user.email)
    page = client.get("/settings/sign-in-services")
    response = client.post("/settings/sign-in-services/test/link", data={"csrf_token": csrf_token(page)})
    assert _callback(client, sign_in_over_http(_continue_url(response), "unverified")).status_code == 302
    identity = db.session.scalars(select(ExternalIdentity)).one()
    page = client.get("/settings/sign-in-services")
    client.post(f"/settings/sign-in-services/{identity.id}/unlink", data={"csrf_token": csrf_token(page)})
    assert _actions(user) == [("sso.identity_link", "external_identity", {"provider": "test", "by": "settings"}),
                              ("sso.identity_unlink", "external_identity", {"provider": "test"})]
    assert _mails(app, user.email) == []  # they clicked "link" themselves
    # Again, unlinked through the API this time.
    page = client.get("/settings/sign-in-services")
    response = client.post("/settings/sign-in-services/test/link", data={"csrf_token": csrf_token(page)})
    _callback(client, sign_in_over_http(_continue_url(response), "unverified"))
    identity = db.session.scalars(select(ExternalIdentity)).one()
    _t, raw = tokens.create_token(db.session, user, "test")
    db.session.commit()
    assert app.test_client().delete(f"/api/v1/sign-in-services/{identity.id}",
                                    headers={"Authorization": f"Bearer {raw}"}).status_code == 204
    assert [action for action, _type, _details in _actions(user)][-1] == "sso.identity_unlink"
    assert len(_actions(user)) == 4


@pytest.mark.parametrize("case", ["unverified", "platform_admin", "head", "recycled"])
def test_linking_by_email_is_refused_where_it_could_take_an_account_over(client, make_user, case):
    """Review 14, M3: an account whose own address is unverified (a pre-hijack), a powerful account, or one
    that already has another identity at this provider (a recycled address) is never linked by e-mail."""
    if case == "head":  # the head of a school, whose account has the provider's address
        from tests.test_institutions import school
        _org, ines = school(make_user, head_email="ines.sso@example.org")
    else:
        ines = make_user("ines.sso@example.org", verified=case != "unverified")
    if case == "platform_admin":
        ines.is_admin = True
    elif case == "recycled":
        db.session.add(ExternalIdentity(user_id=ines.id, provider="test", subject="former-student"))
    db.session.commit()
    before = _counts()
    response = _callback(client, sign_in_over_http(_start(client), "ines"))
    assert response.status_code == 403 and 'data-code="link_from_settings"' in response.text
    assert "link Test ENT from your settings" in response.text
    assert _counts() == before and client.get("/settings").status_code == 302
