"""Batches of background work: one row per batch, one row per item with its own outcome.

A batch is what a long operation (a bulk award of 400 credentials, say) becomes so that it can run in
the background, show its progress, survive a crash and never do an item twice: each item carries an
idempotency key and a status that is committed in the same transaction as the item's effect
(``app.services.batches``).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow

BATCH_STATUSES = ("pending", "running", "done")
ITEM_STATUSES = ("pending", "done", "failed")


class Batch(IdMixin, db.Model):
    """A unit of background work, unique on ``(kind, key)`` so that submitting it twice is harmless.

    ``lease_owner`` / ``lease_until`` say which consumer runs it and until when that claim holds
    without renewal: a consumer killed mid-batch leaves a lease that expires, after which another
    consumer (or the same one restarted) takes the batch over. ``digest`` fingerprints what was
    submitted, so that the same key with different content is refused rather than silently merged.
    """

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_batches_kind_key"),)

    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                         index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    total: Mapped[int] = mapped_column(default=0)
    done_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[Optional[str]] = mapped_column(String(120))
    lease_until: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]

    items: Mapped[list["BatchItem"]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", passive_deletes=True,
        order_by="BatchItem.position", lazy="raise_on_sql",
    )


class BatchItem(db.Model):
    """One item of a batch: its payload, and once processed its outcome (``result`` or ``error_*``).

    Identified by ``(batch_id, position)``; ``key`` is the item's idempotency key, unique in its batch,
    which handlers use to make their effect unique too.
    """

    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "key", name="uq_batch_items_batch_id_key"),
        Index("ix_batch_items_batch_id_status_position", "batch_id", "status", "position"),
    )

    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"),
                                                primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    error_code: Mapped[Optional[str]] = mapped_column(String(64))
    error_message: Mapped[Optional[str]] = mapped_column(Text)
    finished_at: Mapped[Optional[datetime]]

    batch: Mapped[Batch] = relationship(back_populates="items")
