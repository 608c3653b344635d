"""Attestation requests (informal certification) and the platform's own attestation key.

An ``AttestationRequest`` is one owner asking one referee (by e-mail, no account needed) to confirm one
experience or skill. Only the SHA-256 of the e-mailed link is stored (``token_hash``); the link is used
once (``used_at``, set by a conditional UPDATE) and expires (``expires_at``). ``statement`` is what the
referee was shown (a snapshot: the owner may edit the item afterwards without changing what was
confirmed); ``corrected_statement`` is the referee's wording when they changed it. A confirmation
stores the signed OB 3.0 credential verbatim in ``document`` (its public page is
``/attestations/<id>``), signed by the platform key or, when the referee chose, by
``signed_by_organisation_id``'s key.

``PlatformKey``: the Ed25519 key of the platform's own issuer identity (``did:web:HOST:issuers:platform``),
sealed by the instance master key like organisations' keys, so ``sillage keys rotate-master`` re-wraps
it (``app.services.vault_keys``). A retired key stays published in the DID document.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow
from app.models.issuing import Organisation
from app.models.portfolio import Portfolio

ITEM_KINDS = ("experience", "skill")
# An endorsement request is the same request and link with another purpose: a signed-in person endorses
# the owner's skill or received credential (``app.services.endorsements``, the person part).
PURPOSES = ("attestation", "endorsement")
ENDORSABLE_KINDS = ("skill", "credential")
STATUSES = ("pending", "confirmed", "declined", "cancelled")


class AttestationRequest(IdMixin, db.Model):
    __tablename__ = "attestation_requests"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    item_kind: Mapped[str] = mapped_column(String(20))
    # Not a foreign key: the item may be deleted while the signed attestation stays the owner's.
    item_id: Mapped[uuid.UUID] = mapped_column(index=True)
    item_title: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)
    referee_name: Mapped[str] = mapped_column(String(120))
    referee_email: Mapped[str] = mapped_column(String(254))
    referee_relationship: Mapped[str] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(10), default="fr")  # the referee's mails and page
    status: Mapped[str] = mapped_column(String(16), default="pending")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]
    reminded_at: Mapped[Optional[datetime]]
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[Optional[datetime]]
    corrected_statement: Mapped[Optional[str]] = mapped_column(Text)
    decline_reason: Mapped[Optional[str]] = mapped_column(String(1000))
    signed_by_organisation_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"))
    document: Mapped[Optional[dict]] = mapped_column(JSON)  # the signed credential, verbatim
    purpose: Mapped[str] = mapped_column(String(20), default="attestation", server_default="attestation")
    # The signed-in account that endorsed (endorsements only: an attestation needs no account).
    endorser_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    endorsement_comment: Mapped[Optional[str]] = mapped_column(Text)  # the endorser's words, as signed
    hidden: Mapped[bool] = mapped_column(default=False, server_default=false())  # hidden by the owner

    portfolio: Mapped[Portfolio] = relationship()
    signed_by_organisation: Mapped[Optional[Organisation]] = relationship()

    __table_args__ = (Index("ix_attestation_requests_portfolio_created", "portfolio_id", "created_at"),)

    @property
    def final_statement(self) -> str:
        return self.corrected_statement or self.statement

    @property
    def is_expired(self) -> bool:
        return self.status == "pending" and self.expires_at <= utcnow()

    @property
    def shown_status(self) -> str:
        """``expired`` is derived, not stored: a pending request whose link has run out."""
        return "expired" if self.is_expired else self.status


class PlatformKey(IdMixin, db.Model):
    __tablename__ = "platform_keys"

    public_key_multibase: Mapped[str] = mapped_column(String(100))
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[Optional[datetime]]
    rotated_at: Mapped[Optional[datetime]]
