"""One-time tokens sent by e-mail: verify the address, reset the password, confirm a new address.

The mechanism only; the account flows that use it (when a link may be sent, what following it does)
live in ``app.services.accounts``. Like every service, these functions flush and never commit.

- 256 random bits in the link; only their SHA-256 is stored (``tokens.hash_token``, shared with the
  API tokens: that much entropy needs no slow hash, and the lookup is one indexed equality).
- Single use: a conditional UPDATE, so two concurrent clicks cannot both win.
- Expiring: ``ttl`` is the one place that says how long a link lives; the token's expiry and the
  duration the e-mail states both come from it, so a mail never announces another lifetime.
- A new token voids the earlier unused ones of the same purpose: only the latest link counts.
"""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import OneTimeToken, User
from app.services.errors import ServiceError
from app.services.tokens import hash_token

# Each purpose: the setting that overrides its lifetime, and the lifetime when that setting is absent.
LIFETIMES = {
    "verify_email": ("TOKEN_TTL_VERIFY", timedelta(days=3)),
    "change_email": ("TOKEN_TTL_VERIFY", timedelta(days=3)),
    "reset_password": ("TOKEN_TTL_RESET", timedelta(hours=1)),
}
PURPOSES = tuple(LIFETIMES)


def ttl(purpose: str) -> timedelta:
    """How long a link of this purpose works (the settings ``TOKEN_TTL_*``, else the defaults above)."""
    setting, default = LIFETIMES[purpose]
    config = current_app.config if has_app_context() else {}
    return config.get(setting) or default


def invalid_token() -> ServiceError:
    return ServiceError(str(_l("This link is not valid or has expired.")), code="invalid_token")


def void_tokens(session: Session, user: User, purpose: str) -> None:
    """Make every unused token of this purpose unusable (a newer link, a changed password or address)."""
    session.execute(update(OneTimeToken)
                    .where(OneTimeToken.user_id == user.id, OneTimeToken.purpose == purpose,
                           OneTimeToken.used_at.is_(None))
                    .values(used_at=utcnow()).execution_options(synchronize_session=False))


def issue_token(session: Session, user: User, purpose: str, payload: str | None = None) -> str:
    """Create a token and return the raw value (for the e-mailed link); older unused ones stop working."""
    if purpose not in LIFETIMES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    void_tokens(session, user, purpose)
    session.add(OneTimeToken(id=uuid.uuid4(), user_id=user.id, purpose=purpose, token_hash=hash_token(raw),
                             payload=payload, created_at=now, expires_at=now + ttl(purpose)))
    session.flush()
    return raw


def newest_token_time(session: Session, user: User, purpose: str) -> datetime | None:
    """When the latest token of this purpose was issued (used or not), to space out the mails."""
    return session.scalar(select(func.max(OneTimeToken.created_at))
                          .where(OneTimeToken.user_id == user.id, OneTimeToken.purpose == purpose))


def peek_token(session: Session, raw, purpose: str) -> OneTimeToken:
    """The token if it is still usable, without using it (to show a confirmation page)."""
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        raise invalid_token()
    token = session.scalars(select(OneTimeToken).where(OneTimeToken.token_hash == hash_token(raw),
                                                       OneTimeToken.purpose == purpose)).first()
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise invalid_token()
    return token


def consume_token(session: Session, raw, purpose: str) -> OneTimeToken:
    """Use a token once: the conditional UPDATE lets exactly one of two concurrent requests succeed."""
    token = peek_token(session, raw, purpose)
    now = utcnow()
    result = session.execute(update(OneTimeToken)
                             .where(OneTimeToken.id == token.id, OneTimeToken.used_at.is_(None))
                             .values(used_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise invalid_token()
    token.used_at = now
    session.flush()
    return token
