"""Sharing a portfolio with people: grants (invitations and roles) and the owner's access log.

A ``Grant`` is the owner giving one person (named by e-mail; ``grantee_id`` is set when they accept) a
``role`` over a ``scope`` of their portfolio until ``expires_at`` or ``revoked_at``. The invitation link
carries 256 random bits of which only the SHA-256 is stored (``token_hash``); it works once, and only
until the grant is accepted, revoked or expired. ``scope`` is ``"all"`` or a list of ``{"type", "id"}``
(an item, or a ``section`` by name): ``app.policy`` is the one place that reads it.

An ``AccessEvent`` is one line of the owner's access log: who (an invited person, or a share link by its
label) read, downloaded or exported what, and when. The IP address is stored truncated
(``app.services.access_log``) and events older than ``SILLAGE_ACCESS_LOG_DAYS`` are pruned by a job.
The actor's and the link's labels are copied, so that the log still says who it was after the account or
the link is gone.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, TimestampMixin, db, utcnow
from app.models.portfolio import Portfolio
from app.models.user import User

ROLES = ("viewer", "contributor", "certifier", "guardian", "counsellor")
# What a scope entry may name: one item of a kind, or a whole section of the portfolio.
SCOPE_ITEM_TYPES = ("experience", "skill", "diploma", "document", "credential")
SCOPE_TYPES = (*SCOPE_ITEM_TYPES, "section")
SECTIONS = ("profile", "experiences", "diplomas", "skills", "documents", "credentials", "journal")


class Grant(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_portfolio_email", "portfolio_id", "email"),
    )

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), index=True)  # the invitee's, lower-cased
    # Set on acceptance: from then on the grant belongs to that account, whatever its address becomes.
    grantee_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                            index=True)
    role: Mapped[str] = mapped_column(String(20))
    scope: Mapped[object] = mapped_column(JSON)  # "all" or [{"type": ..., "id": ...}, ...]
    expires_at: Mapped[Optional[datetime]]
    accepted_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]
    token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(10), default="fr")  # the invitation e-mail's language
    # A grant to a group's staff (app/models/institutions.py) instead of one person: every member of that
    # group's staff holding ``group_role`` (any staff role when empty) reaches the portfolio while the grant
    # is active. Such a grant is accepted when made (the owner's one action) and has no invitation link.
    group_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                                          index=True)
    group_role: Mapped[Optional[str]] = mapped_column(String(12))
    # When the grantee last opened the shared portfolio: "recent changes" are the items changed since.
    last_seen_at: Mapped[Optional[datetime]]

    portfolio: Mapped[Portfolio] = relationship()
    grantee: Mapped[Optional[User]] = relationship(foreign_keys=[grantee_id])

    def is_active(self, now: datetime | None = None, *, despite_suspension: bool = False) -> bool:
        """Accepted, not revoked, not expired, and the owner's account not suspended: the only state in which
        the grant gives any right (the same as ``app.policy.active_clause``). A suspended account's grants
        reach nobody while it is suspended and work again once it is reinstated (review 14, M2);
        ``despite_suspension`` is for the guardian who must still be able to lift their own refusal."""
        now = now or utcnow()
        if not (self.accepted_at is not None and self.revoked_at is None
                and (self.expires_at is None or self.expires_at > now)
                and (despite_suspension or self.portfolio.owner.suspended_at is None)):
            return False
        # And, under 15, a grant to an outsider has its guardian's consent now (review 14, M5).
        from sqlalchemy.orm import object_session  # noqa: PLC0415
        from app.services import minors  # noqa: PLC0415 - the one definition lives with the age rules

        session = object_session(self)
        return session is None or not minors.grant_waits_for_consent(session, self, now.date())

    @property
    def status(self) -> str:
        """``pending``, ``active``, ``expired`` or ``revoked``: derived, never stored."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active" if self.accepted_at is not None else "pending"


class AccessEvent(IdMixin, db.Model):
    __tablename__ = "access_events"
    __table_args__ = (
        Index("ix_access_events_portfolio_created", "portfolio_id", "created_at"),
    )

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(40))  # view, download, export, ...
    object_type: Mapped[Optional[str]] = mapped_column(String(20))
    object_id: Mapped[Optional[uuid.UUID]]  # not a foreign key: the log outlives the object
    actor_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    # Not a foreign key either: links are revoked and deleted, their views stay in the log.
    share_link_id: Mapped[Optional[uuid.UUID]]
    share_link_label: Mapped[str] = mapped_column(String(120), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")  # truncated: /24 for IPv4, /48 for IPv6
