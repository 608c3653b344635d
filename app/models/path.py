"""Building one's path: career hypotheses, the training catalogue and the shared action plan.

A ``Hypothesis`` is one possible path of a portfolio's owner: a target occupation from a reference
framework (``occupation_uri``, the concept's URI) or a free description. The URI, not a foreign key to
the frameworks' tables, is what the hypothesis keeps: concepts are never deleted (a newer version of a
framework retires them), URIs are global and stable across re-imports, and the hypothesis keeps
reading (with ``occupation_label``, the label copied when it was chosen) even where the framework was
never loaded. The gap analysis (``app.services.path.gap``) resolves it each time.

``Training`` rows are the imported catalogue (``app.services.trainings``): published by the platform
(``organisation_id`` empty) or by an approved organisation; each import is one ``import_id``; the skills a
training covers are ``TrainingSkill`` rows (concept URIs), indexed so that "which trainings close these
gaps" is one query. ``fingerprint`` identifies a session of a training (publisher, title, provider,
place, dates), so that importing the same catalogue again updates rows instead of duplicating them.

The action plan of a hypothesis is made of ``PlanItem`` rows: goals and next steps (a due date, a
status open / done / dropped), appointment notes (a date, a body) and comments (on the plan, or on one of
its items through ``parent_id``). ``author_role`` says whose words they are (``owner`` or
``counsellor``): a counsellor never edits what the owner wrote. A goal a counsellor proposes waits for
the owner (``acceptance`` ``pending`` → ``accepted`` or ``declined``). Nothing of a plan is deleted:
goals are dropped, and ``PlanEvent`` is the append-only history of every change (who, what, when), the
author's label copied so that it still reads after the account is gone.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, TimestampMixin, db, utcnow
from app.models.portfolio import Portfolio

HYPOTHESIS_STATUSES = ("exploring", "active", "achieved", "dropped")
PLAN_KINDS = ("goal", "step", "note", "comment")
PLAN_STATUSES = ("open", "done", "dropped")  # goals and steps
ACCEPTANCES = ("accepted", "pending", "declined")  # a counsellor's proposed goal waits for the owner
AUTHOR_ROLES = ("owner", "counsellor")
URI_LENGTH = 500  # as ``Concept.uri``


class Hypothesis(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "hypotheses"
    __table_args__ = (Index("ix_hypotheses_portfolio_created", "portfolio_id", "created_at"),)

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    occupation_uri: Mapped[str] = mapped_column(String(URI_LENGTH), default="", index=True)
    occupation_label: Mapped[str] = mapped_column(String(300), default="")  # as chosen; shown if unresolved
    description: Mapped[str] = mapped_column(Text, default="")  # the free description, or more words
    status: Mapped[str] = mapped_column(String(16), default="exploring")
    notes: Mapped[str] = mapped_column(Text, default="")  # the owner's own notes

    portfolio: Mapped[Portfolio] = relationship()
    items: Mapped[list["PlanItem"]] = relationship(back_populates="hypothesis", cascade="all, delete-orphan",
                                                   passive_deletes=True, order_by="PlanItem.created_at")


class Training(IdMixin, db.Model):
    __tablename__ = "trainings"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="dates_ordered"),
        Index("ix_trainings_publisher_fingerprint", "organisation_id", "fingerprint"),
    )

    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200), default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    start_date: Mapped[Optional[date]]
    end_date: Mapped[Optional[date]]
    link: Mapped[str] = mapped_column(String(500), default="")
    skill_uris: Mapped[list] = mapped_column(JSON, default=list)  # as imported, in order (TrainingSkill indexes them)
    # Empty: published by the platform's admins; else the approved organisation that imported it.
    organisation_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    imported_by_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    import_id: Mapped[uuid.UUID] = mapped_column(index=True)  # one per import: the batch it came from
    source: Mapped[str] = mapped_column(String(255), default="")  # the imported file's name
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    skills: Mapped[list["TrainingSkill"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class TrainingSkill(db.Model):
    __tablename__ = "training_skills"

    training_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trainings.id", ondelete="CASCADE"),
                                                   primary_key=True)
    concept_uri: Mapped[str] = mapped_column(String(URI_LENGTH), primary_key=True, index=True)


class PlanItem(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "plan_items"
    __table_args__ = (Index("ix_plan_items_hypothesis_created", "hypothesis_id", "created_at"),
                      Index("ix_plan_items_portfolio_kind_status", "portfolio_id", "kind", "status"))

    hypothesis_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"))
    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[Optional[date]]  # goals and steps
    happened_on: Mapped[Optional[date]]  # an appointment note's date
    status: Mapped[str] = mapped_column(String(10), default="open")
    acceptance: Mapped[str] = mapped_column(String(10), default="accepted")
    author_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(254), default="")
    author_role: Mapped[str] = mapped_column(String(12), default="owner")
    # A comment on one goal, step or note of the same plan (empty: on the plan as a whole).
    parent_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("plan_items.id", ondelete="CASCADE"))

    hypothesis: Mapped[Hypothesis] = relationship(back_populates="items")


class PlanEvent(IdMixin, db.Model):
    """One line of a plan's history; rows are only ever added."""

    __tablename__ = "plan_events"
    __table_args__ = (Index("ix_plan_events_hypothesis_created", "hypothesis_id", "created_at"),
                      Index("ix_plan_events_portfolio_created", "portfolio_id", "created_at"))

    hypothesis_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("hypotheses.id", ondelete="CASCADE"))
    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    item_id: Mapped[Optional[uuid.UUID]]  # the plan item concerned, if any (items are never deleted)
    actor_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    actor_role: Mapped[str] = mapped_column(String(12), default="owner")
    action: Mapped[str] = mapped_column(String(30))
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # the changed fields: {"field": [old, new]}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
