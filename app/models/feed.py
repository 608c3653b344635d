"""S'informer: events and offers that admins and approved organisations publish, and each person's feed
settings (interest keywords, the private feed-reader token, the opt-in weekly digest).

An ``Event`` names the occupations and skills it concerns by framework concept URI (JSON lists), not by
foreign keys to concepts: a URI is what skills, hypotheses and credentials' alignments already carry,
it survives a framework's re-import (concepts are retired, never deleted) and an event may name a
concept of a framework this platform has not imported. Withdrawing keeps the row (``withdrawn_at``): a
calendar that already holds the event gets ``STATUS:CANCELLED`` with a higher ``SEQUENCE`` instead of
silence, and the publisher keeps its history.

``FeedSettings`` is one row per person, created on first use. The feed-reader token is stored as its
SHA-256 only (feed readers cannot sign in, so the URL itself is the secret; a new one revokes the old).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, TimestampMixin, db, utcnow
from app.models.issuing import Organisation
from app.models.user import User

EVENT_KINDS = ("event", "offer")
PUBLISHED, WITHDRAWN = "published", "withdrawn"


class Event(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "feed_events"
    __table_args__ = (Index("ix_feed_events_status_starts", "status", "starts_at"),)

    kind: Mapped[str] = mapped_column(String(10), default="event")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown, rendered through nh3
    starts_at: Mapped[Optional[datetime]]  # required for an event; an offer may have none
    ends_at: Mapped[Optional[datetime]]  # an offer's closing date
    place: Mapped[str] = mapped_column(String(200), default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    occupation_uris: Mapped[list] = mapped_column(JSON, default=list)
    skill_uris: Mapped[list] = mapped_column(JSON, default=list)
    # None: published by the platform (a platform admin); else the organisation that publishes it.
    organisation_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default=PUBLISHED)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[Optional[datetime]]
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # iCal SEQUENCE

    organisation: Mapped[Optional[Organisation]] = relationship()
    created_by: Mapped[Optional[User]] = relationship()

    @property
    def publisher_name(self) -> str:
        return self.organisation.name if self.organisation is not None else ""

    @property
    def last_moment(self) -> Optional[datetime]:
        """When the event is over (its end, else its start); None for an offer without dates."""
        return self.ends_at or self.starts_at


class FeedSettings(db.Model):
    __tablename__ = "feed_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    digest: Mapped[bool] = mapped_column(default=False)  # opt-in weekly e-mail
    token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    token_created_at: Mapped[Optional[datetime]]
    last_digest_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship()
