"""``/api/v1/account``: the token owner's account, as on the settings pages.

Each route calls the same ``app.services.accounts`` function (and sends the same mail) as its page:
preferences (``set_preferences``), password (``change_password``), e-mail (``request_email_change``
then ``emails.email_change``), "sign out everywhere" (``end_all_sessions``) and deletion
(``delete_account``).

Two choices differ from the pages, because a bearer token is not a person at a keyboard:

- A wrong current password answers 403 ``invalid_credentials`` (the page shows it under the field).
  As on the pages, the service checks it once with the sign-in backoff (``accounts.confirm_password``):
  it counts towards the per-account lock, and a locked account is refused even with the right
  password. A stolen token alone therefore cannot guess the password (and take the account over)
  faster than the sign-in page allows; the per-IP budget is also the sign-in page's (shared scope
  ``login``).
- Changing the password ends every browser session (``session_version``, as the page does) but, by
  default, leaves API tokens working: they are separate credentials, each listed and revocable on its
  own, and the client that changed the password would otherwise lose its own token mid-flight. Send
  ``"revoke_tokens": true`` (the page's "Also revoke my API tokens") to revoke them all, this one
  included, or revoke one (``DELETE /api/v1/tokens/{id}``). A reset by e-mail always revokes them all.
  Deleting the account deletes its tokens with it.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.api.schemas import (
    AccountSchema, AccountUpdateSchema, EmailChangeSchema, ErrorSchema, PasswordChangeSchema, PasswordSchema,
    PendingEmailSchema,
)
from app.auth import emails
from app.extensions import db, limiter
from app.services import accounts
from app.services.errors import ServiceError, ValidationFailed
from app.services.validation import Field, clean

# The sign-in page's per-IP budget (same scope and limit, hence the same counter), for every method:
# the account deletion is a DELETE, which ``app.auth.routes.login_budget`` (POST only) would not count.
password_budget = limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_LOGIN"], scope="login")
# Shape only (text, length, no unknown field); ``accounts.set_preferences`` decides what is allowed.
PREFERENCE_RULES = {"locale": Field(max_length=8), "timezone": Field(max_length=64)}
WRONG_PASSWORD = "Wrong password, or checks paused after repeated failures (invalid_credentials)."


def body_fields(data: dict, required: tuple[str, ...],
                optional: dict[str, Callable[[object], str | None]] | None = None) -> dict:
    """Check the shape of a body that carries passwords (here and in ``POST /api/v1/tokens``): each
    ``required`` field a non-empty string, each ``optional`` one absent, null or passing its check
    (which returns an error message, or None), and nothing else. Every problem is listed at once;
    the service checks the rest.

    Values are returned exactly as sent (absent optional fields as None): a password is never
    stripped or normalised, which ``validation.clean`` would do to text.
    """
    optional = optional or {}
    errors = {name: str(_l("Unknown field.")) for name in sorted(set(data) - set(required) - set(optional))}
    for name in required:
        if not isinstance(data.get(name), str) or not data[name]:
            errors[name] = str(_l("This field is required."))
    for name, check in optional.items():
        message = check(data[name]) if data.get(name) is not None else None
        if message:
            errors[name] = message
    if errors:
        raise ValidationFailed(str(_l("Some information is not valid.")), fields=errors)
    return {name: data.get(name) for name in (*required, *optional)}


def _boolean(value) -> str | None:
    return None if isinstance(value, bool) else str(_l("Must be true or false."))


@contextmanager
def _refusal_counts():
    """Commit a refused password before the error answers (the handler rolls back): it must count."""
    try:
        yield
    except ServiceError as exc:
        if exc.code == "invalid_credentials":
            db.session.commit()
        raise


def _account() -> dict:
    user = api_user()
    return {"email": user.email, "email_verified": user.is_verified, "locale": user.locale,
            "timezone": user.timezone, "created_at": user.created_at}


def make_blueprint() -> Blueprint:
    blp = Blueprint("account", __name__, url_prefix="/api/v1/account",
                    description="Your account: address, language and time zone, password, deletion.")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.response(200, AccountSchema)
    @blp.doc(summary="Read your account")
    @document_errors(blp, 401)
    def show():
        return _account()

    @blp.route("", methods=["PATCH"])
    @blp.response(200, AccountSchema)
    @blp.doc(summary="Change your language or time zone", description=(
        'Only the fields sent change; "" or null goes back to the default.'),
        **json_body(AccountUpdateSchema))
    @document_errors(blp, 400, 401, 415, 422)
    def update():
        user = api_user()
        values = clean(PREFERENCE_RULES, json_object(), partial=True)
        accounts.set_preferences(db.session, user, locale=values.get("locale", user.locale),
                                 timezone=values.get("timezone", user.timezone))
        db.session.commit()
        return _account()

    @blp.route("/password", methods=["POST"])
    @password_budget
    @blp.response(204)
    @blp.doc(summary="Change your password", description=(
        "Every browser session ends. API tokens, this one included, keep working unless "
        "`revoke_tokens` is true (default false), which revokes them all. A notice is mailed to your "
        "address. A wrong current password counts towards the account's sign-in backoff."),
        **json_body(PasswordChangeSchema))
    @document_errors(blp, 400, 401, 415, 422, 429)
    @blp.alt_response(403, schema=ErrorSchema, description=WRONG_PASSWORD)
    def change_password():
        body = body_fields(json_object(), ("current_password", "new_password"), {"revoke_tokens": _boolean})
        user = api_user()
        with _refusal_counts():
            accounts.change_password(db.session, user, body["current_password"], body["new_password"],
                                     revoke_tokens=bool(body["revoke_tokens"]))
        db.session.commit()
        emails.password_changed(user)
        return None

    @blp.route("/email", methods=["POST"])
    @password_budget
    @blp.response(202, PendingEmailSchema)
    @blp.doc(summary="Change your e-mail address", description=(
        "A confirmation link is mailed to the new address; the address changes only when it is followed."),
        **json_body(EmailChangeSchema))
    @document_errors(blp, 400, 401, 415, 422, 429)
    @blp.alt_response(403, schema=ErrorSchema, description=WRONG_PASSWORD + " Or the current address is not "
                      "verified yet (email_unverified).")
    def change_email():
        body = body_fields(json_object(), ("new_email", "password"))
        user = api_user()
        with _refusal_counts():
            new_email, raw = accounts.request_email_change(db.session, user, body["password"],
                                                           body["new_email"])
        db.session.commit()
        emails.email_change(user, new_email, raw)
        return {"new_email": new_email}

    @blp.route("/sessions", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Sign out every browser session", description=(
        "As \"sign out everywhere\" on the settings page (a lost phone, a shared computer). API tokens "
        "are not sessions and keep working."))
    @document_errors(blp, 401)
    def end_sessions():
        accounts.end_all_sessions(db.session, api_user())
        db.session.commit()
        return None

    @blp.route("", methods=["DELETE"])
    @password_budget
    @blp.response(204)
    @blp.doc(summary="Delete your account and everything in it", description=(
        "Irreversible: the portfolio, its files and every API token (this one included) go with the "
        "account. The body carries your current password."), **json_body(PasswordSchema))
    @document_errors(blp, 400, 401, 415, 422, 429)
    @blp.alt_response(403, schema=ErrorSchema, description=WRONG_PASSWORD)
    def delete():
        password = body_fields(json_object(), ("password",))["password"]
        with _refusal_counts():
            accounts.delete_account(db.session, api_user(), password)
        db.session.commit()
        return None

    return blp
