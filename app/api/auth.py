"""Who is calling the API: a personal access token in ``Authorization: Bearer``, and nothing else
(or, on the routes that organisations may call, an organisation token: ``principal``).

The browser session plays no part under ``/api/``: it is neither read nor written (so no Set-Cookie),
and a signed-in browser's cookie authenticates nothing there. That is also why the API needs no CSRF
token: a browser never attaches a bearer token on its own.
"""
from __future__ import annotations

from flask import Flask, g, request
from flask.sessions import SecureCookieSession, SessionInterface
from flask_babel import lazy_gettext as _l

from app import policy
from app.errors import error_response
from app.extensions import db, login_manager
from app.models import User
from app.services import orgs, tokens
from app.services.accounts import AccountSuspended

API_PREFIX = "/api/"


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


class _DetachedSession(SecureCookieSession):
    """A session for API requests: code may read or write it, nothing is loaded or saved."""


class ApiAwareSessionInterface(SessionInterface):
    """Wraps the application's session interface so that API requests never touch the session store.

    Everything else (pages, ``regenerate`` at login) goes to the wrapped interface unchanged.
    """

    def __init__(self, inner: SessionInterface):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def open_session(self, app, request):
        if request.path.startswith(API_PREFIX):
            return _DetachedSession()
        return self.inner.open_session(app, request)

    def save_session(self, app, session, response):
        if isinstance(session, _DetachedSession):
            return None
        return self.inner.save_session(app, session, response)


def _bearer_token() -> str | None:
    auth = request.authorization
    if auth is not None and auth.type == "bearer" and auth.token:
        return auth.token
    return None


def load_api_user() -> None:
    """Before every API request: resolve the bearer token (if any) into ``g.api_user``.

    Flask-Login's ``current_user`` is set to the same person (or anonymous), so that nothing that runs
    later, such as the locale selector, falls back on a session or remember-me cookie.
    """
    if not is_api_request():
        return
    raw = _bearer_token()
    g.api_token_sent = raw is not None
    user = tokens.authenticate_token(db.session, raw) if raw else None
    g.api_token_suspended = db.session.info.pop(tokens.SUSPENDED, False)
    if db.session.info.pop(tokens.TOUCHED, False):
        db.session.commit()  # keeps last_used_at (written at most once a minute), even if the call fails
    g.api_user = user
    login_manager._update_request_context_with_user(user)


def forget_api_user(_exc=None) -> None:
    """After an API request, drop who called: nothing may carry it over to a later request."""
    if is_api_request():
        g.pop("api_user", None)
        g.pop("_login_user", None)


def unauthorized():
    """401 with the RFC 6750 challenge; ``invalid_token`` when a token was sent but refused."""
    if g.get("api_token_suspended"):  # the right token of a suspended account: say why (review 14, L9)
        exc = AccountSuspended()
        return error_response(exc.status, exc.code, exc.message)
    challenge = 'Bearer realm="sillage"'
    if g.get("api_token_sent"):
        challenge += ', error="invalid_token"'
    return error_response(401, "unauthorized", _l("A valid API token is required "
                                                  "(header Authorization: Bearer <token>)."),
                          headers={"WWW-Authenticate": challenge})


def require_token():
    """Blueprint ``before_request``: refuse the request unless a valid token was presented."""
    if g.get("api_user") is None:
        return unauthorized()
    return None


def api_user() -> User:
    """The authenticated caller (only inside views guarded by ``require_token``)."""
    return g.api_user


def principal() -> User | policy.OrganisationPrincipal | None:
    """Who calls a route open to organisations: the person of a personal token, else the organisation
    of an organisation token (``silo_…``, its last use kept), else None. One function for the awards,
    bulk, endorsement and organisation routes, so that they cannot come to disagree on who may call."""
    if g.get("api_user") is not None:
        return g.api_user
    raw = _bearer_token()
    organisation = orgs.organisation_for_token(raw, db.session) if raw else None
    if organisation is None:
        db.session.rollback()
        return None
    db.session.commit()  # keeps the token's last use, even if the call then fails
    return policy.OrganisationPrincipal(organisation.id)


def require_principal():
    """Blueprint ``before_request``: ``g.api_principal`` is the caller (``principal``), else 401."""
    g.api_principal = principal()
    return unauthorized() if g.api_principal is None else None


def init_app(app: Flask) -> None:
    app.session_interface = ApiAwareSessionInterface(app.session_interface)
    app.before_request(load_api_user)
    app.teardown_request(forget_api_user)
