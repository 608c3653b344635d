"""The owner's access log: who read, downloaded or exported what in their portfolio, and when.

``record`` is called by whoever serves portfolio content to someone other than its owner (the shared
views of invited people, share links, exports); the owner's own reads are not logged (they are not an
"access" to report). What is stored, and why:

- the actor's label (their name or e-mail) and the link's label are copied, so that a line still says
  who it was once the account or the link is gone;
- the IP address is truncated (IPv4 to its /24, IPv6 to its /48): enough to tell "the same office" from
  "another country", not enough to single out one device — the CNIL's advice for audit logs;
- events are kept ``ACCESS_LOG_DAYS`` days (``SILLAGE_ACCESS_LOG_DAYS``, default 365, the issue's
  "12 months"), then deleted by ``prune`` (a daily job, and ``sillage access-log prune``).

Like every service it flushes and never commits.
"""
from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import jobs
from app.database import utcnow
from app.extensions import db
from app.models import AccessEvent, User

ACTIONS = ("view", "download", "export", "comment", "propose")
DEFAULT_DAYS = 365
PAGE_SIZE = 50


def truncate_ip(ip: str | None) -> str:
    """The address with its host part zeroed (``203.0.113.0/24``, ``2001:db8:1::/48``); "" if unreadable."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip.strip().split("%")[0])
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _label(user: User) -> str:
    portfolio = getattr(user, "portfolio", None)
    name = (portfolio.display_name if portfolio is not None else "") or ""
    return f"{name} <{user.email}>" if name else user.email


def record(session: Session, portfolio_id: uuid.UUID, *, action: str, object_type: str | None = None,
           object_id: uuid.UUID | None = None, actor: User | None = None, share_link=None,
           ip: str | None = None) -> AccessEvent | None:
    """Log one access to ``portfolio_id``'s content; the owner reading their own portfolio is not logged.

    ``share_link`` is any object with ``id`` and ``label`` (the pages branch's ``ShareLink``).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown access action {action!r}")
    if actor is not None and getattr(actor, "portfolio", None) is not None and actor.portfolio.id == portfolio_id:
        return None
    event = AccessEvent(
        portfolio_id=portfolio_id, action=action, object_type=object_type,
        object_id=object_id if object_id is None or isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id)),
        actor_id=actor.id if actor is not None else None,
        actor_label=_label(actor)[:254] if actor is not None else "",
        share_link_id=getattr(share_link, "id", None),
        share_link_label=(getattr(share_link, "label", "") or "")[:120] if share_link is not None else "",
        ip=truncate_ip(ip),
    )
    session.add(event)
    session.flush()
    return event


def events(session: Session, portfolio_id: uuid.UUID, *, before: datetime | None = None,
           limit: int = PAGE_SIZE) -> list[AccessEvent]:
    """The newest events first; ``before`` (the last one's ``created_at``) gives the next page."""
    query = select(AccessEvent).where(AccessEvent.portfolio_id == portfolio_id)
    if before is not None:
        query = query.where(AccessEvent.created_at < before)
    return list(session.scalars(query.order_by(AccessEvent.created_at.desc(), AccessEvent.id).limit(limit)))


def count(session: Session, portfolio_id: uuid.UUID) -> int:
    return session.scalar(select(func.count()).select_from(AccessEvent)
                          .where(AccessEvent.portfolio_id == portfolio_id)) or 0


def retention_days() -> int:
    days = current_app.config.get("ACCESS_LOG_DAYS") if has_app_context() else None
    return int(days or DEFAULT_DAYS)


def prune(session: Session, *, now: datetime | None = None) -> int:
    """Delete the events older than the retention period; returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days())
    result = session.execute(delete(AccessEvent).where(AccessEvent.created_at < cutoff)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


@jobs.periodic_task(jobs.crontab(hour="3", minute="17"))
def prune_access_log() -> None:
    """Every night: the access log keeps ``ACCESS_LOG_DAYS`` days, no more (idempotent)."""
    prune(db.session)
