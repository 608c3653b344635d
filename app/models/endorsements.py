"""Endorsements: an organisation's signed OB 3.0 ``EndorsementCredential`` about an achievement, another
organisation or an issued credential.

Like ``Credential``, the row keeps the signed JSON verbatim (``document``): the ``.json`` download is what
was signed. ``subject_kind`` / ``subject_id`` say which row it endorses, so that the achievement,
organisation and credential pages list their endorsements without parsing JSON.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow
from app.models.issuing import Organisation

SUBJECT_KINDS = ("achievement", "organisation", "credential")


class Endorsement(IdMixin, db.Model):
    """One signed endorsement; ``id`` is public (``/endorsements/<id>.json``, ``urn:uuid:<id>``)."""

    __tablename__ = "endorsements"
    __table_args__ = (Index("ix_endorsements_subject", "subject_kind", "subject_id"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                       index=True)  # the endorser
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[uuid.UUID]
    subject_uri: Mapped[str] = mapped_column(String(500))  # credentialSubject.id as signed
    comment: Mapped[str] = mapped_column(Text)
    document: Mapped[dict] = mapped_column(JSON)
    issued_by_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()
