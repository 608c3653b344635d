"""Share links: an unguessable address (``/s/<token>``) to one page or one CV, for people without an account.

- The token is 256 random bits (``secrets.token_urlsafe(32)``); only its SHA-256 is stored
  (``tokens.hash_token``, as API tokens and e-mailed links): that much entropy needs no slow hash, and
  the lookup is one indexed equality on the hash. The database compares hashes, never the token, so
  its timing says nothing about the token; the found row's hash is compared again with
  ``hmac.compare_digest`` (constant time), which also keeps that property if the lookup ever changes.
- A password, when set, is an Argon2id hash (``accounts.hash_password``), compared in constant time by
  argon2 itself. Wrong guesses are rate-limited per address (``app.pages.public``).
- ``open`` tells the route what to answer: ``unknown`` and ``revoked`` both give 404 (a revoked link
  reveals nothing), ``expired`` 410 with a clear page (also a minor's link once the guardian's consent to
  share links is withdrawn: see ``open``).
- A view is counted by one ``UPDATE … SET view_count = view_count + 1``: concurrent views all count.
"""
from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime, timezone
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.models import Portfolio, User
from app.models.pages import Page, ShareLink
from app.services import accounts, minors
from app.services.errors import NotFound, ValidationFailed
from app.services.portfolio import portfolio_of
from app.services.tokens import hash_token
from app.services.validation import CONTROL_CHARS

TOKEN_BYTES = 32  # 256 bits; the issue asks for at least 128
MAX_TOKEN_LENGTH = 100  # anything longer is not one of ours: refused before hashing
PASSWORD_MIN, PASSWORD_MAX = 6, 200
LABEL_MAX = 120
MAX_LINKS = 200  # per owner, all states


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={field: str(message)})


def _label(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or CONTROL_CHARS.search(value):
        raise _invalid("label", _l("Contains characters that are not allowed."))
    value = value.strip()
    if len(value) > LABEL_MAX:
        raise _invalid("label", _l("At most %(n)d characters.", n=LABEL_MAX))
    return value


def _expiry(value: Any) -> datetime | None:
    """An ISO 8601 date-time with a time zone (or a plain date: the end of that day, UTC), in the future."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _invalid("expires_at", _l("Not a valid date and time (ISO 8601).")) from None
        if len(value.strip()) == 10:
            moment = moment.replace(hour=23, minute=59, second=59, tzinfo=timezone.utc)
    else:
        raise _invalid("expires_at", _l("Not a valid date and time (ISO 8601)."))
    if moment.tzinfo is None:
        raise _invalid("expires_at", _l("Give a time zone (for example 2027-01-31T18:00:00Z)."))
    if moment <= utcnow():
        raise _invalid("expires_at", _l("The expiry must be in the future."))
    if moment.year > 2100:
        raise _invalid("expires_at", _l("This date is out of range."))
    return moment.astimezone(timezone.utc)


def _password(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise _invalid("password", _l("Between %(a)d and %(b)d characters.", a=PASSWORD_MIN, b=PASSWORD_MAX))
    return accounts.hash_password(value)


def _owned_cv(session: Session, actor: User, cv_id):
    """The actor's CV with this id; another person's answers exactly as an unknown one (``NotFound``)."""
    from app.services import cvs  # noqa: PLC0415  (cvs imports the renderers: loaded only when needed)

    return cvs.get_owned(session, actor, cv_id)


def create(session: Session, actor: User, *, page: Page | None = None, cv_id=None, label: Any = None,
           expires_at: Any = None, password: Any = None, token: str | None = None) -> tuple[ShareLink, str]:
    """A new link to ``page`` (one of the actor's) or to the CV ``cv_id``; returns it and the raw token,
    which is shown once and never stored. A CV that is not the actor's raises ``NotFound`` (the API
    answers 404, as for any other object of someone else). ``token`` is for ``demo_token`` only (the demo prints its link
    on every run); every other link draws 256 fresh random bits."""
    portfolio = portfolio_of(actor)
    minors.require_consent(session, actor, minors.SHARE_LINK)
    if (page is None) == (cv_id is None):
        raise _invalid("page_id", _l("Give either a page or a CV."))
    if page is not None and not policy.can(actor, policy.UPDATE, page):
        raise _invalid("page_id", _l("Not one of your pages."))
    cv_key = None
    if cv_id is not None:
        cv_key = policy.parse_id(cv_id)
        if cv_key is None:
            raise _invalid("cv_id", _l("Not a valid id."))
        cv_key = _owned_cv(session, actor, cv_key).id
    count = len(session.scalars(select(ShareLink.id).where(ShareLink.portfolio_id == portfolio.id)).all())
    if count >= MAX_LINKS:
        raise _invalid("label", _l("At most %(n)d share links: delete old ones first.", n=MAX_LINKS))
    raw = token or secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink(portfolio_id=portfolio.id, page_id=page.id if page else None, cv_id=cv_key,
                     token_hash=hash_token(raw), label=_label(label), expires_at=_expiry(expires_at),
                     password_hash=_password(password), created_at=utcnow())
    session.add(link)
    session.flush()
    return link, raw


def demo_token(name: str) -> str:
    """A demo link's token, derived from the instance's secret key (HMAC-SHA-256, 256 bits): the same on
    every ``sillage demo`` run, so that it can be printed again, and as unguessable as the secret key."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"sillage-demo-share-link:{name}".encode(),
                      "sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def url(raw: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/s/{raw}"


def list_for(session: Session, actor: User, *, page: Page | None = None, cv=None) -> list[ShareLink]:
    """The actor's links, newest first; only those of ``page`` or of ``cv`` when given."""
    portfolio = portfolio_of(actor)
    query = select(ShareLink).where(ShareLink.portfolio_id == portfolio.id)
    if page is not None:
        query = query.where(ShareLink.page_id == page.id)
    if cv is not None:
        query = query.where(ShareLink.cv_id == cv.id)
    return list(session.scalars(query.order_by(ShareLink.created_at.desc(), ShareLink.id)))


def get(session: Session, actor: User, link_id) -> ShareLink:
    key = policy.parse_id(link_id)
    link = session.get(ShareLink, key) if key is not None else None
    if link is None or not policy.can(actor, policy.UPDATE, link):
        raise NotFound(str(_l("Not found.")))
    return link


def revoke(session: Session, actor: User, link: ShareLink) -> ShareLink:
    """Revoking twice keeps the first time; the link answers 404 from now on."""
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        session.flush()
    return link


def open(session: Session, raw: Any) -> tuple[str, ShareLink | None]:  # noqa: A001  (the verb)
    """``(state, link)``: ``unknown`` or ``erased`` (None), ``revoked``, ``expired`` or ``active``."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH:
        return "unknown", None
    digest = hash_token(raw)
    link = session.scalars(select(ShareLink).where(ShareLink.token_hash == digest)).first()
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        from app.services.erasure import is_erased  # noqa: PLC0415 - issue 11: its owner deleted the account
        return ("erased" if is_erased(session, digest) else "unknown"), None
    owner = session.scalars(select(User).join(Portfolio, Portfolio.owner_id == User.id)
                            .where(Portfolio.id == link.portfolio_id)).first()
    if owner is not None and owner.suspended_at is not None:
        return "suspended", link  # app/services/admin.py: answered like an expired link (410)
    if owner is not None and not minors.has_consent(session, owner, minors.SHARE_LINK):
        # Consent is checked when the link opens, not only when it was made: a guardian who withdraws it
        # (or refuses the account) closes the links at once. Answered like an expired link (410): the
        # visitor learns nothing about the pupil's family decisions.
        return "expired", link
    return link.state, link


def check_password(link: ShareLink, password: Any) -> bool:
    return link.password_hash is None or accounts.verify_password(link.password_hash, password)


def count_view(session: Session, link: ShareLink) -> None:
    """One more view, counted in SQL (no lost update between concurrent readers)."""
    session.execute(update(ShareLink).where(ShareLink.id == link.id)
                    .values(view_count=ShareLink.view_count + 1, last_viewed_at=utcnow())
                    .execution_options(synchronize_session=False))
    session.expire(link, ["view_count", "last_viewed_at"])
