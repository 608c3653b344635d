"""E-mail digests of comments, messages and proposals: one mail per person per run, never one per message.

A periodic job (every ``DIGEST_MINUTES``) gathers what nobody was told yet (``services.collab
.collect_digests``), commits the marks, then sends one mail per recipient in the recipient's language
(their account's, else the instance's default). Marking before sending makes it at most once: a mail
server down loses a digest (logged), never floods anyone with repeats; everything stays on the site.
A message read on the site before the run is not mailed at all.
"""
from __future__ import annotations

import logging

from flask import current_app, render_template
from flask_babel import force_locale, gettext as _

from app import jobs
from app.extensions import db
from app.mail import send_mail
from app.services import collab as service

log = logging.getLogger(__name__)
DIGEST_MINUTES = 10


def _link(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def send_digests() -> int:
    """Send every pending digest; return how many mails went out."""
    digests = service.collect_digests(db.session)
    db.session.commit()
    sent = 0
    for digest in digests:
        locale = digest.user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
        try:
            with force_locale(locale):
                subject = _("Sillage: %(count)d new item(s) in your shared portfolios", count=digest.count)
                body = render_template("collab/email/digest.txt", digest=digest, link=_link, subject=subject)
            send_mail(digest.user.email, subject, body)
            sent += 1
        except Exception:  # noqa: BLE001 - see the module docstring
            log.exception("Could not send the collaboration digest to %s", digest.user.email)
    return sent


@jobs.periodic_task(jobs.crontab(minute=f"*/{DIGEST_MINUTES}"))
def send_digests_job() -> None:
    sent = send_digests()
    if sent:
        log.info("Sent %s collaboration digest(s)", sent)
