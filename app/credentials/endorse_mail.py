"""The endorsement request mail (and its reminders): like an attestation's, but the link opens
``/endorse/<token>`` and says that the endorser signs in. Sent after the response; a failure is logged
and never undoes the request (the owner can send a reminder)."""
from __future__ import annotations

import logging

from flask import current_app, render_template
from flask_babel import force_locale, lazy_gettext as _l

from app.mail import send_after_response, send_mail
from app.services.attestations import LINK_TTL

log = logging.getLogger(__name__)


def send_request(request, raw: str, *, reminder: bool = False) -> None:
    owner = request.portfolio.display_name or request.portfolio.owner.email
    context = {"owner": owner, "referee": request.referee_name, "title": request.item_title,
               "message": request.message, "days": LINK_TTL.days, "reminder": reminder,
               "link": current_app.config["BASE_URL"].rstrip("/") + f"/endorse/{raw}"}
    subject = _l("Reminder: %(owner)s asks for your endorsement", owner=owner) if reminder else \
        _l("%(owner)s asks for your endorsement", owner=owner)
    send_after_response(_send, request.referee_email, request.locale, subject, context)


def _send(to: str, locale: str, subject, context: dict) -> None:
    try:
        with force_locale(locale):
            subject = str(subject)
            body = render_template("credentials/email/endorse_request.txt", subject=subject, **context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("Could not send the endorsement request to %s", to)
