"""The audit log: one row per admin or head action, written in the caller's transaction.

Every service that performs an administrative act (approving an organisation, suspending an account,
importing a roster…) calls ``record`` right where the act happens, so the log and the act commit or roll
back together. ``details`` holds identifiers, reasons and counts — never portfolio content.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.admin import AuditEvent

_MAX_DETAIL = 2000  # characters per string value: a reason, a name; nothing long enough to be content


def _short(value: Any) -> Any:
    if isinstance(value, str):
        return value[:_MAX_DETAIL]
    if isinstance(value, (uuid.UUID, datetime)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _short(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_short(v) for v in value][:100]
    return value


def record(session: Session, *, actor, action: str, target_type: str, target_id=None,
           organisation_id=None, details: dict | None = None) -> AuditEvent:
    """Add an audit event (flushed, not committed: the caller's transaction decides).

    ``actor`` is a User or None (the command line, a background job); its e-mail is kept as a label so
    that the log still reads after the account is deleted. Any other principal (an organisation acting
    through its API token, ``policy.OPERATOR``) is recorded without an account, under a label saying so."""
    from app.models import User
    from app.policy import OrganisationPrincipal

    user = actor if isinstance(actor, User) else None
    label = user.email if user is not None else (
        "organisation token" if isinstance(actor, OrganisationPrincipal) else "")
    event = AuditEvent(
        actor_id=getattr(user, "id", None),
        actor_label=(label or "")[:254],
        action=action[:64],
        target_type=target_type[:40],
        target_id=None if target_id is None else str(target_id)[:64],
        organisation_id=organisation_id if organisation_id is None or isinstance(organisation_id, uuid.UUID)
        else uuid.UUID(str(organisation_id)),
        details=_short(details or {}),
    )
    session.add(event)
    session.flush()
    return event


def events(session: Session, *, action: str | None = None, actor_id=None, organisation_id=None,
           target_type: str | None = None, target_id: str | None = None, since: datetime | None = None,
           until: datetime | None = None,
           limit: int = 100, offset: int = 0) -> list[AuditEvent]:
    """The log, newest first, filtered; the admin pages and the API read it through this."""
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    if organisation_id:
        query = query.where(AuditEvent.organisation_id == organisation_id)
    if target_type:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id:
        query = query.where(AuditEvent.target_id == str(target_id))
    if since:
        query = query.where(AuditEvent.created_at >= since)
    if until:
        query = query.where(AuditEvent.created_at < until)
    query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.id).limit(limit).offset(offset)
    return list(session.scalars(query))
