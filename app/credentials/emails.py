"""The recipient's mails: "a credential is in your portfolio" or "claim your credential".

Sent after the route committed and after its response (``app.mail.send_after_response``), in the
recipient's language (their account's, else the site's default), with absolute links to BASE_URL. A
failure is logged and never undoes the award: the credential exists, and its page says so.
"""
from __future__ import annotations

import logging
import secrets

from flask import current_app, render_template
from flask_babel import force_locale, lazy_gettext as _l

from app.mail import send_after_response, send_mail
from app.services.awarding import CLAIM_TTL, Awarded

log = logging.getLogger(__name__)


def _link(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def notify(awarded: Awarded, rendered: dict | None = None) -> None:
    """Tell the recipient: the credential landed in their portfolio, or here is the claim link.

    ``rendered``: a cache kept by a sender of many such mails (a bulk award's job), in which each
    template is rendered once per language (see ``_render_cached``); without it, rendered for this mail."""
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
    send_after_response(_render_and_send, credential.recipient_email, locale, subject, template, context,
                        rendered)


# What differs from one recipient to the next; every other value of the context is part of the cache key.
PER_RECIPIENT = ("page", "claim", "portfolio")


def _render(locale: str, subject, template: str, context: dict) -> tuple[str, str]:
    with force_locale(locale):
        subject = str(subject)
        return subject, render_template(f"credentials/email/{template}.txt", subject=subject, **context)


def _render_cached(rendered: dict, locale: str, subject, template: str, context: dict) -> tuple[str, str]:
    """The mail rendered once per language, template and shared values, with a unique marker where each
    recipient's own link goes, then the links put in by plain replacement. Exact because the mail
    templates are plain text (``.txt``: Jinja does not escape them) and use the links as they are; a
    template that would transform a link (its marker not found whole) is rendered per mail instead."""
    own = {name: context[name] for name in PER_RECIPIENT if name in context}
    key = (locale, template, str(subject), tuple(sorted((k, str(v)) for k, v in context.items() if k not in own)))
    if key not in rendered:
        marks = {name: f"[[sillage-{name}-{secrets.token_hex(8)}]]" for name in own}
        subject_text, body = _render(locale, subject, template, {**context, **marks})
        usable = all(mark in body and mark not in subject_text for mark in marks.values())
        rendered[key] = (subject_text, body, marks) if usable else None
    if rendered[key] is None:
        return _render(locale, subject, template, context)
    subject_text, body, marks = rendered[key]
    for name, mark in marks.items():
        body = body.replace(mark, own[name])
    return subject_text, body


def _render_and_send(to: str, locale: str, subject, template: str, context: dict,
                     rendered: dict | None = None) -> None:
    try:
        if rendered is None:
            subject, body = _render(locale, subject, template, context)
        else:
            subject, body = _render_cached(rendered, locale, subject, template, context)
        send_mail(to, subject, body)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("Could not send the %r mail to %s", template, to)
