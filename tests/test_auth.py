"""Register, verify, sign in and out, backoff, reset: the happy paths and every refusal."""
from __future__ import annotations

import importlib
import logging
import re
import socket
import time
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.auth.utils import safe_next
from app.database import utcnow
from app.extensions import db
from app.models import OneTimeToken, Portfolio, User
from app.mail import send_after_response
from app.services import accounts, one_time_tokens, tokens
from app.services.errors import Conflict, ServiceError, ValidationFailed
from tests.conftest import PASSWORD, FreshClient, login
from tests.helpers import csrf_token

COOKIE = "sillage_session"
NEW_PASSWORD = "a brand new passphrase"


# --- helpers ---------------------------------------------------------------------------------------

class ServerClient(FreshClient):
    """A client that behaves like a WSGI server, each request in its own application context.

    A server reads the response's body and then closes it; mails go out on that close
    (``app.mail.send_after_response``), so this client does the same before ``open`` returns, and the
    outbox is complete when a test looks at it. ``buffered=False`` shows the moment in between.
    """

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


def english(app) -> FlaskClient:
    """A client that asks for pages in English, so that assertions quote the source strings."""
    client = ServerClient(app, app.response_class, use_cookies=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def client(app):
    return english(app)


@pytest.fixture
def request_ctx(app):
    """For calling services directly: their messages are translated, which needs a request's locale."""
    with app.test_request_context():
        yield


def outbox(app) -> list:
    """The mails written to <instance>/outbox, oldest first, parsed."""
    folder = Path(app.instance_path) / "outbox"
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [BytesParser(policy=policy.default).parsebytes(f.read_bytes()) for f in files]


def link_in(message, path_prefix: str) -> str:
    """The path of the first link in a mail that starts with BASE_URL + ``path_prefix``."""
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"http://localhost(" + re.escape(path_prefix) + r"\S+)", body)
    assert match, body
    return match.group(1)


def post_form(client, url: str, data: dict, page_url: str | None = None, **kwargs):
    """POST ``data`` with the CSRF token of the page at ``page_url`` (default: ``url``)."""
    token = csrf_token(client.get(page_url or url))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def register(client, email="new@example.org", password=NEW_PASSWORD, **extra):
    return post_form(client, "/register", {"email": email, "password": password, "password_confirm": password,
                                           "display_name": "New Person", **extra})


def is_signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def user_by_email(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.email == email)).first()


def count_verifications(monkeypatch) -> list:
    """Count the calls to ``accounts.verify_password`` (the real one still runs: nothing is mocked).

    Returns a list that grows by one per call, so ``len(calls)`` is the number of Argon2 checks.
    """
    calls = []
    real = accounts.verify_password

    def counting(stored, password):
        calls.append(password)
        return real(stored, password)

    monkeypatch.setattr(accounts, "verify_password", counting)
    return calls


def count_argon2(monkeypatch) -> list:
    """Count the Argon2 verifications themselves (``PasswordHasher.verify``; the real one still runs)."""
    calls = []
    real = PasswordHasher.verify

    def counting(self, hash, password):
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


@pytest.fixture
def english_ctx(app):
    """Like ``request_ctx``, in English, for tests that quote a service's message."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


# --- register and verify ---------------------------------------------------------------------------

def test_register_mails_a_link_that_verifies_once(app, client):
    response = register(client, email="New@Example.org")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/register/check-inbox")
    user = user_by_email("new@example.org")
    assert user is not None and not user.is_verified
    assert user.portfolio.display_name == "New Person"
    assert user.password_hash.startswith("$argon2id$")

    mails = outbox(app)
    assert len(mails) == 1 and mails[0]["To"] == "new@example.org"
    path = link_in(mails[0], "/verify-email/")

    page = client.get(path)  # GET only shows a button: a mail scanner's prefetch does not spend the link
    assert page.status_code == 200
    assert not user_by_email("new@example.org").is_verified
    response = client.post(path, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert user_by_email("new@example.org").is_verified

    again = client.post(path, data={"csrf_token": csrf_token(page)})
    assert again.status_code == 400
    assert b"not valid or has expired" in again.data
    assert client.get(path).status_code == 400


def test_register_with_a_taken_address_looks_the_same_and_warns_its_owner(app, client, user):
    first = register(client, email="someone@example.org")
    taken = register(client, email="OWNER@example.org", password="another fine passphrase")
    assert taken.status_code == first.status_code == 302
    assert taken.headers["Location"] == first.headers["Location"]
    owners = select(func.count()).select_from(User).where(User.email == "owner@example.org")
    assert db.session.scalar(owners) == 1
    owner = user_by_email("owner@example.org")
    assert accounts.verify_password(owner, PASSWORD)  # the existing account is untouched
    warning = [m for m in outbox(app) if m["To"] == "owner@example.org"]
    assert len(warning) == 1  # in the owner's language (French by default), pointing to sign-in and reset
    assert "http://localhost/reset-password" in warning[0].get_body(("plain",)).get_content()


@pytest.mark.parametrize("password, message", [
    ("short pass", b"at least 12 characters"),
    ("PASSWORD1234", b"too common"),
    ("azertyuiop12", b"too common"),
    ("new@example.org", b"must not be your e-mail"),
])
def test_register_refuses_weak_passwords(app, client, password, message):
    response = register(client, password=password)
    assert response.status_code == 422
    assert message in response.data
    assert b'aria-invalid="true"' in response.data
    assert user_by_email("new@example.org") is None
    assert outbox(app) == []


def test_register_refuses_mismatched_confirmation_and_bad_address(client):
    response = post_form(client, "/register", {"email": "not an address", "password": NEW_PASSWORD,
                                               "password_confirm": NEW_PASSWORD})
    assert response.status_code == 422 and b"valid e-mail address" in response.data
    response = post_form(client, "/register", {"email": "x@example.org", "password": NEW_PASSWORD,
                                               "password_confirm": NEW_PASSWORD + "!"})
    assert response.status_code == 422 and b"two passwords are different" in response.data
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_create_user_service_rules(app, request_ctx):
    user = accounts.create_user(db.session, email=" Mixed.Case@Example.ORG ", password=NEW_PASSWORD)
    assert user.email == "mixed.case@example.org"
    assert db.session.scalars(select(Portfolio).where(Portfolio.owner_id == user.id)).one()
    with pytest.raises(Conflict) as exc:
        accounts.create_user(db.session, email="mixed.case@example.org", password=NEW_PASSWORD)
    assert exc.value.code == "email_taken"
    with pytest.raises(ValidationFailed) as exc:
        accounts.create_user(db.session, email="b@example.org", password="x" * 257)
    assert "password" in exc.value.fields


@pytest.mark.parametrize("name, message", [
    ("Bob\x01", "Contains characters that are not allowed."),
    ("x" * 121, "At most 120 characters."),
])
def test_create_user_checks_the_display_name_with_the_profiles_rule(app, english_ctx, name, message):
    with pytest.raises(ValidationFailed) as exc:
        accounts.create_user(db.session, email="bob@example.org", password=NEW_PASSWORD, display_name=name)
    assert exc.value.fields == {"display_name": message}
    assert user_by_email("bob@example.org") is None
    person = accounts.create_user(db.session, email="bob@example.org", password=NEW_PASSWORD,
                                  display_name="  Bob  ")
    assert person.portfolio.display_name == "Bob"


def test_register_page_shows_the_display_name_rule(client):
    response = register(client, display_name="Bob\x01")
    assert response.status_code == 422
    assert b"Contains characters that are not allowed." in response.data
    assert user_by_email("new@example.org") is None


def test_registering_a_taken_address_mails_its_owner_at_most_every_two_minutes(app, client, user):
    """Otherwise anyone could flood an inbox through the register page. The interval is the reset
    page's: the mail carries a reset link, and one interval covers every mail a stranger can cause."""
    for _ in range(2):
        assert register(client, email=user.email, password="another fine passphrase").status_code == 302
    assert [m["To"] for m in outbox(app)] == [user.email]
    assert post_form(client, "/reset-password", {"email": user.email}).status_code == 302
    assert len(outbox(app)) == 1

    owner = user_by_email(user.email)
    owner.last_reset_sent_at = utcnow() - timedelta(minutes=3)
    db.session.commit()
    register(client, email=user.email, password="another fine passphrase")
    assert [m["To"] for m in outbox(app)] == [user.email] * 2

    path = link_in(outbox(app)[-1], "/reset-password/")  # the owner who forgot can reset at once
    page = client.get(path)
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
                                       "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert login(client, user.email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("lifetime, stated", [
    (None, "3 days"),  # the default of the token is the default of the mail
    (timedelta(hours=72), "3 days"),
    (timedelta(hours=5), "5 hours"),
])
def test_the_verification_mail_states_the_links_real_lifetime(app_settings, request, lifetime, stated):
    app_settings["TOKEN_TTL_VERIFY"] = lifetime
    app = request.getfixturevalue("app")
    register(english(app))
    body = outbox(app)[0].get_body(("plain",)).get_content()
    assert f"expires in {stated}." in body
    token = db.session.scalars(select(OneTimeToken)).one()
    assert token.expires_at - token.created_at == (lifetime or timedelta(days=3))


# --- sign in, sign out -----------------------------------------------------------------------------

def test_wrong_password_and_unknown_address_answer_the_same(client, user):
    wrong = login(client, user.email, "not the right password")
    unknown = login(client, "nobody@example.org", PASSWORD)
    assert wrong.status_code == unknown.status_code == 422
    message = b"The e-mail address or the password is not right."
    assert message in wrong.data and message in unknown.data
    strip = lambda r: re.sub(rb'value="[^"]*"', b"", r.data)  # noqa: E731 - typed e-mail and token differ
    assert strip(wrong) == strip(unknown)
    assert not is_signed_in(client)


@pytest.fixture
def locked_user(make_user):
    person = make_user("locked@example.org")
    person.failed_logins, person.locked_until = accounts.LOCK_AFTER, utcnow() + timedelta(minutes=5)
    db.session.commit()
    return person


@pytest.mark.parametrize("door", ["sign-in page", "POST /api/v1/tokens"])
def test_unknown_wrong_and_locked_each_cost_one_argon2_check(app, client, user, locked_user, monkeypatch,
                                                             door):
    """A refusal that skips the hash answers in milliseconds instead of the usual tens: if a locked
    account did, five wrong guesses and then one timed attempt would tell that the address exists."""
    calls = count_argon2(monkeypatch)
    answers = []
    for email, password in (("nobody@example.org", PASSWORD), (user.email, "not the right password"),
                            (locked_user.email, PASSWORD)):
        before = len(calls)
        if door == "sign-in page":
            response = login(client, email, password)
            assert response.status_code == 422
            answers.append(re.sub(rb'value="[^"]*"', b"", response.data))
        else:
            response = client.post("/api/v1/tokens", json={"email": email, "password": password})
            assert response.status_code == 401
            answers.append(response.get_json())
        assert len(calls) == before + 1, email
    assert answers[0] == answers[1] == answers[2]
    assert user_by_email(locked_user.email).failed_logins == accounts.LOCK_AFTER  # not counted
    assert user_by_email(locked_user.email).last_login_at is None


def test_authenticate_costs_one_argon2_check_whatever_the_failure(app, user, locked_user, english_ctx,
                                                                  monkeypatch):
    calls = count_argon2(monkeypatch)
    assert accounts.authenticate(db.session, "nobody@example.org", PASSWORD) is None
    assert accounts.authenticate(db.session, user.email, "not the right password") is None
    assert accounts.authenticate(db.session, locked_user.email, PASSWORD) is None
    assert len(calls) == 3
    assert calls[2] == locked_user.password_hash  # the account's own hash: the same cost as a wrong guess


def test_backoff_locks_the_account_then_unlocks(app, client, user):
    for _ in range(accounts.LOCK_AFTER):
        assert login(client, user.email, "not the right password").status_code == 422
    locked = user_by_email(user.email)
    assert locked.failed_logins == accounts.LOCK_AFTER
    assert locked.locked_until > utcnow()

    refused = login(client, user.email, PASSWORD)  # right password, but locked: same generic answer
    assert refused.status_code == 422 and b"is not right" in refused.data
    assert not is_signed_in(client)
    assert user_by_email(user.email).failed_logins == accounts.LOCK_AFTER  # not counted

    locked = user_by_email(user.email)
    locked.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, user.email, PASSWORD).status_code == 302
    unlocked = user_by_email(user.email)
    assert unlocked.failed_logins == 0 and unlocked.locked_until is None and unlocked.last_login_at


def test_backoff_grows_and_is_capped(app, user, request_ctx):
    now = utcnow()
    delays = []
    for _ in range(14):
        assert accounts.authenticate(db.session, user.email, "wrong password!!", now=now) is None
        if user.locked_until:
            delays.append(user.locked_until - now)
            now = user.locked_until + timedelta(seconds=1)  # wait out the lock, fail again
    assert delays[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert max(delays) == timedelta(hours=1)
    assert accounts.authenticate(db.session, user.email, PASSWORD, now=now) is user


def test_confirm_password_applies_the_sign_in_backoff(app, user, request_ctx, monkeypatch):
    """Re-checking the current password (settings, API) counts and locks exactly as signing in does."""
    now = utcnow()
    for attempt in range(1, accounts.LOCK_AFTER + 1):
        with pytest.raises(ServiceError) as exc:
            accounts.confirm_password(db.session, user, "wrong password!!", now=now)
        assert (exc.value.code, exc.value.status) == ("invalid_credentials", 403)
        assert user_by_email(user.email).failed_logins == attempt
    wrong_message = exc.value.message
    locked = user_by_email(user.email)
    assert locked.locked_until == now + timedelta(minutes=1)

    calls = count_verifications(monkeypatch)
    with pytest.raises(ServiceError) as exc:  # the right password while locked: refused, not counted
        accounts.confirm_password(db.session, locked, PASSWORD, now=now)
    assert exc.value.code == "invalid_credentials" and exc.value.message == wrong_message
    assert len(calls) == 1  # checked all the same, so that the refusal takes as long as a wrong guess
    assert user_by_email(user.email).failed_logins == accounts.LOCK_AFTER
    assert accounts.authenticate(db.session, user.email, PASSWORD, now=now) is None  # one lock for both

    later = locked.locked_until + timedelta(seconds=1)
    accounts.confirm_password(db.session, user_by_email(user.email), PASSWORD, now=later)
    db.session.commit()
    confirmed = user_by_email(user.email)
    assert (confirmed.failed_logins, confirmed.locked_until) == (0, None)
    assert confirmed.last_login_at is None  # a confirmation is not a sign-in
    assert len(calls) == 3


@pytest.mark.parametrize("call", [
    lambda user: accounts.change_password(db.session, user, PASSWORD, NEW_PASSWORD),
    lambda user: accounts.request_email_change(db.session, user, PASSWORD, "moved@example.org"),
    lambda user: accounts.delete_account(db.session, user, PASSWORD),
])
def test_services_that_recheck_the_password_use_the_backoff_and_verify_once(app, user, request_ctx,
                                                                            monkeypatch, call):
    user.failed_logins = 2
    db.session.commit()
    calls = count_verifications(monkeypatch)
    call(user)
    assert len(calls) == 1
    db.session.commit()
    db.session.expire_all()
    remaining = db.session.get(User, user.id)
    assert remaining is None or remaining.failed_logins == 0

    person = accounts.create_user(db.session, email="locked@example.org", password=PASSWORD, verified=True)
    person.failed_logins, person.locked_until = accounts.LOCK_AFTER, utcnow() + timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        call(person)
    assert exc.value.code == "invalid_credentials"
    assert len(calls) == 2  # locked: refused, in the time of one check
    assert db.session.get(User, person.id).failed_logins == accounts.LOCK_AFTER  # and not counted


def test_login_rehashes_outdated_hashes(app, client, user):
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=2048).hash(PASSWORD)
    db.session.commit()
    assert login(client, user.email, PASSWORD).status_code == 302
    refreshed = user_by_email(user.email)
    assert "t=1" in refreshed.password_hash and "m=1024" in refreshed.password_hash
    assert accounts.verify_password(refreshed, PASSWORD)


def test_login_gives_a_new_session_id(client, user):
    client.get("/login")
    before = client.get_cookie(COOKIE).value
    assert login(client, user.email).status_code == 302
    after = client.get_cookie(COOKIE).value
    assert after != before
    assert is_signed_in(client)
    client.set_cookie(COOKIE, before)  # the pre-login id (e.g. planted by an attacker) is worth nothing
    assert not is_signed_in(client)


def test_logout_ends_the_session_for_real(logged_in):
    client = logged_in
    old = client.get_cookie(COOKIE).value
    response = post_form(client, "/logout", {}, page_url="/settings")
    assert response.status_code == 302
    assert not is_signed_in(client)
    client.set_cookie(COOKIE, old)  # replaying the old cookie does not bring the session back
    assert not is_signed_in(client)


def test_logout_is_post_only(logged_in):
    assert logged_in.get("/logout").status_code == 405
    assert is_signed_in(logged_in)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", "/\t/evil.example"])
def test_open_redirect_in_next_is_refused(client, user, target):
    page = client.get("/login", query_string={"next": target})
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert safe_next(target) is None


def test_next_on_this_site_is_followed(client, user):
    page = client.get("/login?next=/settings/preferences%3Fa%3D1")
    response = client.post("/login?next=/settings/preferences%3Fa%3D1",
                           data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert response.headers["Location"] == "/settings/preferences?a=1"


def test_unverified_account_signs_in_and_can_resend_the_link(app, client, make_user):
    person = make_user("unverified@example.org", verified=False)
    response = login(client, person.email)
    assert response.status_code == 302
    page = client.get("/settings")
    assert b"not confirmed yet" in page.data
    assert client.post("/verify-email/resend", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert client.post("/verify-email/resend", data={"csrf_token": csrf_token(page)}).status_code == 302
    mails = outbox(app)
    assert len(mails) == 1  # the second request within two minutes sends nothing
    path = link_in(mails[0], "/verify-email/")
    client.post(path, data={"csrf_token": csrf_token(client.get(path))})
    assert user_by_email(person.email).is_verified


def test_spent_confirmation_link_offers_a_new_confirmation_not_a_password_reset(app, client, make_user):
    person = make_user("spent@example.org", verified=False)
    path = "/verify-email/" + accounts.verification_token(db.session, person, force=True)
    db.session.commit()
    page = client.get(path)
    client.post(path, data={"csrf_token": csrf_token(page)})
    assert user_by_email(person.email).is_verified

    signed_out = client.get(path)  # the link again, signed out: it is spent
    assert signed_out.status_code == 400
    assert b"password reset" not in signed_out.data and b"/reset-password" not in signed_out.data
    assert b"Sign in to get a new confirmation link" in signed_out.data

    other = make_user("other@example.org", verified=False)
    stale = "/verify-email/" + accounts.verification_token(db.session, other, force=True)
    accounts.verification_token(db.session, other, force=True)  # a newer link replaces it
    db.session.commit()
    login(client, other.email)
    signed_in = client.get(stale)
    assert signed_in.status_code == 400 and b"password reset" not in signed_in.data
    # Signed in and still unconfirmed: a button that sends a fresh confirmation link.
    assert b'action="/verify-email/resend"' in signed_in.data
    assert b"Send a new confirmation link" in signed_in.data


def test_spent_password_reset_link_still_offers_a_new_reset(client):
    page = client.get("/reset-password/not-a-real-token")
    assert page.status_code == 400 and b"Get a new password reset link" in page.data


def test_unverified_account_sees_one_reminder_not_two(app, client, make_user):
    person = make_user("once@example.org", verified=False)
    response = login(client, person.email)
    page = client.get(response.headers["Location"], follow_redirects=True)
    assert page.data.count(b"confirm your e-mail address") == 1
    settings = client.get("/settings")
    assert settings.data.count(b"/verify-email/resend") == 1


def test_verification_link_for_an_old_address_does_not_verify_the_new_one(app, make_user, request_ctx):
    person = make_user("old@example.org", verified=False)
    raw = accounts.verification_token(db.session, person, force=True)
    person.email = "changed@example.org"
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        accounts.verify_email(db.session, raw)
    assert exc.value.code == "invalid_token"


# --- CSRF and rate limits --------------------------------------------------------------------------

def test_posts_without_csrf_token_are_refused(client, user):
    response = client.post("/register", data={"email": "x@example.org", "password": NEW_PASSWORD,
                                              "password_confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert user_by_email("x@example.org") is None
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert not is_signed_in(client)


@pytest.fixture
def strict_login_limit(app_settings):
    app_settings["RATE_LIMIT_LOGIN"] = "3/minute"
    return app_settings


def test_login_is_rate_limited_per_ip(strict_login_limit, client, user):
    for _ in range(3):
        assert login(client, user.email, "not the right password").status_code == 422
    limited = login(client, user.email, PASSWORD)
    assert limited.status_code == 429
    assert not is_signed_in(client)
    assert client.get("/login").status_code == 200  # GET is not limited
    other_ip = client.post("/login", environ_base={"REMOTE_ADDR": "192.0.2.9"},
                           data={"email": user.email, "password": PASSWORD,
                                 "csrf_token": csrf_token(client.get("/login"))})
    assert other_ip.status_code == 302


def test_reset_request_is_rate_limited_per_ip(strict_login_limit, client):
    for _ in range(3):
        assert post_form(client, "/reset-password", {"email": "a@example.org"}).status_code == 302
    assert post_form(client, "/reset-password", {"email": "a@example.org"}).status_code == 429


# --- password reset --------------------------------------------------------------------------------

def test_reset_answers_the_same_for_unknown_addresses(app, client, user):
    known = post_form(client, "/reset-password", {"email": user.email})
    unknown = post_form(client, "/reset-password", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert [m["To"] for m in outbox(app)] == [user.email]


def test_reset_link_sets_a_new_password_once(app, client, user, make_user):
    other = english(app)
    login(other, user.email)
    post_form(client, "/reset-password", {"email": user.email})
    path = link_in(outbox(app)[0], "/reset-password/")

    page = client.get(path)
    assert page.status_code == 200
    weak = client.post(path, data={"password": "too short", "password_confirm": "too short",
                                   "csrf_token": csrf_token(page)})
    assert weak.status_code == 422  # refused, and the link still works
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
                                       "csrf_token": csrf_token(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not is_signed_in(other)  # a reset ends every session
    assert login(client, user.email, PASSWORD).status_code == 422
    assert login(client, user.email, NEW_PASSWORD).status_code == 302

    fresh = english(app)
    assert fresh.get(path).status_code == 400
    other_password = "yet another passphrase"
    reused = fresh.post(path, data={"password": other_password, "password_confirm": other_password,
                                    "csrf_token": csrf_token(fresh.get("/login"))})
    assert reused.status_code == 400
    assert accounts.verify_password(user_by_email(user.email), NEW_PASSWORD)


def test_reset_link_expires(app, client, user, request_ctx):
    raw = one_time_tokens.issue_token(db.session, user, "reset_password")
    db.session.commit()
    token = db.session.scalars(select(OneTimeToken).where(OneTimeToken.user_id == user.id)).one()
    assert timedelta(minutes=59) < token.expires_at - token.created_at <= timedelta(hours=1)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(f"/reset-password/{raw}")
    assert response.status_code == 400
    with pytest.raises(ServiceError) as exc:
        one_time_tokens.consume_token(db.session, raw, "reset_password")
    assert exc.value.code == "invalid_token"


def test_tokens_are_stored_hashed_and_bound_to_their_purpose(app, user, request_ctx):
    raw = one_time_tokens.issue_token(db.session, user, "verify_email")
    token = db.session.scalars(select(OneTimeToken)).one()
    assert raw not in token.token_hash and len(token.token_hash) == 64
    with pytest.raises(ServiceError):
        one_time_tokens.consume_token(db.session, raw, "reset_password")
    newer = one_time_tokens.issue_token(db.session, user, "verify_email")  # a new link voids the older one
    with pytest.raises(ServiceError):
        one_time_tokens.consume_token(db.session, raw, "verify_email")
    assert one_time_tokens.consume_token(db.session, newer, "verify_email").user_id == user.id


def test_reset_mails_at_most_one_per_account_every_two_minutes(app, client, user):
    post_form(client, "/reset-password", {"email": user.email})
    post_form(client, "/reset-password", {"email": user.email})
    assert len(outbox(app)) == 1
    user = user_by_email(user.email)
    user.last_reset_sent_at = utcnow() - timedelta(minutes=3)
    db.session.commit()
    post_form(client, "/reset-password", {"email": user.email})
    assert len(outbox(app)) == 2


def test_reset_revokes_every_api_token_and_clears_the_lock(app, client, user, make_user):
    """A reset is what one does when the password may have leaked: whoever had it may have made a
    token. And a lock kept up by someone guessing must not keep the owner out."""
    active, raw = tokens.create_token(db.session, user, "laptop")
    expired, _ = tokens.create_token(db.session, user, "old", utcnow() + timedelta(days=1))
    revoked, _ = tokens.create_token(db.session, user, "gone")
    revoked_at = revoked.revoked_at = utcnow() - timedelta(days=2)
    neighbours, neighbours_raw = tokens.create_token(db.session, make_user("neighbour@example.org"), "theirs")
    user.failed_logins, user.locked_until = accounts.LOCK_AFTER + 2, utcnow() + timedelta(minutes=30)
    db.session.commit()
    expired.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/account", headers={"Authorization": f"Bearer {raw}"}).status_code == 200

    post_form(client, "/reset-password", {"email": user.email})
    path = link_in(outbox(app)[0], "/reset-password/")
    page = client.get(path)
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
                                       "csrf_token": csrf_token(page)})
    assert response.status_code == 302

    after = user_by_email(user.email)
    assert (after.failed_logins, after.locked_until) == (0, None)
    assert db.session.get(type(active), active.id).revoked_at is not None
    assert db.session.get(type(expired), expired.id).revoked_at is None  # expired: its history stays
    assert db.session.get(type(revoked), revoked.id).revoked_at == revoked_at
    assert db.session.get(type(neighbours), neighbours.id).revoked_at is None
    assert client.get("/api/v1/account", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert client.get("/api/v1/account",
                      headers={"Authorization": f"Bearer {neighbours_raw}"}).status_code == 200
    assert login(client, user.email, NEW_PASSWORD).status_code == 302


# --- mail --------------------------------------------------------------------------------------------

def test_mail_goes_in_the_recipients_language(app, client, make_user):
    person = make_user("anglo@example.org", locale="en")
    post_form(client, "/reset-password", {"email": person.email})
    message = outbox(app)[0]
    assert message["Subject"] == "Reset your password"
    assert "http://localhost/reset-password/" in message.get_body(("plain",)).get_content()


def test_french_mails_are_written_in_french(app, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    register(client, email="francais@example.org")
    message = outbox(app)[0]
    body = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Confirmez votre adresse électronique"
    assert body.startswith("Bonjour,") and "expire dans 3\u00a0jours." in body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(app_settings):
    """A real SMTP server (aiosmtpd) on localhost; the app is configured with SMTP_URL to reach it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    port = _free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    app_settings["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    yield received
    controller.stop()


def test_mail_goes_through_smtp_when_configured(smtp_server, app, client):
    register(client, email="smtp@example.org")
    for _ in range(50):
        if smtp_server:
            break
        time.sleep(0.05)
    assert len(smtp_server) == 1
    assert smtp_server[0]["To"] == "smtp@example.org"
    assert "/verify-email/" in smtp_server[0].get_payload(decode=True).decode()
    assert outbox(app) == []


def test_smtp_url_parsing():
    from app.mail import smtp_settings

    settings = smtp_settings("smtp://me%40x.org:p%3Ass@mail.example.org:587?starttls=1")
    assert (settings["MAIL_SERVER"], settings["MAIL_PORT"]) == ("mail.example.org", 587)
    assert (settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"]) == ("me@x.org", "p:ss")
    assert settings["MAIL_USE_TLS"] and not settings["MAIL_USE_SSL"]
    settings = smtp_settings("smtps://relay.example.org")
    assert settings["MAIL_PORT"] == 465 and settings["MAIL_USE_SSL"] and not settings["MAIL_USE_TLS"]
    with pytest.raises(ValueError):
        smtp_settings("http://mail.example.org")


# --- mail after the response -------------------------------------------------------------------------

SLOW = 0.3


@pytest.fixture
def slow_outbox(monkeypatch):
    """Writing a mail takes 0.3 s, as an SMTP round trip might (the real writer still runs)."""
    mail = importlib.import_module("app.mail")
    real = mail._write_outbox

    def slow(*args, **kwargs):
        time.sleep(SLOW)
        return real(*args, **kwargs)

    monkeypatch.setattr(mail, "_write_outbox", slow)


@pytest.mark.parametrize("path, data, to", [
    ("/reset-password", {"email": "owner@example.org"}, "owner@example.org"),
    ("/register", {"email": "new@example.org", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
     "new@example.org"),
    ("/register", {"email": "owner@example.org", "password": NEW_PASSWORD,
                   "password_confirm": NEW_PASSWORD}, "owner@example.org"),
])
def test_mails_go_out_after_the_response(app, client, user, slow_outbox, path, data, to):
    """Sent before answering, a mail made the answer slower exactly when the address had an account."""
    token = csrf_token(client.get(path))
    response = client.post(path, data={**data, "csrf_token": token}, buffered=False)
    assert response.status_code == 302
    assert outbox(app) == []  # answered, and nothing written yet (no timing: the order is what counts)
    response.close()  # what the server does once the body is sent
    assert [m["To"] for m in outbox(app)] == [to]


def test_the_resent_verification_goes_out_after_the_response(app, client, make_user, slow_outbox):
    person = make_user("unverified@example.org", verified=False)
    login(client, person.email)
    token = csrf_token(client.get("/settings"))
    response = client.post("/verify-email/resend", data={"csrf_token": token}, buffered=False)
    assert response.status_code == 302 and outbox(app) == []
    response.close()
    assert [m["To"] for m in outbox(app)] == [person.email]


def test_a_mail_that_fails_after_the_response_is_logged(app, client, user, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(importlib.import_module("app.mail"), "_write_outbox", broken)
    # Alembic's logging set-up (migrations/env.py, run by the fixtures) disables the loggers that exist.
    monkeypatch.setattr(logging.getLogger("app.auth.emails"), "disabled", False)
    response = post_form(client, "/reset-password", {"email": user.email})
    assert response.status_code == 302
    assert "Could not send the 'reset_password' mail to owner@example.org" in caplog.text
    assert "disk full" in caplog.text


def test_outside_a_request_mail_goes_at_once(app):
    """The CLI and jobs have no response to wait for."""
    sent = []
    send_after_response(sent.append, "now")
    assert sent == ["now"]
