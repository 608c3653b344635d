"""Personal access tokens: the service (hashing, expiry, revocation, last use) and /api/v1/tokens."""
from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest

from app.database import utcnow
from app.extensions import db
from app.models import ApiToken, User
from app.services import tokens
from app.services.errors import NotFound, ValidationFailed
from tests.conftest import PASSWORD, FreshClient, login
from tests.helpers import csrf_token


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def new_token(user, name="test", expires_at=None) -> tuple[ApiToken, str]:
    token, raw = tokens.create_token(db.session, user, name, expires_at)
    db.session.commit()
    return token, raw


# --- the service -----------------------------------------------------------------------------------

@pytest.fixture
def ctx(app):
    """Service messages are translated, and the locale selector reads the request."""
    with app.test_request_context():
        yield


def test_create_token_stores_only_the_hash_and_a_short_prefix(user):
    token, raw = new_token(user, "laptop")
    assert raw.startswith("sil_") and len(raw) >= 4 + 43
    stored = db.session.get(ApiToken, token.id)
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert stored.prefix == raw[4:12]
    assert raw not in (stored.token_hash, stored.prefix, stored.name)
    assert stored.name == "laptop" and stored.user_id == user.id


def test_two_tokens_never_share_a_value(user):
    assert new_token(user)[1] != new_token(user)[1]


def test_authenticate_accepts_a_valid_token_and_refuses_everything_else(user):
    token, raw = new_token(user)
    assert tokens.authenticate_token(db.session, raw).id == user.id
    for wrong in (raw + "x", raw[:-1], "sil_" + "A" * 43, raw[4:], "", None, 42, "sil_" + "x" * 500):
        assert tokens.authenticate_token(db.session, wrong) is None


def test_revoked_and_expired_tokens_are_refused(user):
    _, revoked = new_token(user)
    tokens.revoke_token(db.session, user, tokens.list_tokens(db.session, user)[0].id)
    db.session.commit()
    assert tokens.authenticate_token(db.session, revoked) is None

    expiring, raw = new_token(user, expires_at=utcnow() + timedelta(days=1))
    assert tokens.authenticate_token(db.session, raw) is not None
    expiring.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tokens.authenticate_token(db.session, raw) is None


def test_last_used_at_is_written_at_most_once_a_minute(user):
    token, raw = new_token(user)
    assert token.last_used_at is None
    tokens.authenticate_token(db.session, raw)
    first = token.last_used_at
    assert first is not None
    tokens.authenticate_token(db.session, raw)
    assert token.last_used_at == first  # no second write within the minute
    token.last_used_at = utcnow() - timedelta(minutes=2)
    tokens.authenticate_token(db.session, raw)
    assert token.last_used_at > first - timedelta(minutes=2) and token.last_used_at >= first


def test_revoke_refuses_another_persons_or_an_unknown_token(ctx, user, make_user):
    other = make_user()
    theirs, raw = new_token(other)
    for token_id in (theirs.id, str(theirs.id), uuid.uuid4(), "not-an-id", None):
        with pytest.raises(NotFound):
            tokens.revoke_token(db.session, user, token_id)
    assert tokens.authenticate_token(db.session, raw) is not None


def test_revoking_twice_keeps_the_first_time(user):
    token, _ = new_token(user)
    first = tokens.revoke_token(db.session, user, token.id).revoked_at
    assert tokens.revoke_token(db.session, user, token.id).revoked_at == first


def test_list_tokens_shows_only_ones_own_newest_first(user, make_user):
    other = make_user()
    new_token(other)
    older, _ = new_token(user, "older")
    older.created_at = utcnow() - timedelta(hours=1)
    newer, _ = new_token(user, "newer")
    db.session.commit()
    assert [t.name for t in tokens.list_tokens(db.session, user)] == ["newer", "older"]


def test_create_token_validates_name_and_expiry(ctx, user):
    with pytest.raises(ValidationFailed) as error:
        tokens.create_token(db.session, user, "x" * 81)
    assert "name" in error.value.fields
    with pytest.raises(ValidationFailed):
        tokens.create_token(db.session, user, "bad\x00name")
    with pytest.raises(ValidationFailed) as error:
        tokens.create_token(db.session, user, "past", utcnow() - timedelta(days=1))
    assert "expires_at" in error.value.fields
    token, _ = tokens.create_token(db.session, user, "   ")
    assert token.name  # a blank name gets a default label


# --- POST /api/v1/tokens ---------------------------------------------------------------------------

def post_token(client, **body):
    return client.post("/api/v1/tokens", json=body)


def test_create_token_through_the_api_and_use_it(client, user):
    response = post_token(client, email=user.email, password=PASSWORD, name="script")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"token", "id", "name", "prefix", "created_at", "expires_at"}
    assert body["name"] == "script" and body["expires_at"] is None and body["created_at"].endswith("Z")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"

    profile = client.get("/api/v1/profile", headers=bearer(body["token"]))
    assert profile.status_code == 200
    assert profile.get_json()["display_name"] == "Owner Person"
    assert "Set-Cookie" not in profile.headers


def test_create_token_with_an_expiry(client, user):
    body = post_token(client, email=user.email.upper(), password=PASSWORD, expires_in_days=7).get_json()
    token = db.session.get(ApiToken, uuid.UUID(body["id"]))
    assert timedelta(days=6, hours=23) < token.expires_at - utcnow() <= timedelta(days=7)
    assert body["expires_at"].endswith("Z")


def test_wrong_credentials_answer_401_and_count_towards_the_backoff(client, user):
    response = post_token(client, email=user.email, password="not the password at all")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_credentials"
    assert post_token(client, email="nobody@example.org", password=PASSWORD).get_json()["error"] == \
        "invalid_credentials"
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_logins == 1
    assert db.session.query(ApiToken).count() == 0


def test_unverified_email_is_refused(client, make_user):
    person = make_user("new@example.org", verified=False)
    response = post_token(client, email=person.email, password=PASSWORD)
    assert response.status_code == 403
    assert response.get_json()["error"] == "email_not_verified"
    assert db.session.query(ApiToken).count() == 0


@pytest.mark.parametrize("body, field", [
    ({"password": PASSWORD}, "email"),
    ({"email": "owner@example.org"}, "password"),
    ({"email": "owner@example.org", "password": 123}, "password"),
    ({"email": "owner@example.org", "password": PASSWORD, "expires_in_days": 0}, "expires_in_days"),
    ({"email": "owner@example.org", "password": PASSWORD, "expires_in_days": "7"}, "expires_in_days"),
    ({"email": "owner@example.org", "password": PASSWORD, "expires_in_days": True}, "expires_in_days"),
    ({"email": "owner@example.org", "password": PASSWORD, "name": ["x"]}, "name"),
    ({"email": "owner@example.org", "password": PASSWORD, "name": "x" * 81}, "name"),
    ({"email": "owner@example.org", "password": PASSWORD, "scope": "all"}, "scope"),
])
def test_create_token_validation(client, user, body, field):
    response = client.post("/api/v1/tokens", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"] == "validation_error"
    assert field in response.get_json()["fields"]
    assert db.session.query(ApiToken).count() == 0


def test_create_token_needs_a_json_object(client, user):
    assert client.post("/api/v1/tokens", data="email=a&password=b",
                       content_type="application/x-www-form-urlencoded").status_code == 415
    response = client.post("/api/v1/tokens", data="{oops", content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"


def test_token_creation_is_rate_limited_per_ip(app_settings, user):
    from app import create_app

    app = create_app({**app_settings, "RATE_LIMIT_LOGIN": "2/minute"})
    client = app.test_client()
    wrong = {"email": user.email, "password": "wrong password!"}
    statuses = [client.post("/api/v1/tokens", json=wrong).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429 and response.get_json()["error"] == "rate_limited"


def _limited_client(app_settings, limit: str, **settings):
    from app import create_app

    app = create_app({**app_settings, "RATE_LIMIT_LOGIN": limit, **settings})
    app.test_client_class = FreshClient
    return app.test_client()


def _login_attempt(client, email: str, password: str):
    page = client.get("/login")  # GETs are free
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)})


def test_the_sign_in_page_and_token_creation_share_one_budget_per_ip(app_settings, user):
    """Guesses spent on the sign-in page are not available again on the API, and the other way round."""
    client = _limited_client(app_settings, "3/minute")
    assert [_login_attempt(client, user.email, "wrong password!").status_code for _ in range(3)] == [422] * 3
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429 and response.get_json()["error"] == "rate_limited"
    assert _login_attempt(client, user.email, PASSWORD).status_code == 429

    # A fresh budget: the counters are shared by every process of the instance (``app.ratelimits``),
    # so a new application alone would not give one.
    from app.models import RateLimitCounter

    db.session.execute(RateLimitCounter.__table__.delete())
    db.session.commit()
    client = _limited_client(app_settings, "3/minute")
    wrong = {"email": user.email, "password": "wrong password!"}
    assert [client.post("/api/v1/tokens", json=wrong).status_code for _ in range(2)] == [401, 401]
    assert _login_attempt(client, user.email, "wrong password!").status_code == 422
    assert _login_attempt(client, user.email, PASSWORD).status_code == 429
    assert client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}).status_code == 429
    assert db.session.query(ApiToken).count() == 0


def test_other_addresses_keep_their_own_budget(app_settings, user):
    """The budget is per client address (behind the one trusted proxy, X-Forwarded-For)."""
    client = _limited_client(app_settings, "1/minute", PROXY_HOPS=1)
    here, there = {"X-Forwarded-For": "203.0.113.5"}, {"X-Forwarded-For": "203.0.113.6"}
    body = {"email": user.email, "password": PASSWORD}
    assert client.post("/api/v1/tokens", json=body, headers=here).status_code == 201
    assert client.post("/api/v1/tokens", json=body, headers=here).status_code == 429
    assert client.post("/api/v1/tokens", json=body, headers=there).status_code == 201


# --- authentication of every other call ----------------------------------------------------------

def test_missing_or_invalid_token_is_401_with_a_bearer_challenge(client, user):
    response = client.get("/api/v1/experiences")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for header in ("Bearer sil_nope", "Bearer ", "Basic b3duZXI6cGFzcw==", "sil_nope"):
        response = client.get("/api/v1/experiences", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/api/v1/profile", headers=bearer("sil_nope"))
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_revoked_and_expired_tokens_are_refused_by_the_api(client, user):
    token, raw = new_token(user)
    assert client.get("/api/v1/profile", headers=bearer(raw)).status_code == 200
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get("/api/v1/profile", headers=bearer(raw)).status_code == 401

    _, live = new_token(user)
    response = client.delete(f"/api/v1/tokens/{token.id}", headers=bearer(live))
    assert response.status_code == 204
    newest = tokens.list_tokens(db.session, user)[0]
    response = client.delete(f"/api/v1/tokens/{newest.id}", headers=bearer(live))
    assert response.status_code == 204  # revoking the token in use works, and it stops at once
    assert client.get("/api/v1/profile", headers=bearer(live)).status_code == 401


def test_a_browser_session_does_not_authenticate_the_api(logged_in):
    response = logged_in.get("/api/v1/profile")
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    body = {"kind": "job", "title": "x", "start_date": "2020-01-01"}
    response = logged_in.post("/api/v1/experiences", json=body)
    assert response.status_code == 401


def test_api_calls_never_set_a_cookie(client, user):
    _, raw = new_token(user)
    client.set_cookie("sillage_session", "planted-session-id")
    for response in (client.get("/api/v1/profile", headers=bearer(raw)),
                     client.get("/api/v1/nowhere"),
                     client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD}),
                     client.get("/api/v1/openapi.json")):
        assert "Set-Cookie" not in response.headers, response.request.path


def test_last_used_at_is_kept_after_a_read_only_call(client, user):
    token, raw = new_token(user)
    client.get("/api/v1/profile", headers=bearer(raw))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is not None


# --- GET and DELETE /api/v1/tokens ----------------------------------------------------------------

def test_list_tokens_shows_no_secret(client, user, make_user):
    token, raw = new_token(user, "mine")
    new_token(make_user(), "theirs")
    response = client.get("/api/v1/tokens", headers=bearer(raw))
    assert response.status_code == 200
    body = response.get_json()
    assert [t["name"] for t in body["items"]] == ["mine"] and body["next_cursor"] is None
    listed = body["items"][0]
    assert listed["id"] == str(token.id) and listed["active"] is True and listed["prefix"] == raw[4:12]
    assert raw not in response.get_data(as_text=True)
    assert token.token_hash not in response.get_data(as_text=True)
    assert listed["last_used_at"].endswith("Z")


def test_list_tokens_is_paginated(client, user):
    _, raw = new_token(user)
    for index in range(4):
        new_token(user, f"t{index}")
    seen, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/tokens", query_string=query, headers=bearer(raw)).get_json()
        seen += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and len(set(seen)) == 5


def test_another_persons_token_cannot_be_revoked(client, user, make_user):
    _, raw = new_token(user)
    theirs, their_raw = new_token(make_user())
    response = client.delete(f"/api/v1/tokens/{theirs.id}", headers=bearer(raw))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert client.delete("/api/v1/tokens/not-a-uuid", headers=bearer(raw)).status_code == 404
    assert client.get("/api/v1/profile", headers=bearer(their_raw)).status_code == 200


def test_token_routes_need_a_token_except_creation(client, user):
    token, _ = new_token(user)
    assert client.get("/api/v1/tokens").status_code == 401
    assert client.delete(f"/api/v1/tokens/{token.id}").status_code == 401
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_login_page_still_works_beside_the_api(client, user):
    """The session wrapper leaves the pages' sessions alone."""
    assert login(client, user.email).status_code == 302
    assert client.get("/dashboard").status_code == 200
