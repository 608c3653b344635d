"""The server-side session store: what is kept, for whom, and for how long (issue 6, §6)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import HttpSession
from tests.conftest import PASSWORD, login
from tests.helpers import csrf_token
from tests.test_auth import english, is_signed_in, post_form


def session_rows() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(HttpSession))


def rows_of(user_id) -> int:
    return db.session.scalar(select(func.count()).select_from(HttpSession).where(HttpSession.user_id == user_id))


# --- deleting an account ends every one of its sessions -------------------------------------------------

def test_deleting_an_account_deletes_every_session_row_of_it(app, make_user):
    owner, neighbour = make_user("owner@example.org"), make_user("neighbour@example.org")
    owner_id = owner.id
    here, phone, other = english(app), english(app), english(app)
    for client, person in ((here, owner), (phone, owner), (other, neighbour)):
        assert login(client, person.email).status_code == 302
    assert rows_of(owner_id) == 2 and rows_of(neighbour.id) == 1

    assert post_form(here, "/settings/delete", {"password": PASSWORD}).status_code == 302
    assert rows_of(owner_id) == 0
    # Not one row still carries the deleted account's id inside its data either.
    assert not [row for row in db.session.scalars(select(HttpSession))
                if str(owner_id).encode() in bytes(row.data or b"")]
    assert not is_signed_in(phone)
    assert rows_of(neighbour.id) == 1 and is_signed_in(other)


def test_deleting_an_account_through_the_api_deletes_its_sessions(app, make_user):
    from app.services import tokens

    owner = make_user("owner@example.org")
    owner_id = owner.id
    browser = english(app)
    assert login(browser, owner.email).status_code == 302
    _, raw = tokens.create_token(db.session, owner, "cli")
    db.session.commit()
    response = app.test_client().delete("/api/v1/account", json={"password": PASSWORD},
                                        headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code in (200, 204), response.data
    assert rows_of(owner_id) == 0 and not is_signed_in(browser)


# --- no stored session until there is someone to keep it for ----------------------------------------------

def cookie_value(client, app) -> str | None:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie is not None else None


def test_anonymous_pages_store_no_session(app):
    """100 visitors without cookies (crawlers, scanners, first visits) leave no row behind."""
    for n in range(100):
        client = english(app)
        path = ("/login", "/register", "/")[n % 3]
        assert client.get(path).status_code == 200
    assert session_rows() == 0


def test_the_login_form_works_from_a_signed_cookie_and_sign_in_gets_a_stored_session(app, user):
    client = english(app)
    page = client.get("/login")
    before = cookie_value(client, app)
    assert before and "." in before  # a signed cookie, not the id of a row
    assert session_rows() == 0
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    after = cookie_value(client, app)
    assert after != before and "." not in after  # a new id, of a stored row
    assert rows_of(user.id) == 1 and session_rows() == 1
    assert is_signed_in(client)


def test_a_wrong_password_stores_nothing_either(app, user):
    client = english(app)
    response = post_form(client, "/login", {"email": user.email, "password": "not the password at all"})
    assert response.status_code == 422
    assert session_rows() == 0


def test_forged_or_missing_csrf_tokens_still_fail(app, user):
    client, stranger = english(app), english(app)
    client.get("/login")
    stranger_token = csrf_token(stranger.get("/login"))
    data = {"email": user.email, "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 400  # no token
    assert client.post("/login", data={**data, "csrf_token": stranger_token}).status_code == 400  # another's
    # A token of this very client, but with its signed cookie altered: the raw token is unknown.
    token = csrf_token(client.get("/login"))
    value = cookie_value(client, app)
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.post("/login", data={**data, "csrf_token": token}).status_code == 400
    assert not is_signed_in(client) and session_rows() == 0


def test_a_signed_cookie_never_signs_anyone_in(app, user):
    """Only stored sessions carry an identity: a cookie signed with the instance's key that names an
    account (as a leaked key, or a bug, could produce) is read without it."""
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    client = english(app)
    client.set_cookie(app.config["SESSION_COOKIE_NAME"],
                      serializer.dumps({"_user_id": user.get_id(), "_fresh": True}))
    assert not is_signed_in(client)


def test_signing_out_deletes_the_row_and_keeps_only_a_cookie(app, user):
    client = english(app)
    assert login(client, user.email).status_code == 302
    assert session_rows() == 1
    response = post_form(client, "/logout", {}, page_url="/settings")
    assert response.status_code == 302
    assert session_rows() == 0
    page = client.get("/").get_data(as_text=True)
    assert "You are signed out." in page  # the message travelled in the signed cookie
    assert session_rows() == 0 and not is_signed_in(client)


# --- the same with Redis (fakeredis: the real client library, an in-process server) ------------------------

@pytest.fixture
def redis_app(app_settings):
    fakeredis = pytest.importorskip("fakeredis")
    from app import create_app

    server = fakeredis.FakeRedis()
    app = create_app({**app_settings, "SESSION_TYPE": "redis", "REDIS_URL": "redis://fake", "SESSION_REDIS": server})
    with app.app_context():
        yield app, server
        db.engine.dispose()


def test_with_redis_anonymous_visits_store_nothing_and_deletion_ends_every_session(redis_app, make_user):
    app, server = redis_app
    for path in ("/login", "/register", "/"):
        assert english(app).get(path).status_code == 200
    assert server.keys("*") == []

    owner, neighbour = make_user("owner@example.org"), make_user("neighbour@example.org")
    here, phone, other = english(app), english(app), english(app)
    for client, person in ((here, owner), (phone, owner), (other, neighbour)):
        assert login(client, person.email).status_code == 302
    sessions = [key for key in server.keys("session:*") if b":user:" not in key]
    assert len(sessions) == 3 and is_signed_in(phone)

    assert post_form(here, "/settings/delete", {"password": PASSWORD}).status_code == 302
    left = [key for key in server.keys("session:*") if b":user:" not in key]
    assert left == [b"session:" + cookie_value(other, app).encode()]
    assert not is_signed_in(phone) and is_signed_in(other)


def test_the_migration_names_the_account_of_existing_rows_and_drops_the_orphans(app, user):
    """Rows written before ``user_id`` existed: filled from their data; a deleted account's are deleted."""
    import uuid

    import msgspec
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    user_id = user.id
    db.session.remove()
    downgrade(revision="7db48724395e")
    try:
        table = sa.table("http_sessions", sa.column("session_id"), sa.column("data"), sa.column("expiry"))
        rows = {"mine": {"_user_id": f"{user_id}:1", "csrf_token": "x"}, "anonymous": {"csrf_token": "y"},
                "orphan": {"_user_id": f"{uuid.uuid4()}:3"}, "broken": None}
        with db.engine.begin() as connection:
            connection.execute(table.insert(), [
                {"session_id": sid, "expiry": None,
                 "data": msgspec.msgpack.encode(data) if data is not None else b"\x00not msgpack"}
                for sid, data in rows.items()])
    finally:
        upgrade()
    found = {row.session_id: row.user_id for row in db.session.scalars(select(HttpSession))}
    assert found == {"mine": user_id, "anonymous": None, "broken": None}


def test_regenerating_an_empty_stored_session_still_deletes_its_row(app, user):
    """Sign-out regenerates the id after Flask-Login emptied the session: the old row must go anyway."""
    from flask import request

    client = english(app)
    assert login(client, user.email).status_code == 302
    sid = cookie_value(client, app)
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/", headers={"Cookie": f"{name}={sid}"}):
        session = app.session_interface.open_session(app, request)
        assert session.sid == sid
        session.clear()
        app.session_interface.regenerate(session)
        assert session.sid != sid
        app.session_interface.save_session(app, session, app.response_class())
    assert session_rows() == 0
