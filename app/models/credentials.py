"""Issued credentials, the Bitstring Status Lists that revoke or suspend them, and claim links.

A ``Credential`` keeps the signed OB 3.0 JSON verbatim (``document``): what the recipient downloads is
byte for byte what was signed, and nothing recomputes it. The other columns are what the pages and
lists need without parsing that JSON (achievement, recipient, dates, state).

Status: each organisation has lists per purpose (``revocation``, ``suspension``). A ``StatusEntry`` ties
one index of one list to one credential; the pair (list, index) is unique, which is what makes random
index allocation safe when several workers award at once (a clash is an IntegrityError, retried with
another random index). The list's bits are derived from the credentials' state, never edited by hand:
``app.services.status_lists`` rebuilds and re-signs them.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow
from app.models.issuing import Achievement, Organisation

PURPOSES = ("revocation", "suspension")


class StatusList(IdMixin, db.Model):
    """One Bitstring Status List of one organisation for one purpose; ``id`` is public (``/status/<id>``).

    ``bits`` is the current bitstring (``length`` bits) and ``document`` the signed
    BitstringStatusListCredential served as is; both change together when a credential's state changes.
    ``used`` counts allocated indexes, so that a fuller list gives way to a new one.
    """

    __tablename__ = "status_lists"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                       index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    length: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    used: Mapped[int] = mapped_column(Integer, default=0)
    document: Mapped[Optional[dict]] = mapped_column(JSON)
    etag: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Credential(IdMixin, db.Model):
    """A credential issued here; ``id`` is its public id (``/credentials/<id>``, ``urn:uuid:<id>``)."""

    __tablename__ = "credentials"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                       index=True)
    # RESTRICT: an issued credential outlives any change to its achievement, which cannot be deleted under it.
    achievement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("achievements.id", ondelete="RESTRICT"),
                                                      index=True)
    document: Mapped[dict] = mapped_column(JSON)  # the signed OB 3.0 credential, verbatim
    recipient_email: Mapped[str] = mapped_column(String(254), index=True)  # normalised
    recipient_salt: Mapped[str] = mapped_column(String(200))  # the identity hash's salt (OB 2.0 reuses it)
    portfolio_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("portfolios.id", ondelete="SET NULL"), index=True)
    issued_by_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    valid_from: Mapped[datetime]
    valid_until: Mapped[Optional[datetime]]
    narrative: Mapped[Optional[str]] = mapped_column(Text)
    evidence_urls: Mapped[list] = mapped_column(JSON, default=list)
    revoked_at: Mapped[Optional[datetime]]
    revocation_reason: Mapped[Optional[str]] = mapped_column(String(1000))
    suspended_at: Mapped[Optional[datetime]]
    suspension_reason: Mapped[Optional[str]] = mapped_column(String(1000))
    hidden: Mapped[bool] = mapped_column(default=False)  # hidden by its owner from their portfolio
    show_recipient_name: Mapped[bool] = mapped_column(default=False)  # privacy first: off by default

    organisation: Mapped["Organisation"] = relationship()
    achievement: Mapped["Achievement"] = relationship()
    entries: Mapped[list["StatusEntry"]] = relationship(back_populates="credential",
                                                        cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (Index("ix_credentials_organisation_id_issued_at", "organisation_id", "issued_at"),)

    @property
    def state(self) -> str:
        """``revoked`` beats ``suspended`` beats ``expired`` beats ``active``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.suspended_at is not None:
            return "suspended"
        if self.valid_until is not None and self.valid_until <= utcnow():
            return "expired"
        return "active"


class StatusEntry(IdMixin, db.Model):
    """Index ``list_index`` of list ``status_list_id`` belongs to ``credential_id`` (unique per list).

    Or to a credential signed through the VC-API issuer route (``app.issuing.vcapi``), of which Sillage
    keeps no copy: ``credential_id`` is then empty and ``credential_ref`` holds what the caller named it
    (``options.credentialId`` or the credential's ``id``, if any). The index is taken all the same, so it
    is never given to another credential; its bit is set while ``set_at`` is (the VC-API status route),
    as a stored credential's follows its ``revoked_at`` / ``suspended_at``.
    """

    __tablename__ = "status_entries"

    status_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("status_lists.id", ondelete="CASCADE"))
    list_index: Mapped[int] = mapped_column(Integer)
    credential_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"),
                                                               index=True)
    credential_ref: Mapped[Optional[str]] = mapped_column(String(500))
    set_at: Mapped[Optional[datetime]]  # only for entries without a stored credential

    credential: Mapped[Optional[Credential]] = relationship(back_populates="entries")
    status_list: Mapped[StatusList] = relationship()

    __table_args__ = (UniqueConstraint("status_list_id", "list_index", name="uq_status_entries_list_index"),)


class ClaimToken(IdMixin, db.Model):
    """The link e-mailed to a recipient without an account; only its SHA-256 is stored."""

    __tablename__ = "claim_tokens"

    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"),
                                                     index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]

    credential: Mapped[Credential] = relationship()
