"""Public pages (a showcase the owner composes) and share links (an unguessable address to one page or CV).

A ``Page`` keeps its items as an ordered JSON list of references ``{"type": ..., "id": ...}`` rather
than a link table: the order is the owner's, one list is read and written at once, and a reference to an
item deleted since is simply skipped when the page is shown (``app.services.pages.resolve``), so
deleting an experience never has to touch pages.

A ``ShareLink`` opens a page (``page_id``) or a CV (``cv_id``): exactly one of them. Both are foreign
keys with ``ON DELETE CASCADE``: deleting a page or a CV ends its links (the ORM cascade does it too, so
that it holds whatever the database's foreign-key enforcement). Only the SHA-256
of the token is stored (``token_hash``); a password, when set, is an Argon2id hash. ``portfolio_id`` is
the owner's, so that a CV link (no page to ask) is still owned, listed and deleted with the account.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, TimestampMixin, db, utcnow

THEMES = ("horizon", "atelier", "classique")
# "attestation": a confirmed attestation or person endorsement (``AttestationRequest`` with its signed
# document); the items are JSON, so a new type needs no migration.
ITEM_TYPES = ("experience", "diploma", "skill", "credential", "attestation", "document", "external")  # external: app.models.backpack


class Page(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "pages"
    __table_args__ = (Index("ix_pages_portfolio_created", "portfolio_id", "created_at"),)

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(120))
    headline: Mapped[str] = mapped_column(String(160), default="")
    theme: Mapped[str] = mapped_column(String(20), default=THEMES[0])
    items: Mapped[list] = mapped_column(JSON, default=list)  # [{"type": ..., "id": "<uuid>"}], in order
    show_photo: Mapped[bool] = mapped_column(default=True)
    public_profile: Mapped[bool] = mapped_column(default=False)  # opt-in: search engines may index it

    share_links: Mapped[list["ShareLink"]] = relationship(back_populates="page", cascade="all, delete-orphan",
                                                          passive_deletes=True)


class ShareLink(IdMixin, db.Model):
    __tablename__ = "share_links"
    __table_args__ = (
        CheckConstraint("(page_id IS NULL) <> (cv_id IS NULL)", name="one_target"),
        Index("ix_share_links_portfolio_created", "portfolio_id", "created_at"),
    )

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    page_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    cv_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("cv_variants.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]
    view_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_viewed_at: Mapped[Optional[datetime]]

    page: Mapped[Optional[Page]] = relationship(back_populates="share_links")
    cv: Mapped[Optional["CvVariant"]] = relationship(back_populates="share_links")  # noqa: F821

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    @property
    def state(self) -> str:
        """``revoked``, ``expired`` or ``active``: what the owner's list shows and ``/s/`` answers."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"
