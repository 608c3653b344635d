"""Accounts, one-time tokens (e-mail verification, reset, e-mail change) and API tokens."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Optional

from flask_login import UserMixin
from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import db, IdMixin, TimestampMixin, utcnow

if TYPE_CHECKING:
    from app.models.portfolio import Portfolio

class User(IdMixin, TimestampMixin, UserMixin, db.Model):
    __tablename__ = "users"
    # Covering index of the indicators' one pass over the accounts (app/services/indicators.py).
    __table_args__ = (Index("ix_users_indicators", "role", "is_admin", "email_verified_at", "suspended_at",
                            "last_login_at"),)

    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    email_verified_at: Mapped[Optional[datetime]]
    role: Mapped[str] = mapped_column(String(20), default="citizen")  # citizen | counsellor
    is_admin: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[Optional[str]] = mapped_column(String(8))
    timezone: Mapped[Optional[str]] = mapped_column(String(64))
    # Set from an institution's roster on activation (app/services/institutions.py); minors' rules read it.
    birth_date: Mapped[Optional[date]] = mapped_column(Date)
    # Bumped on password change or "log out everywhere": sessions carrying an older value end.
    session_version: Mapped[int] = mapped_column(default=1)
    # Per-account login backoff, kept in the database so that every worker sees it.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[Optional[datetime]]
    last_login_at: Mapped[Optional[datetime]]
    last_reset_sent_at: Mapped[Optional[datetime]]
    # Set by a platform admin (app/services/admin.py): no sign-in, no token, public pages answer 410.
    suspended_at: Mapped[Optional[datetime]]
    suspension_reason: Mapped[Optional[str]] = mapped_column(String(2000))

    portfolio: Mapped["Portfolio"] = relationship(
        back_populates="owner", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )
    api_tokens: Mapped[list["ApiToken"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def get_id(self) -> str:
        """Flask-Login session identity: the id plus the session version, so old sessions stop matching."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_active(self) -> bool:
        """Flask-Login's "active": not suspended (app/services/admin.py). ``login_user`` and every session
        start then refuse a suspended account, whichever door it comes through (review 14, L9)."""
        return self.suspended_at is None

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class OneTimeToken(IdMixin, db.Model):
    """A single-use, expiring token sent by e-mail; only its SHA-256 is stored."""

    __tablename__ = "one_time_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # verify_email | reset_password | change_email
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[Optional[str]] = mapped_column(String(254))  # new address for change_email
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship()


class ApiToken(IdMixin, db.Model):
    """A personal access token for the JSON API; only its SHA-256 is stored, shown once at creation."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to recognise a token in lists
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[datetime]]
    expires_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship(back_populates="api_tokens")

    @property
    def is_active(self) -> bool:
        now = utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
