"""Server-side HTTP sessions (the table Flask-Session's SQLAlchemy backend reads and writes)."""
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import db



class HttpSession(db.Model):
    __tablename__ = "http_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(255), unique=True)
    data: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    # Naive UTC, as Flask-Session compares it with datetime.utcnow().
    expiry: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
