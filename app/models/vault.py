"""The vault: per-owner data keys (envelope encryption, DESIGN.md "The vault"), documents, their tags and
their links as evidence to experiences, diplomas and skills."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Column, ForeignKey, Index, LargeBinary, String, Table, Text
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.database import IdMixin, db, utcnow
from app.models.portfolio import Diploma, Experience, PortfolioItem, Skill, sort_key

NAME_LENGTH = 255
TAG_LENGTH = 40


class VaultKey(IdMixin, db.Model):
    """One owner's data key, stored only wrapped by the instance master key (``certs.vault``).

    ``master_key_id`` names the master key that wraps it (``certs.vault.master_key_id``), so that a
    master-key rotation knows which rows are done and can resume after an interruption. Deleting the
    row is the crypto-shred: without it, the owner's encrypted documents are noise, wherever copies lie.
    """

    __tablename__ = "vault_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[Optional[datetime]]


def _evidence_table(name: str, item_table: str) -> Table:
    """One link table per kind of item, so that each side has a real foreign key and deleting either
    the document or the item removes the link (ON DELETE CASCADE)."""
    return Table(
        name, db.Model.metadata,
        Column("item_id", ForeignKey(f"{item_table}.id", ondelete="CASCADE"), primary_key=True),
        Column("document_id", ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


experience_evidence = _evidence_table("experience_evidence", "experiences")
diploma_evidence = _evidence_table("diploma_evidence", "diplomas")
skill_evidence = _evidence_table("skill_evidence", "skills")
EVIDENCE_TABLES = {Experience: experience_evidence, Diploma: diploma_evidence, Skill: skill_evidence}


class DocumentTag(db.Model):
    """A free tag on a document (tags instead of a forced folder tree); stored normalised (lower case)."""

    __tablename__ = "document_tags"
    __table_args__ = (Index("ix_document_tags_name", "name"),)

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"),
                                                   primary_key=True)
    name: Mapped[str] = mapped_column(String(TAG_LENGTH), primary_key=True)


class Document(PortfolioItem, db.Model):
    """A file in the owner's vault. Its content lives encrypted in storage under ``blob_key`` (random,
    ``vault/<portfolio id>/<random>``: nothing in storage names or describes the file), its thumbnail
    (images only) under ``thumbnail_key``; ``size`` and ``sha256`` are those of the plaintext.

    ``content_type`` is sniffed from the content at upload (``app.services.documents.sniff``), never
    taken from the name or the client. ``search_name`` is ``sort_key(name)``, kept by the validator, so
    that search and order ignore case and accents.
    """

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_portfolio_created", "portfolio_id", "created_at", "id"),)

    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    search_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(200), unique=True)
    thumbnail_key: Mapped[Optional[str]] = mapped_column(String(200))

    tag_rows: Mapped[list[DocumentTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by=DocumentTag.name, lazy="selectin")
    tags: AssociationProxy[list[str]] = association_proxy(
        "tag_rows", "name", creator=lambda name: DocumentTag(name=name))
    experiences: Mapped[list[Experience]] = relationship(
        secondary=experience_evidence, passive_deletes=True,
        backref=db.backref("evidence", passive_deletes=True, order_by="Document.created_at"))
    diplomas: Mapped[list[Diploma]] = relationship(
        secondary=diploma_evidence, passive_deletes=True,
        backref=db.backref("evidence", passive_deletes=True, order_by="Document.created_at"))
    skills: Mapped[list[Skill]] = relationship(
        secondary=skill_evidence, passive_deletes=True,
        backref=db.backref("evidence", passive_deletes=True, order_by="Document.created_at"))

    @property
    def has_thumbnail(self) -> bool:
        return self.thumbnail_key is not None

    @validates("name")
    def _keep_search_name(self, _key: str, name: str) -> str:
        self.search_name = sort_key(name or "")[:NAME_LENGTH]
        return name
