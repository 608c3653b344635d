"""What imports brought in, so that importing the same file again never duplicates it.

One row per item created by an import: its section, a fingerprint of the source item's content
(``app.services.imports.fingerprint``) and the id of the item made from it. Items are also matched by
the fingerprint of their current content, so the table matters for the case content alone cannot
catch: an imported item that the owner has edited since. A row whose item was deleted counts for
nothing (the owner removed it; importing again brings it back). Rows go with the portfolio.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import IdMixin, db, utcnow


class ImportFingerprint(IdMixin, db.Model):
    __tablename__ = "import_fingerprints"
    __table_args__ = (UniqueConstraint("portfolio_id", "section", "fingerprint",
                                       name="uq_import_fingerprints_item"),)

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
