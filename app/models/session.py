"""Server-side HTTP sessions (the table Flask-Session's SQLAlchemy backend reads and writes)."""
import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, Float, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import db


class HttpSession(db.Model):
    __tablename__ = "http_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    # Naive UTC, as Flask-Session compares it with datetime.utcnow().
    expiry: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    # The signed-in account, so that deleting it can find and delete all its sessions (``app.sessions``);
    # the foreign key deletes them too, should an account ever be deleted by another path.
    user_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class RateLimitCounter(db.Model):
    """A fixed-window rate-limit counter shared by every worker (``app.ratelimits``), when no Redis."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int]
    # When the window ends, in seconds since the epoch (what the ``limits`` library works with).
    expires_at: Mapped[float] = mapped_column(Float, index=True)
