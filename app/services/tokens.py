"""Personal access tokens for the JSON API: created, listed, revoked, and checked on every request.

The raw token (``sil_`` + 43 URL-safe characters, 256 bits of randomness) is shown once, at creation;
only its SHA-256 is stored. A token has that much entropy, so a fast unsalted hash is the right tool:
it cannot be guessed, and the lookup is one indexed equality on the hash (no comparison of secrets in
Python, hence no timing leak). ``prefix`` keeps a few characters so that the owner can tell tokens apart.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from app import policy
from app.database import utcnow
from app.models import ApiToken, User
from app.services import activity
from app.services.errors import NotFound, ValidationFailed
from app.services.validation import CONTROL_CHARS

TOKEN_PREFIX = "sil_"
NAME_MAX = 80
# ``last_used_at`` is informative: writing it at most once a minute spares a write per API request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Set in ``session.info`` when ``authenticate_token`` wrote ``last_used_at``, so that a caller that would
# not otherwise commit (a read-only API call) knows that it has something to commit.
TOUCHED = "sillage.api_token_touched"
# Set in ``session.info`` when the token is valid but its owner is suspended: the API then answers 403
# ``account_suspended`` (as ``POST /api/v1/tokens`` with the right password does) instead of a bare 401.
SUSPENDED = "sillage.api_token_owner_suspended"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _clean_name(name) -> str:
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"name": str(_l("Must be text."))})
    name = name.strip()
    if CONTROL_CHARS.search(name):
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"name": str(_l("Contains characters that are not allowed."))})
    if len(name) > NAME_MAX:
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"name": str(_l("At most %(n)d characters.", n=NAME_MAX))})
    return name or str(_l("API token"))


def create_token(session: Session, actor: User, name: str, expires_at: datetime | None = None
                 ) -> tuple[ApiToken, str]:
    """Create a token for ``actor``; return it with the raw value, which is never retrievable again."""
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be an aware UTC datetime")
        if expires_at <= utcnow():
            raise ValidationFailed(str(_l("Some information is not valid.")),
                                   fields={"expires_at": str(_l("The expiry must be in the future."))})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(id=uuid.uuid4(), user_id=actor.id, name=_clean_name(name), token_hash=hash_token(raw),
                     prefix=raw[len(TOKEN_PREFIX):len(TOKEN_PREFIX) + 8], created_at=utcnow(),
                     expires_at=expires_at)
    session.add(token)
    session.flush()
    return token, raw


def list_tokens(session: Session, actor: User, *, after: tuple[datetime, uuid.UUID] | None = None,
                limit: int | None = None) -> list[ApiToken]:
    """The actor's tokens, newest first, revoked and expired ones included (the owner sees history).

    ``after`` is the (created_at, id) of the last token already seen: the next page is sought in SQL
    (keyset pagination, as ``portfolio.list_items``), so it never depends on that token still existing.
    """
    query = (select(ApiToken).where(ApiToken.user_id == actor.id)
             .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    if after is not None:
        created_at, token_id = after
        query = query.where(or_(ApiToken.created_at < created_at,
                                and_(ApiToken.created_at == created_at, ApiToken.id < token_id)))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def revoke_token(session: Session, actor: User, token_id) -> ApiToken:
    """Revoke one of the actor's tokens; another person's (or an unknown) id is ``NotFound``.

    Revoking twice is harmless and keeps the first revocation time.
    """
    key = policy.parse_id(token_id)
    token = session.get(ApiToken, key) if key is not None else None
    if token is None or token.user_id != actor.id:
        raise NotFound(str(_l("Not found.")))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


# Every API request runs this query: built once (with the owner and the portfolio, which the API's
# item routes read, in the same round trip), as building it with its loader options cost more than
# SQLite takes to answer it.
_BY_HASH = (select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))
            .options(joinedload(ApiToken.user).joinedload(User.portfolio)))


def authenticate_token(session: Session, raw) -> User | None:
    """The user a raw bearer token belongs to, or None if it is unknown, revoked or expired."""
    if not isinstance(raw, str) or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = session.scalars(_BY_HASH, {"token_hash": hash_token(raw)}).first()
    if token is None or not token.is_active:
        return None
    if not token.user.is_active:
        session.info[SUSPENDED] = True
        return None
    now = utcnow()
    if token.last_used_at is None or token.last_used_at.date() != now.date():
        # The indicators count a person's API use once a day; a use of this token today already did
        # (every use runs this), so the day's first use alone pays the per-day check's query.
        activity.record(session, token.user, "api_use")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.flush()
        session.info[TOUCHED] = True
    return token.user
