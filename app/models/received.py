"""The owner's side of received credentials: which portfolio items a credential proves, and the cached
verdict of the verifier for each credential, attestation or endorsement shown in the portfolio.

``CredentialLink``: the owner says "this credential proves that experience / diploma / skill". The item
is not a foreign key (three tables); a link to a deleted item is simply not shown and goes with the
credential or the portfolio (``ON DELETE CASCADE``).

``VerificationVerdict``: running the verifier costs tens of milliseconds and may fetch other hosts'
documents, so the "Credentials" section shows the last verdict with its date and a re-check button
instead of verifying everything on each view. Only what the display needs is kept (status, reason,
error codes), not localised text: the page words it in the reader's language.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow
from app.models.credentials import Credential

LINKABLE_KINDS = ("experience", "diploma", "skill")
VERDICT_KINDS = ("credential", "attestation", "endorsement", "external")  # external: app.models.backpack


class CredentialLink(IdMixin, db.Model):
    __tablename__ = "credential_links"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    item_kind: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    credential: Mapped[Credential] = relationship()

    __table_args__ = (UniqueConstraint("credential_id", "item_kind", "item_id", name="uq_credential_links_item"),
                      Index("ix_credential_links_item", "item_kind", "item_id"))


class VerificationVerdict(IdMixin, db.Model):
    __tablename__ = "verification_verdicts"

    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(30))  # badges.summary: verified, verified_with_remarks, ...
    reason: Mapped[str | None] = mapped_column(String(40))
    error_codes: Mapped[list] = mapped_column(JSON, default=list)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", name="uq_verification_verdicts_subject"),)
