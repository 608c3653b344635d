"""``/api/v1/account``: read, preferences, password, e-mail change and deletion, and every refusal."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from app import create_app
from app.database import utcnow
from app.extensions import db
from app.models import ApiToken, Experience, OneTimeToken, Portfolio, User
from app.services import accounts
from tests.conftest import PASSWORD, FreshClient, login
from tests.helpers import csrf_token
from tests.test_api import EXPERIENCE, api_for
from tests.test_auth import ServerClient, count_verifications, english, link_in, outbox, user_by_email

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def client(app):
    """Closes each response before handing it over, as a server does: mails go out on that close."""
    return ServerClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def api(client, user):
    return api_for(client, user)


@pytest.fixture
def other(make_user):
    return make_user("other@example.org")


@pytest.fixture
def other_api(client, other):
    return api_for(client, other)


def fresh(person) -> User | None:
    """The person as stored now (not as this session last saw them), or None once deleted."""
    person_id = inspect(person).identity[0]  # read without loading: the row may be gone
    db.session.expire_all()
    return db.session.get(User, person_id)


# --- read and preferences --------------------------------------------------------------------------

def test_read_the_account(api, user):
    body = api.get("/account").get_json()
    assert set(body) == {"email", "email_verified", "locale", "timezone", "created_at"}
    assert body["email"] == "owner@example.org" and body["email_verified"] is True
    assert body["locale"] is None and body["timezone"] is None
    assert body["created_at"].endswith("Z")


def test_change_language_and_time_zone(api, user):
    response = api.patch("/account", json={"locale": "en", "timezone": "Europe/Berlin"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["locale"] == "en" and response.get_json()["timezone"] == "Europe/Berlin"
    assert (fresh(user).locale, fresh(user).timezone) == ("en", "Europe/Berlin")
    # Only the fields sent change; "" and null go back to the default.
    assert api.patch("/account", json={"timezone": None}).get_json()["locale"] == "en"
    assert fresh(user).timezone is None
    assert api.patch("/account", json={"locale": ""}).get_json()["locale"] is None
    assert api.patch("/account", json={}).status_code == 200


def test_the_chosen_language_is_the_apis_language(api):
    english_message = "Some information is not valid."
    api.patch("/account", json={"locale": "en"})
    assert api.patch("/account", json={"locale": "de"}).get_json()["message"] == english_message
    api.patch("/account", json={"locale": "fr"})
    assert api.patch("/account", json={"locale": "de"}).get_json()["message"] != english_message


@pytest.mark.parametrize("body, field", [
    ({"locale": "de"}, "locale"),
    ({"locale": 5}, "locale"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "localtime"}, "timezone"),  # the server's own zone, whatever that is: not a choice
    ({"timezone": "Factory"}, "timezone"),
    ({"timezone": "posixrules"}, "timezone"),
    ({"timezone": "EST5EDT"}, "timezone"),
    ({"timezone": "Etc/GMT+5"}, "timezone"),
    ({"timezone": "x" * 65}, "timezone"),
    ({"timezone": ["Europe/Paris"]}, "timezone"),
    ({"locale": "en", "email": "me@example.org"}, "email"),
    ({"locale": "en\u0000"}, "locale"),
])
def test_preferences_refusals_change_nothing(api, user, body, field):
    api.patch("/account", json={"locale": "fr", "timezone": "Europe/Paris"})
    response = api.patch("/account", json=body)
    assert response.status_code == 422 and response.get_json()["error"] == "validation_error"
    assert field in response.get_json()["fields"]
    assert (fresh(user).locale, fresh(user).timezone, fresh(user).email) == ("fr", "Europe/Paris", user.email)


# --- password --------------------------------------------------------------------------------------

def test_change_password_ends_browser_sessions_but_not_tokens(app, api, user):
    browser = english(app)
    assert login(browser, user.email).status_code == 302
    assert browser.get("/settings").status_code == 200
    version = fresh(user).session_version

    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = api.post("/account/password", json=body)
    assert response.status_code == 204 and response.data == b""

    assert fresh(user).session_version == version + 1
    assert browser.get("/settings").status_code == 302  # that session has ended, as with the page
    assert api.get("/account").status_code == 200  # the token keeps working (documented choice)
    assert accounts.verify_password(fresh(user), NEW_PASSWORD)
    assert login(english(app), user.email, PASSWORD).status_code == 422
    assert login(english(app), user.email, NEW_PASSWORD).status_code == 302
    assert [m["To"] for m in outbox(app)] == [user.email]  # the owner is told, as with the page


def test_change_password_can_revoke_every_token(app, api, client, user, other):
    from app.services import tokens

    _, second = tokens.create_token(db.session, user, "phone")
    _, others = tokens.create_token(db.session, other, "theirs")
    db.session.commit()
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "revoke_tokens": True}
    assert api.post("/account/password", json=body).status_code == 204
    assert client.get("/api/v1/account").status_code == 401
    for raw, status in ((second, 401), (others, 200)):
        assert client.get("/api/v1/account", headers={"Authorization": f"Bearer {raw}"}).status_code == status
    assert api.get("/account").status_code == 401  # the token that asked, too
    assert accounts.verify_password(fresh(user), NEW_PASSWORD)


@pytest.mark.parametrize("value", [False, None])
def test_change_password_keeps_the_tokens_by_default(api, user, value):
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "revoke_tokens": value}
    assert api.post("/account/password", json=body).status_code == 204
    assert api.get("/account").status_code == 200


def test_a_wrong_current_password_is_403_and_counts_towards_the_backoff(app, api, user):
    wrong = {"current_password": "not my password!", "new_password": NEW_PASSWORD}
    response = api.post("/account/password", json=wrong)
    assert response.status_code == 403 and response.get_json()["error"] == "invalid_credentials"
    assert fresh(user).failed_logins == 1
    for _ in range(accounts.LOCK_AFTER - 1):
        assert api.post("/account/password", json=wrong).status_code == 403
    assert fresh(user).locked_until > utcnow()
    # Locked: even the right password is refused, here and on the sign-in page.
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert api.post("/account/password", json=right).status_code == 403
    assert login(english(app), user.email).status_code == 422
    assert accounts.verify_password(fresh(user), PASSWORD) and outbox(app) == []

    locked = fresh(user)
    locked.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert api.post("/account/password", json=right).status_code == 204
    assert fresh(user).failed_logins == 0


# Each route that checks the current password: method, path, body for a password, success status.
PASSWORD_ROUTES = [
    ("post", "/account/password",
     lambda password: {"current_password": password, "new_password": NEW_PASSWORD}, 204),
    ("post", "/account/email",
     lambda password: {"new_email": "moved@example.org", "password": password}, 202),
    ("delete", "/account", lambda password: {"password": password}, 204),
]


@pytest.mark.parametrize("method, path, body, status", PASSWORD_ROUTES)
def test_each_password_route_verifies_the_password_once(api, user, monkeypatch, method, path, body, status):
    """One Argon2 check per request, with the backoff: no separate sign-in check before the service's."""
    calls = count_verifications(monkeypatch)
    wrong = getattr(api, method)(path, json=body("not my password!"))
    assert wrong.status_code == 403 and wrong.get_json()["error"] == "invalid_credentials"
    assert len(calls) == 1 and fresh(user).failed_logins == 1
    assert getattr(api, method)(path, json=body(PASSWORD)).status_code == status
    assert len(calls) == 2
    assert fresh(user) is None or fresh(user).failed_logins == 0


@pytest.mark.parametrize("method, path, body, status", PASSWORD_ROUTES)
def test_a_locked_account_is_refused_in_the_time_of_a_check(app, api, user, monkeypatch, method, path, body,
                                                            status):
    """Refused, not counted, but the password still goes through Argon2: a refusal without a hash
    would answer at once, and tell apart a locked account from a wrong guess."""
    locked = fresh(user)
    locked.failed_logins, locked.locked_until = accounts.LOCK_AFTER, utcnow() + timedelta(minutes=1)
    db.session.commit()
    calls = count_verifications(monkeypatch)
    refused = getattr(api, method)(path, json=body(PASSWORD))
    assert refused.status_code == 403 and refused.get_json()["error"] == "invalid_credentials"
    assert len(calls) == 1 and fresh(user).failed_logins == accounts.LOCK_AFTER
    assert fresh(user).email == "owner@example.org" and outbox(app) == []


@pytest.mark.parametrize("body, field", [
    ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
    ({"current_password": PASSWORD, "new_password": "password1234"}, "new_password"),
    ({"current_password": PASSWORD, "new_password": "owner@example.org"}, "new_password"),
    ({"current_password": PASSWORD}, "new_password"),
    ({"new_password": NEW_PASSWORD}, "current_password"),
    ({"current_password": 12, "new_password": NEW_PASSWORD}, "current_password"),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "confirm"),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "revoke_tokens": "yes"}, "revoke_tokens"),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "revoke_tokens": 1}, "revoke_tokens"),
])
def test_change_password_refusals(app, api, user, body, field):
    version = fresh(user).session_version
    response = api.post("/account/password", json=body)
    assert response.status_code == 422 and field in response.get_json()["fields"]
    assert accounts.verify_password(fresh(user), PASSWORD)
    assert fresh(user).session_version == version and outbox(app) == []


def test_passwords_are_taken_exactly_as_sent(api, user):
    """Passwords are never stripped: the spaces around one are part of it."""
    body = {"current_password": f" {PASSWORD} ", "new_password": NEW_PASSWORD}
    assert api.post("/account/password", json=body).status_code == 403
    body = {"current_password": PASSWORD, "new_password": f"  {NEW_PASSWORD}  "}
    assert api.post("/account/password", json=body).status_code == 204
    assert accounts.verify_password(fresh(user), f"  {NEW_PASSWORD}  ")


def test_sign_out_every_browser_session(app, api, user):
    browser = english(app)
    assert login(browser, user.email).status_code == 302
    response = api.delete("/account/sessions")
    assert response.status_code == 204 and response.data == b""
    assert browser.get("/settings").status_code == 302
    assert api.get("/account").status_code == 200  # tokens are not sessions
    assert login(english(app), user.email).status_code == 302  # and signing in again works


# --- e-mail ----------------------------------------------------------------------------------------

def test_email_change_sends_the_pages_link_to_the_new_address(app, api, user):
    response = api.post("/account/email", json={"new_email": "Moved@Example.org", "password": PASSWORD})
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"new_email": "moved@example.org"}
    assert api.get("/account").get_json()["email"] == "owner@example.org"  # not before the link is followed
    mails = outbox(app)
    assert [m["To"] for m in mails] == ["moved@example.org"]
    path = link_in(mails[0], "/settings/email/confirm/")

    browser = english(app)  # the page's own confirmation link
    page = browser.get(path)
    assert browser.post(path, data={"csrf_token": csrf_token(page)}).status_code == 302
    assert api.get("/account").get_json()["email"] == "moved@example.org"
    assert user_by_email("moved@example.org").id == user.id


@pytest.mark.parametrize("body, status, key", [
    ({"new_email": "moved@example.org", "password": "not my password!"}, 403, "invalid_credentials"),
    ({"new_email": "not an address", "password": PASSWORD}, 422, "new_email"),
    ({"new_email": "Owner@example.org", "password": PASSWORD}, 422, "new_email"),
    ({"new_email": "moved@example.org"}, 422, "password"),
    ({"new_email": ["moved@example.org"], "password": PASSWORD}, 422, "new_email"),
    ({"new_email": "moved@example.org", "password": PASSWORD, "confirm": True}, 422, "confirm"),
])
def test_email_change_refusals(app, api, user, body, status, key):
    response = api.post("/account/email", json=body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()
    assert error["error"] == key if status == 403 else key in error["fields"]
    assert outbox(app) == []
    assert db.session.scalar(select(func.count()).select_from(OneTimeToken)) == 0
    assert fresh(user).email == "owner@example.org"


def test_email_change_needs_a_verified_address(app, api, user):
    person = fresh(user)
    person.email_verified_at = None
    db.session.commit()
    response = api.post("/account/email", json={"new_email": "moved@example.org", "password": PASSWORD})
    assert response.status_code == 403 and response.get_json()["error"] == "email_unverified"
    assert outbox(app) == []


# --- deletion --------------------------------------------------------------------------------------

def test_delete_the_account(app, api, other_api, user, other):
    user_id = user.id
    api.post("/experiences", json=EXPERIENCE)
    wrong = api.delete("/account", json={"password": "not my password!"})
    assert wrong.status_code == 403 and wrong.get_json()["error"] == "invalid_credentials"
    assert fresh(user) is not None and fresh(user).failed_logins == 1
    assert api.delete("/account").status_code == 415  # the password is required, in a JSON body
    assert set(api.delete("/account", json={}).get_json()["fields"]) == {"password"}

    response = api.delete("/account", json={"password": PASSWORD})
    assert response.status_code == 204 and response.data == b""
    assert fresh(user) is None
    assert db.session.scalar(select(func.count()).select_from(Experience)) == 0
    tokens_left = select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)
    assert db.session.scalar(tokens_left) == 0
    # The deleted account's token no longer works; the other person's does.
    gone = api.get("/account")
    assert gone.status_code == 401 and 'error="invalid_token"' in gone.headers["WWW-Authenticate"]
    assert other_api.get("/account").get_json()["email"] == "other@example.org"
    assert db.session.scalar(select(func.count()).select_from(Portfolio)) == 1


# --- isolation and authentication -----------------------------------------------------------------

def test_another_token_acts_on_its_own_account_only(api, other_api, user, other):
    """There is no account id to aim at: a token reaches its owner's account, and only with that
    owner's password; someone else's password is just a wrong one."""
    assert other_api.get("/account").get_json()["email"] == "other@example.org"
    assert other_api.patch("/account", json={"locale": "en"}).status_code == 200
    assert fresh(user).locale is None and fresh(other).locale == "en"
    user_row = fresh(user)  # the owner's password differs from the other person's
    user_row.password_hash = accounts.hash_password("the owner's own secret")
    db.session.commit()
    for response in (
        other_api.delete("/account", json={"password": "the owner's own secret"}),
        other_api.post("/account/password", json={"current_password": "the owner's own secret",
                                                  "new_password": NEW_PASSWORD}),
        other_api.post("/account/email", json={"new_email": "x@example.org",
                                               "password": "the owner's own secret"}),
    ):
        assert response.status_code == 403 and response.get_json()["error"] == "invalid_credentials"
    assert fresh(user) is not None and fresh(other) is not None
    assert fresh(user).failed_logins == 0 and fresh(other).failed_logins == 3
    assert accounts.verify_password(fresh(other), PASSWORD)
    assert api.get("/account").status_code == 200


@pytest.mark.parametrize("method, path", [
    ("get", "/account"), ("patch", "/account"), ("delete", "/account"),
    ("post", "/account/password"), ("post", "/account/email"), ("delete", "/account/sessions"),
])
def test_every_account_route_needs_a_token(client, user, method, path):
    for headers in ({}, {"Authorization": "Bearer sil_nope"}):
        response = getattr(client, method)(f"/api/v1{path}", json={"password": PASSWORD}, headers=headers)
        assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert fresh(user) is not None and fresh(user).failed_logins == 0


def test_a_signed_in_browser_cannot_use_the_account_api(logged_in, user):
    response = logged_in.delete("/api/v1/account", json={"password": PASSWORD})
    assert response.status_code == 401
    assert fresh(user) is not None


# --- the sign-in budget per IP ----------------------------------------------------------------------

def test_password_checks_spend_the_sign_in_pages_budget(app_settings, user):
    """Sign-in page, token creation and the account's password checks: one per-IP budget."""
    app = create_app({**app_settings, "RATE_LIMIT_LOGIN": "2/minute"})
    app.test_client_class = FreshClient
    client = app.test_client()
    with app.app_context():
        api = api_for(client, db.session.get(User, user.id))
        assert login(client, user.email, "wrong password!").status_code == 422
        body = {"current_password": "wrong password!", "new_password": NEW_PASSWORD}
        assert api.post("/account/password", json=body).status_code == 403
        for response in (api.post("/account/password", json=body),
                         api.post("/account/email", json={"new_email": "x@ex.org", "password": PASSWORD}),
                         api.delete("/account", json={"password": PASSWORD}),
                         client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})):
            assert response.status_code == 429 and response.get_json()["error"] == "rate_limited"
        assert api.get("/account").status_code == 200  # calls that check no password are not limited
        assert api.patch("/account", json={"locale": "en"}).status_code == 200
        assert db.session.get(User, user.id) is not None
