"""The invitation mail, sent after the route committed and after its response, in the language the
owner chose for the invitee (their own by default). A failure is logged: the owner can send it again."""
from __future__ import annotations

import logging

from flask import current_app, render_template
from flask_babel import force_locale, lazy_gettext as _l

from app.mail import send_after_response, send_mail
from app.models import Grant
from app.services.grants import INVITATION_TTL

log = logging.getLogger(__name__)


def send_invitation(grant: Grant, raw: str) -> None:
    portfolio = grant.portfolio
    owner = portfolio.display_name or portfolio.owner.email
    context = {"owner": owner, "role": grant.role, "message": grant.message, "days": INVITATION_TTL.days,
               "link": current_app.config["BASE_URL"].rstrip("/") + f"/invitations/{raw}",
               "expires_at": grant.expires_at}
    subject = _l("%(owner)s shares their portfolio with you", owner=owner)
    send_after_response(_render_and_send, grant.email, grant.locale, subject, context)


def _render_and_send(to: str, locale: str, subject, context: dict) -> None:
    try:
        with force_locale(locale):
            subject = str(subject)
            body = render_template("sharing/email/invitation.txt", subject=subject, **context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("Could not send the invitation mail to %s", to)
