"""The e-mails of an organisation request: to the platform admins when it arrives, and to the requester
when one of them decided.

Sent after the response, in the requester's language (as the account e-mails of ``app.auth.emails``);
a delivery failure is logged and never undoes the decision.
"""
from __future__ import annotations

import logging

from flask import current_app, render_template, url_for
from flask_babel import force_locale, lazy_gettext as _l

from app.mail import send_after_response, send_mail
from app.models import Organisation, User

log = logging.getLogger(__name__)


def decision(org: Organisation) -> None:
    requester = org.created_by
    if requester is None:
        return
    approved = org.status == "approved"
    subject = (_l("Your organisation “%(name)s” is approved", name=org.name) if approved else
               _l("Your request to open “%(name)s” was refused", name=org.name))
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("issuing.organisation", org_id=org.id)
    locale = requester.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")
    send_after_response(_render_and_send, requester.email, locale, subject,
                        "approved" if approved else "refused",
                        {"name": org.name, "link": link, "reason": org.refusal_reason or ""})


def new_request(org: Organisation, admins: list[User]) -> None:
    """Tell each platform admin that a request awaits a decision (name and link only)."""
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("issuing.admin_review", org_id=org.id)
    for admin in admins:
        locale = admin.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")
        send_after_response(_render_and_send, admin.email, locale,
                            _l("A request to open “%(name)s” awaits your decision", name=org.name),
                            "new_request", {"name": org.name, "link": link, "reason": ""})


def _render_and_send(to: str, locale: str, subject, template: str, context: dict) -> None:
    try:
        with force_locale(locale):
            subject = str(subject)
            body = render_template(f"issuing/email/{template}.txt", **context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - the decision stands; the requester also sees it on the page
        log.exception("Could not send the organisation decision mail to %s", to)
