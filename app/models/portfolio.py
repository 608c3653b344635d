"""The owner's portfolio and its items: experiences, diplomas, skills, journal entries."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Optional

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, SmallInteger, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import db, IdMixin, TimestampMixin
from app.models.user import User

EXPERIENCE_KINDS = (
    "job", "internship", "education", "volunteering", "family", "sport", "culture", "project", "other",
)
SKILL_LEVELS = (1, 2, 3, 4)  # 1 not mastered … 4 well mastered

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
        Index("ix_skills_portfolio", "portfolio_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(SmallInteger, default=1)
    framework: Mapped[str] = mapped_column(String(120), default="")  # e.g. "ESCO", "Socle commun"
    concept_uri: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    portfolio: Mapped[Portfolio] = relationship(back_populates="skills")
    experiences: Mapped[list[Experience]] = relationship(secondary=experience_skills, back_populates="skills")


class JournalEntry(PortfolioItem, db.Model):
    """Private reflection on one's own orientation project; never shared unless the owner chooses."""

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_portfolio_created", "portfolio_id", "created_at"),)

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
