"""The owner's portfolio and its items: experiences, diplomas, skills, journal entries."""
from __future__ import annotations

import unicodedata
import uuid
from datetime import date
from typing import Optional

from sqlalchemy import (CheckConstraint, Column, ForeignKey, Index, Integer, SmallInteger, String, Table, Text,
                        event, inspect, update)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates
from sqlalchemy.orm.util import identity_key

from app.database import db, IdMixin, TimestampMixin
from app.models.user import User

EXPERIENCE_KINDS = (
    "job", "internship", "education", "volunteering", "family", "sport", "culture", "project", "other",
)
SKILL_LEVELS = (1, 2, 3, 4)  # 1 not mastered … 4 well mastered
SORT_KEY_LENGTH = 200


def sort_key(text: str) -> str:
    """The key that sorts names as a reader expects: "anglais", "budget", "Écoute active", "Zèle".

    Databases compare strings byte by byte (SQLite, PostgreSQL with the C collation), which puts every
    capital before every small letter and accented letters after "z". The key is compatibility-
    decomposed (NFKD: "ﬁ" is "fi", "é" is "e" + accent), case-folded ("Straße" is "strasse"), stripped
    of combining marks, then recomposed (NFC: Hangul syllables stay one character each). It is cut at
    the column's length, since a decomposition can be longer than the name (ties fall back to the id).
    """
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(char for char in folded if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", bare)[:SORT_KEY_LENGTH]


def _name_sort_key(context) -> str:
    """Column default of ``Skill.sort_name``: also applies to Core and bulk inserts (app/demo.py),
    which the ORM validator below does not see."""
    return sort_key(context.get_current_parameters()["name"])

experience_skills = Table(
    "experience_skills",
    db.Model.metadata,
    Column("experience_id", ForeignKey("experiences.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Portfolio(IdMixin, TimestampMixin, db.Model):
    """Exactly one per user; the profile fields live here because they are portfolio content."""

    __tablename__ = "portfolios"

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    headline: Mapped[str] = mapped_column(String(160), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    photo_key: Mapped[Optional[str]] = mapped_column(String(200))  # blob key in storage
    # Counts the changes to the portfolio and its items (``_count_changes``): what is rendered from
    # them can be cached under it (the timeline), and a change is seen at once by every process.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    owner: Mapped[User] = relationship(back_populates="portfolio")
    experiences: Mapped[list["Experience"]] = relationship(
        back_populates="portfolio", cascade="all, delete-orphan", passive_deletes=True
    )
    diplomas: Mapped[list["Diploma"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    skills: Mapped[list["Skill"]] = relationship(
        back_populates="portfolio", cascade="all, delete-orphan", passive_deletes=True
    )
    journal_entries: Mapped[list["JournalEntry"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class PortfolioItem(IdMixin, TimestampMixin):
    """Every item belongs to one portfolio; ``policy`` checks ownership through ``portfolio_id``."""

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))


class Experience(PortfolioItem, db.Model):
    __tablename__ = "experiences"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
        Index("ix_experiences_portfolio_start", "portfolio_id", "start_date"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    start_date: Mapped[date]
    end_date: Mapped[Optional[date]]  # empty = ongoing
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown, rendered sanitised

    portfolio: Mapped[Portfolio] = relationship(back_populates="experiences")
    skills: Mapped[list["Skill"]] = relationship(secondary=experience_skills, back_populates="experiences")


class Diploma(PortfolioItem, db.Model):
    __tablename__ = "diplomas"
    __table_args__ = (Index("ix_diplomas_portfolio", "portfolio_id"),)

    title: Mapped[str] = mapped_column(String(200))
    awarding_body: Mapped[str] = mapped_column(String(200), default="")
    awarded_on: Mapped[Optional[date]]
    level: Mapped[str] = mapped_column(String(80), default="")
    reference: Mapped[str] = mapped_column(String(120), default="")


class Skill(PortfolioItem, db.Model):
    __tablename__ = "skills"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        # Lists are read in (sort_name, id) order and paged by keyset on it; also serves portfolio_id alone.
        Index("ix_skills_portfolio_sort", "portfolio_id", "sort_name", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    # Derived from ``name`` (``sort_key``), never set by hand: by the validator for ORM objects, by the
    # column default for Core inserts. A Core ``update(Skill)`` that changes ``name`` must set it too.
    sort_name: Mapped[str] = mapped_column(String(SORT_KEY_LENGTH), default=_name_sort_key)
    level: Mapped[int] = mapped_column(SmallInteger, default=1)
    framework: Mapped[str] = mapped_column(String(120), default="")  # e.g. "ESCO", "Socle commun"
    concept_uri: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    portfolio: Mapped[Portfolio] = relationship(back_populates="skills")
    experiences: Mapped[list[Experience]] = relationship(secondary=experience_skills, back_populates="skills")

    @validates("name")
    def _keep_sort_name(self, _key: str, name: str) -> str:
        self.sort_name = sort_key(name or "")  # a missing name is refused by its own NOT NULL
        return name


class JournalEntry(PortfolioItem, db.Model):
    """Private reflection on one's own orientation project; never shared unless the owner chooses."""

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_portfolio_created", "portfolio_id", "created_at"),)

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")


@event.listens_for(Session, "before_flush")
def _count_changes(session: Session, _context, _instances) -> None:
    """Add one to the ``revision`` of every portfolio whose profile or items this flush changes.

    Done here, in every session's flush, rather than in the services, so that no write path can
    forget it: pages, API, CLI and demo all flush through the ORM (a Core statement that changes items
    must bump the revision itself). The bump is an ``UPDATE … SET revision = revision + 1`` in the
    same transaction as the change: concurrent writers each count (no lost update), a rollback undoes
    both, and a reader that sees the new items sees the new revision. A move of an item from one
    portfolio to another counts for both. The in-memory value is expired, to be read again if asked.
    """
    changed: set = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, PortfolioItem):
            changed.add(obj.portfolio_id)
            changed.update(inspect(obj).attrs.portfolio_id.history.deleted or ())
        elif isinstance(obj, Portfolio):
            changed.add(obj.id)
    changed.discard(None)  # a portfolio not inserted yet starts at 0 with whatever it holds
    if not changed:
        return
    table = Portfolio.__table__
    # ``updated_at`` is named so that its ``onupdate`` does not fire: it stays the profile's own date.
    session.execute(update(table).where(table.c.id.in_(changed))
                    .values(revision=table.c.revision + 1, updated_at=table.c.updated_at))
    for portfolio_id in changed:
        portfolio = session.identity_map.get(identity_key(Portfolio, portfolio_id))
        if portfolio is not None:
            session.expire(portfolio, ["revision"])
