"""The account e-mails, each written in the recipient's language with absolute links to BASE_URL.

Mails go out after the route committed, and after its response (``app.mail.send_after_response``):
no answer waits for them, and none takes longer because an address has an account. A delivery
failure is logged and never undoes the action (the person can ask for a new link), so these helpers
do not raise. Everything a mail needs is read when it is asked for, in the request (links, address,
language); rendering and sending happen later, in a request-less application context.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app, render_template, url_for
from flask_babel import force_locale, format_timedelta, lazy_gettext as _l

from app.mail import send_after_response, send_mail
from app.models import User
from app.services.one_time_tokens import ttl

log = logging.getLogger(__name__)


def _link(endpoint: str, **values) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _deliver(to: str, user: User, subject, template: str, **context) -> None:
    """Send one mail to ``to`` in ``user``'s language, after the response (``subject`` is a lazy
    string; durations are written out in words in that language too)."""
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")
    send_after_response(_render_and_send, to, locale, subject, template, context)


def _render_and_send(to: str, locale: str, subject, template: str, context: dict) -> None:
    try:
        with force_locale(locale):
            subject = str(subject)
            context = {k: format_timedelta(v) if isinstance(v, timedelta) else v for k, v in context.items()}
            body = render_template(f"auth/email/{template}.txt", subject=subject, **context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("Could not send the %r mail to %s", template, to)


def verification(user: User, raw: str, next_url: str | None = None) -> None:
    """``next_url`` (a checked path on this site, e.g. the invitation that brought them) rides on the link,
    so that confirming the address takes the person back where they were going."""
    _deliver(user.email, user, _l("Confirm your e-mail address"), "verify",
             link=_link("auth.verify_email", token=raw, next=next_url), expires=ttl("verify_email"))


def register_attempt(user: User, raw: str) -> None:
    """Sent instead of an error when someone registers with an address that already has an account:
    a sign-in link, and a reset link (``raw``) in case its owner forgot having an account."""
    _deliver(user.email, user, _l("Someone tried to create an account with your address"), "register_attempt",
             login_link=_link("auth.login"), reset_link=_link("auth.reset_password", token=raw),
             expires=ttl("reset_password"))


def password_reset(user: User, raw: str) -> None:
    _deliver(user.email, user, _l("Reset your password"), "reset_password",
             link=_link("auth.reset_password", token=raw), expires=ttl("reset_password"))


def password_changed(user: User) -> None:
    _deliver(user.email, user, _l("Your password has been changed"), "password_changed",
             reset_link=_link("auth.forgot_password"))


def email_change(user: User, new_email: str, raw: str) -> None:
    """Sent to the NEW address: following the link proves it belongs to the account holder."""
    _deliver(new_email, user, _l("Confirm your new e-mail address"), "change_email",
             link=_link("settings.confirm_email", token=raw), expires=ttl("change_email"),
             new_email=new_email)


def email_changed_notice(user: User, old_email: str) -> None:
    """Sent to the OLD address once the change is done, so that a hijack does not go unnoticed."""
    _deliver(old_email, user, _l("Your e-mail address has been changed"), "email_changed",
             new_email=user.email)
