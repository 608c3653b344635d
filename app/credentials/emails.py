"""The recipient's mails: "a credential is in your portfolio" or "claim your credential".

Sent after the route committed and after its response (``app.mail.send_after_response``), in the
recipient's language (their account's, else the site's default), with absolute links to BASE_URL. A
failure is logged and never undoes the award: the credential exists, and its page says so.
"""
from __future__ import annotations

import logging

from flask import current_app, render_template
from flask_babel import force_locale, lazy_gettext as _l

from app.mail import send_after_response, send_mail
from app.services.awarding import CLAIM_TTL, Awarded

log = logging.getLogger(__name__)


def _link(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def notify(awarded: Awarded) -> None:
    """Tell the recipient: the credential landed in their portfolio, or here is the claim link."""
    credential = awarded.credential
    locale = (awarded.recipient.locale if awarded.recipient else None) or \
        current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")
    context = {"achievement": credential.achievement.name, "organisation": credential.organisation.name,
               "page": _link(f"/credentials/{credential.id}")}
    if awarded.claim_token:
        context.update(claim=_link(f"/claim/{awarded.claim_token}"), expires_days=CLAIM_TTL.days)
        template, subject = "claim", _l("You have been awarded a credential: claim it")
    else:
        context.update(portfolio=_link("/portfolio/credentials"))
        template, subject = "received", _l("A new credential is in your portfolio")
    send_after_response(_render_and_send, credential.recipient_email, locale, subject, template, context)


def _render_and_send(to: str, locale: str, subject, template: str, context: dict) -> None:
    try:
        with force_locale(locale):
            subject = str(subject)
            body = render_template(f"credentials/email/{template}.txt", subject=subject, **context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("Could not send the %r mail to %s", template, to)
