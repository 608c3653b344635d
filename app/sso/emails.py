"""The notice sent when a sign-in service gets linked to an account by its verified e-mail address.

Nobody clicked anything in Sillage for that link: the provider vouched for the address and the next
sign-in linked it. Whoever controls that provider account can now enter the Sillage account, so its
owner must hear of it, with the way to undo it. Sent after the route committed and after its response
(``app.mail.send_after_response``), in the owner's language; a delivery failure is logged, never raised.
"""
from __future__ import annotations

import logging

from flask import current_app, render_template, url_for
from flask_babel import force_locale, lazy_gettext as _l

from app.mail import send_after_response, send_mail
from app.models import User

log = logging.getLogger(__name__)


def linked_by_email(user: User, provider_label: str, provider_email: str | None) -> None:
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")
    settings = current_app.config["BASE_URL"].rstrip("/") + url_for("sso.settings")
    send_after_response(_render_and_send, user.email, locale,
                        {"provider": provider_label, "provider_email": provider_email or user.email,
                         "settings_link": settings, "reset_link": current_app.config["BASE_URL"].rstrip("/")
                         + url_for("auth.forgot_password")})


def _render_and_send(to: str, locale: str, context: dict) -> None:
    try:
        with force_locale(locale):
            subject = str(_l("A sign-in service was linked to your account"))
            body = render_template("sso/email/linked.txt", **context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("Could not send the sign-in service notice to %s", to)
