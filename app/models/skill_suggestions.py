"""The writing aid's memory: the framework concepts an owner dismissed as suggestions for an experience.

A dismissal is kept per experience (a skill that does not fit a waitress job may well fit the next one)
and by concept URI rather than concept id, so that it survives a new version of the framework (concepts
are updated in place by URI). It ends with its experience.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import IdMixin, db, utcnow


class SkillSuggestionDismissal(IdMixin, db.Model):
    __tablename__ = "skill_suggestion_dismissals"
    __table_args__ = (UniqueConstraint("experience_id", "concept_uri", name="uq_skill_suggestion_dismissals"),)

    experience_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiences.id", ondelete="CASCADE"))
    concept_uri: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
