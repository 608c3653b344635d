"""Reference frameworks (ESCO, CASE documents, the socle commun…): named, versioned trees of concepts.

A ``Framework`` is identified by its ``slug``; importing a new version of it updates its concepts in
place by URI and stamps ``retired_at`` on those the new version dropped. Concepts are never deleted:
a portfolio's ``Skill.concept_uri`` or a CV's target occupation must keep resolving years later.

``Concept.seq`` is a plain integer key that only search uses: SQLite's FTS5 index (``concepts_fts``,
an external-content table kept in step by triggers, see the migration) needs an integer rowid, and an
ordinary table's implicit rowid may change on VACUUM. The importer assigns it; nothing else reads it.

``search_fr`` / ``search_en`` hold each language's labels, alternative labels and notation, folded by
``app.services.frameworks.fold_for_search`` (lower case, no accents, punctuation turned into spaces) so
that SQLite's ``unicode61`` tokenizer and PostgreSQL's ``simple`` parser see the same words and the two
engines answer the same results.

Relations (``ConceptRelation``) are kept as ``(source, target, relation)``: an occupation's
``essential`` and ``optional`` skills, a qualification's ``part_of`` blocks, CASE's ``related``,
``precedes``, ``exact_match``… The tree itself is ``Concept.parent_id`` (ESCO's broader link, CASE's
``isChildOf``), checked for cycles at import; a concept with several broader concepts (ESCO's skills
pillar is a polyhierarchy) keeps the first as its parent and the others as ``broader`` relations.

``ConceptLink`` keeps a relation whose target is outside every imported file: a CASE ``isChildOf`` or
``exactMatchOf`` pointing at an item of another CASE document, an ESCO occupation's ISCO group. It is
a URI, resolved when the page is shown (the other framework may be imported later), never a foreign key.

``skill_type`` is ESCO's ``skillType`` (``knowledge`` or ``skill/competence``, stored as
``knowledge`` / ``skill_competence``), empty for other concepts.

``FrameworkImportLock`` is the row that makes one import of a framework run at a time (see
``app.services.frameworks.import_lock``): taken in its own short transaction, so that a second import
sees it at once, and removed when the import has committed or failed; a crashed import's row is stale
and taken over.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow

CONCEPT_KINDS = ("skill", "competence", "occupation", "qualification", "training", "domain", "level", "group")
RELATIONS = ("essential", "optional", "part_of", "related", "precedes", "exact_match", "replaced_by",
             "skill_level", "broader")
SKILL_TYPES = ("skill_competence", "knowledge")
FORMATS = ("esco", "case", "csv")


class Framework(IdMixin, db.Model):
    __tablename__ = "frameworks"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(60), default="")
    format: Mapped[str] = mapped_column(String(10), default="csv")
    source: Mapped[str] = mapped_column(Text, default="")  # where it comes from, its licence, its status
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    concept_count: Mapped[int] = mapped_column(Integer, default=0)
    relation_count: Mapped[int] = mapped_column(Integer, default=0)
    retired_count: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[Optional[datetime]]  # hidden from search and pickers; its concepts still resolve


class Concept(IdMixin, db.Model):
    __tablename__ = "concepts"
    __table_args__ = (
        UniqueConstraint("framework_id", "uri", name="uq_concepts_framework_uri"),
        Index("ix_concepts_framework_kind", "framework_id", "kind"),
    )

    seq: Mapped[int] = mapped_column(Integer, unique=True)
    framework_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"))
    uri: Mapped[str] = mapped_column(String(500), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    label_fr: Mapped[str] = mapped_column(String(500), default="")
    label_en: Mapped[str] = mapped_column(String(500), default="")
    alt_labels_fr: Mapped[list] = mapped_column(JSON, default=list)
    alt_labels_en: Mapped[list] = mapped_column(JSON, default=list)
    description_fr: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("concepts.id", ondelete="SET NULL"),
                                                           index=True)
    notation: Mapped[str] = mapped_column(String(60), default="")
    skill_type: Mapped[str] = mapped_column(String(20), default="", server_default="")
    retired_at: Mapped[Optional[datetime]]
    search_fr: Mapped[str] = mapped_column(Text, default="")
    search_en: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    framework: Mapped[Framework] = relationship(lazy="joined")
    parent: Mapped[Optional["Concept"]] = relationship(remote_side="Concept.id", lazy="select")


class ConceptRelation(db.Model):
    __tablename__ = "concept_relations"
    __table_args__ = (Index("ix_concept_relations_target", "target_id"),)

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(20), primary_key=True)


class ConceptLink(db.Model):
    """A relation from a concept to a URI outside the imported files (see the module docstring)."""

    __tablename__ = "concept_links"

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("concepts.id", ondelete="CASCADE"), primary_key=True)
    relation: Mapped[str] = mapped_column(String(20), primary_key=True)
    target_uri: Mapped[str] = mapped_column(String(500), primary_key=True)


class FrameworkImportLock(db.Model):
    __tablename__ = "framework_import_locks"

    slug: Mapped[str] = mapped_column(String(80), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))  # host:pid:random, to tell a crashed holder
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
