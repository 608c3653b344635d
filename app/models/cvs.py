"""CV variants: one contextual CV of an owner, aimed at one opportunity.

A variant keeps what the owner chose (the target, the template, the language, the selected items in
their order, the texts written for this CV), never a copy of the items: a CV is rendered from the
portfolio as it is at download time, so a variant "regenerates" by itself after the portfolio changes.
``selection`` is a list of ``{"type": ..., "id": ...}`` (experience, diploma, skill, credential); an item
deleted since is skipped at rendering. Not a ``PortfolioItem``: editing a CV changes no portfolio content,
so it must not bump the portfolio's ``revision`` (which invalidates the timeline's cache).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, TimestampMixin, db

CV_LANGUAGES = ("fr", "en")
CONSENT_CHOICES = ("", "gdpr", "gdpr_short", "custom")


class CvVariant(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "cv_variants"
    __table_args__ = (Index("ix_cv_variants_portfolio_updated", "portfolio_id", "updated_at"),)

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    target_text: Mapped[str] = mapped_column(Text, default="")
    # A framework occupation's URI: accepted once frameworks exist (issue 12); refused until then.
    target_occupation: Mapped[Optional[str]] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    template: Mapped[str] = mapped_column(String(40), default="classic")
    selection: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    cover_letter: Mapped[str] = mapped_column(Text, default="")
    show_photo: Mapped[bool] = mapped_column(default=False)  # the photo only when the owner chooses it
    consent: Mapped[str] = mapped_column(String(20), default="")  # one of CONSENT_CHOICES
    consent_text: Mapped[str] = mapped_column(String(600), default="")  # the owner's own wording
    generated_at: Mapped[Optional[datetime]]  # when the selection was last ranked

    # Its share links (``app.models.pages.ShareLink``) end with it, as a page's do.
    share_links: Mapped[list["ShareLink"]] = relationship(  # noqa: F821
        back_populates="cv", cascade="all, delete-orphan", passive_deletes=True
    )
