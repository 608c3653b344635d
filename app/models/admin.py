"""The platform administrator's records: the audit log and the per-day activity counters.

``AuditEvent`` records who did what to which object (never portfolio content). ``DailyActivity`` holds
counts only, per day and scope (the platform, or one organisation); ``DailySeen`` is the small per-day set
that makes "active people" count each person once a day: its key is an HMAC of (user, day) under the
application's secret, and rows of past days are purged, so no identity survives the day
(``app.services.indicators.record_activity``).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import IdMixin, db, utcnow

PLATFORM = ""  # DailyActivity.scope of the whole platform; an organisation's scope is its id


class AuditEvent(IdMixin, db.Model):
    """One admin or head action. ``details`` carries identifiers and reasons, never portfolio content."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_created_at", "created_at"),)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                         index=True)
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[Optional[str]] = mapped_column(String(64))
    organisation_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DailyActivity(db.Model):
    """Counts for one day and one scope: sign-ins, API uses and distinct active people."""

    __tablename__ = "daily_activity"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    scope: Mapped[str] = mapped_column(String(36), primary_key=True, default=PLATFORM)
    sign_ins: Mapped[int] = mapped_column(default=0)
    api_uses: Mapped[int] = mapped_column(default=0)
    active_people: Mapped[int] = mapped_column(default=0)


class DailySeen(db.Model):
    """Today's "already counted" set: an HMAC of (user, day), purged once the day is over."""

    __tablename__ = "daily_seen"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
