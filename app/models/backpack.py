"""The backpack: badges a person earned elsewhere and brought into their portfolio.

``ExternalCredential`` keeps the document exactly as it arrived (``original``: the JSON bytes, the
compact JWS, or the OB 2.0 assertion as the issuer's server answered), because a signature covers those
bytes or their canonical form and an export must hand them back unchanged; ``document`` is the same
credential parsed (a JWS decoded), for display and search without parsing again. The columns beside it
(issuer, achievement, dates) are read from the document once, at import.

``fingerprint`` is a SHA-256 of the credential's content (see ``app.services.backpack.fingerprint``),
unique per portfolio: the same badge imported twice, as a baked PNG and then as its JSON, is one row.

The verifier's verdict is cached in ``VerificationVerdict`` with the subject kind ``external`` (one cache
for everything the "Credentials" section shows). ``bundle`` says, for a credential that arrived inside a
CLR 2.0 (``clr-member``), which CLR carried it and what the verifier said of the CLR itself.

``recipient`` is whom the badge names, compared at import with the owner's address (OB 2.0
``recipient``, OB 3.0 ``credentialSubject.identifier``, hashed or not): ``you``, ``someone_else`` (kept
only after the owner confirmed, and shown as such everywhere: a verified signature says who issued a
badge, not who holds it) or null (the badge names no e-mail address: the recipient was not checked).

``ExternalCredentialLink``: the owner says "this badge proves that experience / diploma / skill", as
``CredentialLink`` does for credentials issued here (a second table because its credential is a foreign
key to another table; the item is not a foreign key, as there).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow

FORMATS = ("ob2", "ob3-di", "ob3-jwt", "clr-member")
RECIPIENTS = ("you", "someone_else")


class ExternalCredential(IdMixin, db.Model):
    __tablename__ = "external_credentials"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(20))  # FORMATS
    # Deferred: lists (the Credentials section, pages, CVs) never need the bytes, which may be megabytes.
    original: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # verbatim: JSON bytes or compact JWS
    document: Mapped[dict] = mapped_column(JSON)  # parsed (a JWS: its decoded credential)
    image: Mapped[Optional[bytes]] = mapped_column(LargeBinary, deferred=True)  # the baked image as given
    image_type: Mapped[Optional[str]] = mapped_column(String(40))  # image/png, image/svg+xml
    source_url: Mapped[Optional[str]] = mapped_column(String(2048))
    filename: Mapped[Optional[str]] = mapped_column(String(255))
    issuer_name: Mapped[str] = mapped_column(String(300))
    issuer_id: Mapped[Optional[str]] = mapped_column(String(2048))
    achievement_name: Mapped[str] = mapped_column(String(300))
    achievement_description: Mapped[Optional[str]] = mapped_column(Text)
    achievement_image: Mapped[Optional[str]] = mapped_column(Text)  # a URL or a data: URI
    issued_at: Mapped[Optional[datetime]]
    expires_at: Mapped[Optional[datetime]]
    fingerprint: Mapped[str] = mapped_column(String(64))
    bundle: Mapped[Optional[dict]] = mapped_column(JSON)  # clr-member: {"id", "issuer", "fingerprint", "status"}
    hidden: Mapped[bool] = mapped_column(default=False)
    recipient: Mapped[Optional[str]] = mapped_column(String(20))  # RECIPIENTS, or null: not checked
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    links: Mapped[list["ExternalCredentialLink"]] = relationship(
        back_populates="external_credential", cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (UniqueConstraint("portfolio_id", "fingerprint", name="uq_external_credentials_fingerprint"),)


class ExternalCredentialLink(IdMixin, db.Model):
    __tablename__ = "external_credential_links"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"), index=True)
    external_credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("external_credentials.id", ondelete="CASCADE"))
    item_kind: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    external_credential: Mapped[ExternalCredential] = relationship(back_populates="links")

    __table_args__ = (
        UniqueConstraint("external_credential_id", "item_kind", "item_id",
                         name="uq_external_credential_links_item"),
        Index("ix_external_credential_links_item", "item_kind", "item_id"),
    )
