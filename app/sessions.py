"""Server-side sessions stored in our own, migrated table.

Flask-Session's SQLAlchemy backend declares its model and creates its table when the application is
built, which breaks both rules we hold (tables come from migrations; several applications may share one
metadata in the tests). This subclass keeps its behaviour (a session id in the cookie, the data in
``http_sessions``, expired rows deleted when met and every ``SESSION_CLEANUP_N_REQUESTS`` requests) but
points it at ``HttpSession`` and does each step in a single SQL statement:

- reading a session is one ``SELECT data, expiry`` in SQLAlchemy Core (the parent goes through the
  legacy ORM ``Query``, which costs more than the query itself on a page that renders in milliseconds);
- a request that does not change the session writes nothing (``SESSION_REFRESH_EACH_REQUEST`` is off:
  the lifetime is absolute), and one that does writes with one ``UPDATE`` (an ``INSERT`` for a new
  session or id) instead of the parent's read-then-write, which also brought back a row deleted
  meanwhile;
- API requests never reach this class (``app.api.auth.ApiAwareSessionInterface``), and the periodic
  clean-up of expired rows runs on page requests only, so an API call touches no session row at all.

Each row also names its account (``user_id``), so that deleting the account deletes all its sessions.
With ``SILLAGE_REDIS_URL`` set, Flask-Session's Redis backend is used, with one set of session ids per
account for the same purpose (``_redis_interface``).

Either store only ever holds sessions of signed-in people (``CookieUntilSignIn``): before sign-in, the
little a session holds (the CSRF token, a flash message) travels in a cookie signed with the secret
key, so that anonymous visits (crawlers, scanners, every first ``GET /login``) write nothing. A stored
session begins at sign-in, on a new id, and its row is deleted at sign-out.
"""
import uuid
from datetime import datetime, timedelta, timezone

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionInterface
from itsdangerous import BadSignature
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.sqlalchemy import SqlAlchemySessionInterface
from sqlalchemy import bindparam, delete, insert, select, update

from app import redis_clients
from app.extensions import db
from app.models.session import HttpSession

_table = HttpSession.__table__
_READ = select(_table.c.data, _table.c.expiry).where(_table.c.session_id == bindparam("sid"))


def _owner(session) -> uuid.UUID | None:
    """The signed-in account of a session: Flask-Login keeps ``<uuid>:<session_version>`` in it."""
    identity = dict.get(session, "_user_id")
    if not isinstance(identity, str):
        return None
    try:
        return uuid.UUID(identity.partition(":")[0])
    except ValueError:
        return None


def _naive_utcnow() -> datetime:
    """The column holds naive UTC times (Flask-Session's convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class DatabaseSessionInterface(SqlAlchemySessionInterface):
    def __init__(self, app: Flask):  # noqa: D107 - deliberately skips the parent's table creation
        self.client = db
        self.sql_session_model = HttpSession
        ServerSideSessionInterface.__init__(
            self,
            app,
            key_prefix="",
            use_signer=False,
            permanent=app.config["SESSION_PERMANENT"],
            sid_length=32,
            serialization_format="msgpack",
            cleanup_n_requests=app.config.get("SESSION_CLEANUP_N_REQUESTS", 500),
        )

    def _retrieve_session_data(self, store_id: str) -> dict | None:
        """The stored data, or None; an expired row is deleted on the way (SQL has no TTL)."""
        row = db.session.execute(_READ, {"sid": store_id}).first()
        if row is None:
            return None
        if row.expiry is None or row.expiry <= _naive_utcnow():
            self._delete_session(store_id)
            return None
        return self.serializer.decode(bytes(row.data))

    def _delete_session(self, store_id: str) -> None:
        try:
            db.session.execute(delete(_table).where(_table.c.session_id == store_id))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise

    def open_session(self, app: Flask, request) -> ServerSideSession:
        session = super().open_session(app, request)
        # The parent keeps the cookie's id only when it found that row; otherwise it made a new id.
        loaded = session.sid == request.cookies.get(self.get_cookie_name(app))
        session.loaded_sid = session.sid if loaded else None
        return session

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession, store_id: str) -> None:
        """Write a changed session in one statement: ``UPDATE`` the row it was read from, or ``INSERT``
        a new one (a new session, or a new id given at sign-in).

        A row deleted while the request ran (signed out in another tab, expired) is not brought back:
        the parent's read-then-write would resurrect a session that was just ended.
        """
        values = {"data": self.serializer.encode(session), "expiry": _naive_utcnow() + session_lifetime,
                  "user_id": _owner(session)}
        try:
            if getattr(session, "loaded_sid", None) == session.sid:
                db.session.execute(update(_table).where(_table.c.session_id == store_id).values(**values))
            else:
                db.session.execute(insert(_table).values(session_id=store_id, **values))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise

    def _cleanup_n_requests(self) -> None:
        """Expired rows are removed from time to time by page requests; API requests leave them alone."""
        from app.api.auth import is_api_request

        if not is_api_request():
            super()._cleanup_n_requests()


class CookieUntilSignIn(SessionInterface):
    """A signed cookie while nobody is signed in, a stored session (``inner``) once someone is.

    Why: a stored session per anonymous visit costs a 14-day row per request, which anyone can make by
    the thousand. What an anonymous session holds is worth nothing to a thief (a CSRF token for a
    sign-in form, a flash message), so it may live in the browser, signed (Flask's own cookie format).
    What decides is Flask-Login's ``_user_id``: present, the session is stored (and the signed
    cookie is replaced by the row's id, same cookie name); absent, it is written to the signed cookie
    and any stored row of it is deleted. An identity is never read from a signed cookie: a replayed
    or forged cookie signs nobody in, and sign-out (which deletes the row) stays real.

    Both kinds share one cookie name; a signed value has dots, a row's id (``token_urlsafe``) never.
    """

    USER_KEY = "_user_id"

    def __init__(self, inner):
        self.inner = inner
        self.signed = SecureCookieSessionInterface()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def open_session(self, app: Flask, request):
        value = request.cookies.get(self.get_cookie_name(app)) or ""
        if "." not in value:
            session = self.inner.open_session(app, request)
            session.stored = bool(value) and session.sid == value
            return session
        data = {}
        serializer = self.signed.get_signing_serializer(app)
        if serializer is not None:
            try:
                data = serializer.loads(value, max_age=int(app.permanent_session_lifetime.total_seconds()))
            except BadSignature:
                data = {}
        data = {key: item for key, item in data.items() if key not in (self.USER_KEY, "_fresh", "_id")} \
            if isinstance(data, dict) else {}
        session = self.inner.session_class(data, sid=self.inner._generate_sid(self.inner.sid_length),
                                           permanent=self.inner.permanent)
        session.stored = False
        return session

    def regenerate(self, session) -> None:
        """A new id: the stored row (if any) is deleted, even when the session is empty (the parent's
        ``regenerate`` skips an empty one); a session that was never stored just gets the new id."""
        if getattr(session, "stored", False):
            self.inner._delete_session(self.inner._get_store_id(session.sid))
        session.sid = self.inner._generate_sid(self.inner.sid_length)
        session.modified = True
        session.stored = False

    def save_session(self, app: Flask, session, response) -> None:
        if dict.get(session, self.USER_KEY) is not None:
            return self.inner.save_session(app, session, response)
        if session.accessed:
            response.vary.add("Cookie")
        if getattr(session, "stored", False):  # signed out, or the identity removed: the row goes
            self.inner._delete_session(self.inner._get_store_id(session.sid))
            session.stored, session.modified = False, True
        if not session.modified:
            return None
        name, domain, path = self.get_cookie_name(app), self.get_cookie_domain(app), self.get_cookie_path(app)
        if not session:
            response.delete_cookie(name, domain=domain, path=path)
            response.vary.add("Cookie")
            return None
        response.set_cookie(name, self.signed.get_signing_serializer(app).dumps(dict(session)),
                            expires=self.get_expiration_time(app, session), httponly=self.get_cookie_httponly(app),
                            domain=domain, path=path, secure=self.get_cookie_secure(app),
                            samesite=self.get_cookie_samesite(app))
        response.vary.add("Cookie")
        return None


def _redis_interface(app: Flask):
    """Flask-Session's Redis backend, plus one set per account of its session ids (``user:<id>``,
    expiring with them), so that deleting the account can delete them all, as the SQL table does."""
    from flask_session.redis import RedisSessionInterface

    class RedisSessions(RedisSessionInterface):
        def _user_key(self, user_id) -> str:
            return f"{self.key_prefix}user:{user_id}"

        def _upsert_session(self, session_lifetime, session, store_id) -> None:
            super()._upsert_session(session_lifetime, session, store_id)
            owner = _owner(session)
            if owner is not None:
                pipe = self.client.pipeline()
                pipe.sadd(self._user_key(owner), store_id)
                pipe.expire(self._user_key(owner), int(session_lifetime.total_seconds()))
                pipe.execute()

        def delete_user_sessions(self, user_id) -> None:
            ids = self.client.smembers(self._user_key(user_id))
            self.client.delete(self._user_key(user_id), *ids)

    # The timeouts of every Redis client (``app.redis_clients``): a stuck Redis fails the request, whose
    # error page answers, rather than holding it for ever.
    client = app.config.get("SESSION_REDIS") or redis_clients.client(app.config["REDIS_URL"])
    return RedisSessions(app, client=client, key_prefix=app.config.get("SESSION_KEY_PREFIX", "session:"),
                         permanent=app.config["SESSION_PERMANENT"], sid_length=32,
                         serialization_format="msgpack")


def init_app(app: Flask) -> None:
    if app.config["SESSION_TYPE"] == "sqlalchemy":
        app.session_interface = DatabaseSessionInterface(app)
    else:
        app.session_interface = _redis_interface(app)
    app.session_interface = CookieUntilSignIn(app.session_interface)


def delete_user_sessions(db_session, user_id: uuid.UUID) -> None:
    """Delete every stored session of an account (when it is deleted): in the SQL table, with the
    caller's transaction; in Redis, at once (through the account's set of session ids)."""
    from flask import current_app, has_app_context

    store = current_app.session_interface if has_app_context() else None
    while store is not None and "inner" in vars(store):  # unwrap ApiAwareSessionInterface, CookieUntilSignIn
        store = store.inner
    if store is not None and hasattr(store, "delete_user_sessions"):
        store.delete_user_sessions(user_id)
    db_session.execute(delete(_table).where(_table.c.user_id == user_id))


def regenerate(session) -> None:
    """Give the session a new id (at login), so that a planted id never becomes an authenticated one."""
    from flask import current_app

    current_app.session_interface.regenerate(session)
