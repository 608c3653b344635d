"""The mails of attestation requests: the referee's request (and reminders), the owner's answer notice.

Sent after the route committed and after its response (``app.mail.send_after_response``): the referee's
in the request's language (the referee's account's if they have one, else the owner's), the owner's in
the owner's language. A failure is logged and never undoes the request: the owner can send a reminder.
"""
from __future__ import annotations

import logging

from flask import current_app, render_template
from flask_babel import force_locale, lazy_gettext as _l

from app.credentials import endorse_mail
from app.mail import send_after_response, send_mail
from app.models.attestations import AttestationRequest
from app.services.attestations import LINK_TTL

log = logging.getLogger(__name__)


def _link(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def send_request(request: AttestationRequest, raw: str, *, reminder: bool = False) -> None:
    if request.purpose == "endorsement":  # the same request, another mail (app.credentials.endorse_mail)
        return endorse_mail.send_request(request, raw, reminder=reminder)
    owner = request.portfolio.display_name or request.portfolio.owner.email
    context = {"owner": owner, "referee": request.referee_name, "title": request.item_title,
               "message": request.message, "link": _link(f"/attest/{raw}"), "days": LINK_TTL.days,
               "reminder": reminder}
    subject = _l("Reminder: %(owner)s asks you for an attestation", owner=owner) if reminder else \
        _l("%(owner)s asks you for an attestation", owner=owner)
    send_after_response(_render_and_send, request.referee_email, request.locale, subject, "request", context)


def notify_owner(request: AttestationRequest) -> None:
    owner = request.portfolio.owner
    context = {"referee": request.referee_name, "title": request.item_title, "status": request.status,
               "reason": request.decline_reason, "page": _link(f"/attestations/{request.id}"),
               "requests": _link("/portfolio/attestations")}
    subject = _l("%(referee)s confirmed “%(title)s”", referee=request.referee_name, title=request.item_title) \
        if request.status == "confirmed" else \
        _l("%(referee)s declined to confirm “%(title)s”", referee=request.referee_name, title=request.item_title)
    send_after_response(_render_and_send, owner.email, owner.locale or request.locale, subject, "answered",
                        context)


def _render_and_send(to: str, locale: str, subject, template: str, context: dict) -> None:
    try:
        with force_locale(locale):
            subject = str(subject)
            body = render_template(f"attestations/email/{template}.txt", subject=subject, **context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("Could not send the %r mail to %s", template, to)
