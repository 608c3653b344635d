"""Guardians' consent for minors (under the French digital majority, 15).

A ``GuardianConsent`` is one decision of one guardian for one minor over one ``scope``: what the minor may
do beyond the school's purpose (``public_page``, ``share_link``, ``outside_attestation``) or the whole
``account`` (a refusal of ``account`` suspends the account for the school's purpose: paper instead).
A ``renewal`` row is written by the person themself at 18 or later: their guardian keeps access.
Rows are never updated: a new decision is a new row, and the latest one per scope counts, so that the
record keeps each decision with its date and its guardian.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow
from app.models.user import User

SCOPES = ("public_page", "share_link", "outside_attestation", "account", "renewal")
DECISIONS = ("granted", "refused")


class GuardianConsent(IdMixin, db.Model):
    __tablename__ = "guardian_consents"
    __table_args__ = (
        Index("ix_guardian_consents_minor_scope", "minor_id", "scope", "decided_at"),
    )

    minor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    guardian_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    guardian_email: Mapped[str] = mapped_column(String(254))  # copied: the record outlives the account
    scope: Mapped[str] = mapped_column(String(24))
    decision: Mapped[str] = mapped_column(String(10))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    minor: Mapped[User] = relationship(foreign_keys=[minor_id])
    guardian: Mapped[Optional[User]] = relationship(foreign_keys=[guardian_id])
