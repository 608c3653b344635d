"""Working together on a shared portfolio: comments on items, message threads, contributors' proposals.

Everything here hangs on a portfolio and, for the invited side, on the ``Grant`` that lets that person in
(``app.models.sharing``): revoking the grant ends the person's access at once, because every read and
write asks ``app.policy`` again; deleting the grant or the portfolio deletes the rows (cascade).

``notified_at`` marks what an e-mail digest already told the recipient: notifications are batched
(``app.services.collab.send_digests``, a periodic job), never one mail per message.

A proposed document waits encrypted with the owner's vault data key under the owner's storage prefix
(``blob_key``), so that crypto-shredding and deleting an account remove it with the vault; accepting it
streams it into the vault through ``app.services.documents.store``.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, db, utcnow
from app.models.user import User

COMMENT_ITEM_TYPES = ("experience", "skill", "diploma", "document", "credential")
PROPOSAL_KINDS = ("document", "experience", "skill")
PROPOSAL_STATUSES = ("pending", "accepted", "declined")


class Comment(IdMixin, db.Model):
    """A comment on one item; ``parent_id`` makes it a reply (the owner answering a contributor)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_item", "item_type", "item_id", "created_at"),)

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"), index=True)
    item_type: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[uuid.UUID]  # not a foreign key: items live in several tables
    author_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    parent_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)  # plain text, escaped when shown
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[Optional[datetime]]

    author: Mapped[Optional[User]] = relationship()


class Message(IdMixin, db.Model):
    """One message of the thread between a portfolio's owner and one invited person (one per grant)."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_grant_created", "grant_id", "created_at"),)

    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"))
    author_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[Optional[datetime]]  # by the recipient: a message read before the digest is not mailed
    notified_at: Mapped[Optional[datetime]]

    author: Mapped[Optional[User]] = relationship()


class Proposal(IdMixin, db.Model):
    """A contributor's addition waiting in the owner's inbox until accepted (then created) or declined."""

    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_portfolio_status", "portfolio_id", "status", "created_at"),)

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    # SET NULL: a proposal outlives its grant (the contributor's account deleted): what was given waits
    # for the owner's decision, and its blob is deleted by that decision or with the owner's vault.
    grant_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("grants.id", ondelete="SET NULL"),
                                                          index=True)
    author_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # the item's fields (experience, skill)
    note: Mapped[str] = mapped_column(Text, default="")  # to the owner
    filename: Mapped[str] = mapped_column(String(255), default="")  # a document's
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    blob_key: Mapped[Optional[str]] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decline_reason: Mapped[str] = mapped_column(String(1000), default="")
    created_item_id: Mapped[Optional[uuid.UUID]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[Optional[datetime]]
    notified_at: Mapped[Optional[datetime]]

    author: Mapped[Optional[User]] = relationship()
