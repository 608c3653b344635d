"""The vault's per-owner data keys (envelope encryption, DESIGN.md "The vault")."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import IdMixin, db, utcnow


class VaultKey(IdMixin, db.Model):
    """One owner's data key, stored only wrapped by the instance master key (``certs.vault``).

    ``master_key_id`` names the master key that wraps it (``certs.vault.master_key_id``), so that a
    master-key rotation knows which rows are done and can resume after an interruption. Deleting the
    row is the crypto-shred: without it, the owner's encrypted documents are noise, wherever copies lie.
    """

    __tablename__ = "vault_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[Optional[datetime]]
