"""Error responses: JSON with a stable ``error`` code under ``/api/``, friendly pages elsewhere.

Every handler rolls the database session back first: a request that failed half-way must not have its
flushed changes committed later by anything that runs after it (the session store commits, for one).
"""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.services.accounts import AccountSuspended
from app.services.errors import ServiceError

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited", 500: "internal_error", 503: "unavailable",
}
TITLES = {
    400: _l("This request could not be understood"),
    401: _l("Please sign in"),
    403: _l("You may not do this"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    409: _l("This conflicts with existing data"),
    413: _l("This file is too large"),
    422: _l("Some information is not valid"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
}
MESSAGES = {
    400: _l("Please go back, check what you entered and try again."),
    401: _l("You need to sign in to see this page."),
    403: _l("Your account does not have access to this."),
    404: _l("The page you asked for does not exist or is not shared with you."),
    413: _l("The file you sent is larger than we accept. Please choose a smaller one."),
    429: _l("Please wait a moment before trying again."),
    500: _l("The error has been logged. Please try again in a moment."),
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.endswith(".json")


def error_response(status: int, code: str | None = None, message: str | None = None, fields=None, headers=None):
    code = code or CODES.get(status, "error")
    if wants_json():
        body = {"error": code, "message": str(message or TITLES.get(status, code))}
        if fields:
            body["fields"] = fields
        response = jsonify(body)
    else:
        title = TITLES.get(status, TITLES[400])
        try:
            response = render_template("errors/error.html", status=status, code=code, title=title,
                                       message=message or MESSAGES.get(status, ""))
        except Exception:  # noqa: BLE001 - the error page itself must never fail
            response = f"{status} {title}"

    return response, status, headers or {}


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        if isinstance(exc, CSRFError):
            return error_response(400, "csrf_failed", _l("The form expired or was not sent from this site. "
                                                         "Please reload the page and try again."))
        headers = {}
        if exc.code == 429 and exc.get_headers():
            headers = {k: v for k, v in exc.get_headers() if k.lower() == "retry-after"}
        if exc.code == 405:
            headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        # werkzeug's descriptions are not written for the person: services raise ServiceError for that.
        return error_response(exc.code or 500, headers=headers)

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(AccountSuspended)
    def account_suspended(exc: AccountSuspended):
        """Wherever a suspended account is stopped (a session starting, a token), its pages say so plainly."""
        db.session.rollback()
        if wants_json():
            return error_response(exc.status, exc.code, exc.message)
        from app.auth.utils import suspended_page  # noqa: PLC0415 - app.auth imports the error helpers

        return suspended_page()

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500)

    @app.teardown_request
    def rollback_on_error(exc):
        if exc is not None:
            db.session.rollback()

    app.errorhandler(InternalServerError)(unexpected)
