"""Single sign-on: an account's identities at the operator's OpenID Connect providers."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import db, IdMixin, utcnow
from app.models.user import User


class ExternalIdentity(IdMixin, db.Model):
    """One account at one provider, named by the provider's ``sub``.

    The pair (provider, subject) is unique: the ``sub`` is the only stable identifier OpenID Connect
    promises (an e-mail can change hands); the provider is the operator's configured name, so that two
    providers never collide. ``email`` is what the provider said at the last sign-in, for the settings page.
    """

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship()
