"""Exports of an owner's data (issue 11), and the tombstones that make erased links answer 410.

An ``Export`` is one request for a ZIP (docs/export-format.md): its state while a job builds it
(``status``, ``progress`` in percent), what was chosen (``selection``, null for everything), and, once
done, where the file is (``storage_key``, ``exports/<export id>``: nothing in storage names the owner),
its ``size`` and ``sha256`` and when its link ends (``expires_at``). ``error`` is a stable code.

With a passphrase, the request derives the key (Argon2id, ``certs.export_cipher``) and keeps only that
key, sealed by the instance master key, until the job has used it (``sealed_private_key`` and
``master_key_id``, named as ``SigningKey``'s so that ``sillage keys rotate-master`` re-seals it too); the
passphrase itself is never stored, nor put in the job queue.

An ``ErasedToken`` is the SHA-256 of a share link's token hash, kept when its owner deletes the account,
so that the link answers 410 Gone rather than 404, forever: no column names or points to the person.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import IdMixin, db, utcnow

STATUSES = ("queued", "running", "done", "failed")


def _today() -> datetime:
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


class Export(IdMixin, db.Model):
    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_user_created", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)
    selection: Mapped[Optional[list]] = mapped_column(JSON)
    encrypted: Mapped[bool] = mapped_column(default=False)
    header: Mapped[Optional[bytes]] = mapped_column(LargeBinary)  # the encrypted file's header (KDF salt)
    sealed_private_key: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    master_key_id: Mapped[Optional[str]] = mapped_column(String(16), index=True)
    rotated_at: Mapped[Optional[datetime]]
    storage_key: Mapped[Optional[str]] = mapped_column(String(200))
    size: Mapped[Optional[int]] = mapped_column(BigInteger)
    sha256: Mapped[Optional[str]] = mapped_column(String(64))
    error: Mapped[Optional[str]] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]
    expires_at: Mapped[Optional[datetime]]

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()

    @property
    def shown_status(self) -> str:
        """``queued``, ``running``, ``done``, ``failed`` or ``expired`` (a done export whose link ended)."""
        return "expired" if self.status == "done" and self.expired else self.status


class ErasedToken(db.Model):
    __tablename__ = "erased_tokens"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The day only: an exact time would help match the tombstone with other traces of the deletion.
    erased_on: Mapped[datetime] = mapped_column(default=_today)
