"""Outgoing mail: an SMTP relay when ``SMTP_URL`` is set, else ``.eml`` files in ``<instance>/outbox/``.

The embedded default needs no mail server: each message is written as a standard RFC 5322 file (open it
with any mail client) and its links are logged at INFO, so a person running Sillage on a laptop can
still verify an address or reset a password. ``SMTP_URL`` looks like
``smtp://user:password@host:587?starttls=1`` or ``smtps://user:password@host:465``.

Mails asked for during a request go out after its response (``send_after_response``), so that no
answer waits for them, and none takes longer because an account exists.
"""
from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timezone
from typing import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, Response, after_this_request, current_app, has_request_context
from flask_mail import Message

from app.extensions import mail

log = logging.getLogger(__name__)

LINK = re.compile(r"https?://\S+")
_CONFIGURED = "sillage_mail_smtp"


def smtp_settings(url: str) -> dict:
    """Flask-Mail settings from an ``smtp://`` or ``smtps://`` URL (user and password URL-encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:port or smtps://...")
    query = parse_qs(parts.query)
    ssl = parts.scheme == "smtps"
    return {
        "MAIL_SERVER": parts.hostname,
        "MAIL_PORT": parts.port or (465 if ssl else 25),
        "MAIL_USERNAME": unquote(parts.username) if parts.username else None,
        "MAIL_PASSWORD": unquote(parts.password) if parts.password else None,
        "MAIL_USE_SSL": ssl,
        "MAIL_USE_TLS": not ssl and query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes", "on"),
        "MAIL_SUPPRESS_SEND": False,  # an SMTP_URL given is meant to be used, tests included
    }


def _configure_smtp(app: Flask) -> None:
    """Bind Flask-Mail to the relay once, on first use (the URL may be set after the app is built)."""
    if app.extensions.get(_CONFIGURED) == app.config["SMTP_URL"]:
        return
    app.config.update(smtp_settings(app.config["SMTP_URL"]))
    app.config.setdefault("MAIL_DEFAULT_SENDER", app.config.get("MAIL_SENDER"))
    mail.init_app(app)
    app.extensions[_CONFIGURED] = app.config["SMTP_URL"]


def send_after_response(send: Callable[..., object], *args) -> None:
    """Call ``send(*args)`` once the response has been sent; at once outside a request (CLI, jobs).

    Why: a mail costs a template, a file write or a whole SMTP round trip. Sent before answering, it
    makes the answer slower exactly when the address has an account (a reset, or registering a taken
    address), which tells anyone timing the answer that it does. After the response, every answer
    takes the same time, and no page waits for the mail server.

    The WSGI server calls the response's ``close`` once the body is out (PEP 3333: even if the client
    went away). The request is over by then, so ``send`` runs in a fresh application context: it must
    take plain values (not objects of the request's database session) and get its URLs already built.
    A failure is logged and never raised: the answer has already gone.
    """
    if not has_request_context():
        _run(send, args)
        return
    app = current_app._get_current_object()

    def after_close() -> None:
        with app.app_context():
            _run(send, args)

    @after_this_request
    def register(response: Response) -> Response:
        response.call_on_close(after_close)
        return response


def _run(send: Callable[..., object], args: tuple) -> None:
    try:
        send(*args)
    except Exception:  # noqa: BLE001 - see send_after_response; the arguments may hold secret links
        log.exception("Could not send a mail (%s)", getattr(send, "__qualname__", send))


def send_mail(to: str, subject: str, body_text: str, body_html: str | None = None) -> None:
    """Send one message now. Raises on SMTP failure; callers that must not fail catch and log."""
    app = current_app._get_current_object()
    sender = app.config.get("MAIL_SENDER") or "Sillage <no-reply@localhost>"
    if app.config.get("SMTP_URL"):
        _configure_smtp(app)
        mail.send(Message(subject=subject, recipients=[to], body=body_text, html=body_html, sender=sender))
        log.info("Mail %r sent to %s", subject, to)
        return
    _write_outbox(app, sender, to, subject, body_text, body_html)


def _write_outbox(app: Flask, sender: str, to: str, subject: str, body_text: str,
                  body_html: str | None) -> Path:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="sillage.local")
    message.set_content(body_text)
    if body_html:
        message.add_alternative(body_html, subtype="html")
    outbox = Path(app.instance_path) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox / f"{stamp}-{uuid.uuid4()}.eml"
    path.write_bytes(message.as_bytes())
    links = LINK.findall(body_text)
    log.info("No SMTP_URL: mail %r to %s written to %s%s", subject, to, path,
             "".join(f"\n  link: {link}" for link in links))
    return path
