"""Working together on a shared portfolio: comments, message threads, contributors' proposals, digests.

Every function takes the session, the acting user and plain values, asks ``app.policy`` (the grants'
rules and the collab section at its end), and flushes; the caller commits. Another person's object, or
one the actor may not read, is ``NotFound`` (no leak); an object the actor may read but not write to is
``Forbidden``. Texts are stored as typed and escaped when shown (Jinja autoescape; the API returns
JSON strings), never rendered as HTML.

Proposals are created in the owner's portfolio only when the owner accepts them, through the services
that own those objects (``portfolio.create_item``, ``documents.store``), so the same validation, quota
and encryption apply as if the owner had typed or uploaded them.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import policy, storage
from app.database import utcnow
from app.models import Diploma, Document, Experience, Portfolio, Skill, User
from app.models.collab import COMMENT_ITEM_TYPES, PROPOSAL_KINDS, Comment, Message, Proposal
from app.models.credentials import Credential
from app.models.sharing import Grant
from app.services import access_log, documents, portfolio as items, vault_keys
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.validation import clean
from certs import vault

ITEM_MODELS: dict[str, type] = {"experience": Experience, "skill": Skill, "diploma": Diploma,
                                "document": Document, "credential": Credential}
PROPOSAL_MODELS: dict[str, type] = {"experience": Experience, "skill": Skill}
BODY_MAX = 5000
NOTE_MAX = 2000
MAX_PENDING_PER_GRANT = 20  # a contributor cannot fill the owner's inbox (or storage) unasked
READ_SIZE = 256 * 1024


def _not_found() -> NotFound:
    return NotFound(str(_l("Not found.")))


def _invalid(name: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={name: str(message)})


def clean_text(value, name: str = "body", max_length: int = BODY_MAX, *, required: bool = True) -> str:
    """Plain text: trimmed, bounded, no control characters but line breaks and tabs."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(name, _l("Must be text."))
    value = value.replace("\r\n", "\n").strip()
    if required and not value:
        raise _invalid(name, _l("This field is required."))
    if len(value) > max_length:
        raise _invalid(name, _l("At most %(count)d characters.", count=max_length))
    if any(ord(c) < 32 and c not in "\n\t" or ord(c) == 127 for c in value):
        raise _invalid(name, _l("Control characters are not allowed."))
    return value


# --- comments --------------------------------------------------------------------------------------------

def find_item(session: Session, user: User, item_type, item_id):
    """The item if ``user`` may read and write its comments (``policy.may_comment``), else ``NotFound``."""
    model = ITEM_MODELS.get(item_type) if isinstance(item_type, str) else None
    key = policy.parse_id(item_id)
    item = session.get(model, key) if model is not None and key is not None else None
    if item is None or item.portfolio_id is None or not policy.may_comment(user, item):
        raise _not_found()
    return item


def comments_on(session: Session, user: User, item_type, item_id, *, ip: str | None = None) -> list[Comment]:
    """The item's comments, oldest first. An invited person reading them reads the item (its title, what
    was said about it): that goes to the owner's access log like any other read of shared content."""
    item = find_item(session, user, item_type, item_id)
    access_log.record(session, item.portfolio_id, action="view", object_type=item_type, object_id=item.id,
                      actor=user, ip=ip)
    return list(session.scalars(select(Comment).where(Comment.item_type == item_type, Comment.item_id == item.id)
                                .order_by(Comment.created_at, Comment.id)))


def add_comment(session: Session, user: User, item_type, item_id, body, parent_id=None, *,
                ip: str | None = None) -> Comment:
    """A comment by a contributor, or by the owner (a reply when ``parent_id`` names one on the item).

    A contributor's comment goes to the owner's access log (``comment``): it shows that they read the
    item, which the owner must be able to see (``access_log.record`` leaves the owner's own replies out)."""
    item = find_item(session, user, item_type, item_id)
    body = clean_text(body)
    parent = None
    if parent_id not in (None, ""):
        key = policy.parse_id(parent_id)
        parent = session.get(Comment, key) if key is not None else None
        if parent is None or parent.item_id != item.id or parent.item_type != item_type:
            raise _invalid("parent_id", _l("Unknown id."))
    comment = Comment(portfolio_id=item.portfolio_id, item_type=item_type, item_id=item.id, author_id=user.id,
                      parent_id=parent.id if parent else None, body=body)
    session.add(comment)
    session.flush()
    access_log.record(session, item.portfolio_id, action="comment", object_type=item_type, object_id=item.id,
                      actor=user, ip=ip)
    return comment


def recent_comments(session: Session, owner: User, limit: int = 20) -> list[Comment]:
    """The latest comments others wrote on the owner's items (for the inbox), newest first."""
    return list(session.scalars(select(Comment).where(Comment.portfolio_id == items.portfolio_of(owner).id,
                                                      Comment.author_id.is_distinct_from(owner.id))
                                .order_by(Comment.created_at.desc(), Comment.id).limit(limit)))


def portfolio_comment_counts(session: Session, portfolio_id) -> dict:
    """How many comments each item of a portfolio has, keyed by (item type, item id): one query for a
    whole page of items. Counts only (no text): a list shows the link, the comments page checks access."""
    rows = session.execute(select(Comment.item_type, Comment.item_id, func.count())
                           .where(Comment.portfolio_id == portfolio_id)
                           .group_by(Comment.item_type, Comment.item_id))
    return {(kind, item_id): count for kind, item_id, count in rows}


# --- message threads -------------------------------------------------------------------------------------

def get_grant(session: Session, user: User, grant_id) -> Grant:
    """A grant whose thread ``user`` may read (its portfolio's owner, or its active grantee)."""
    key = policy.parse_id(grant_id)
    grant = session.get(Grant, key) if key is not None else None
    if grant is None or not policy.may_read_thread(user, grant):
        raise _not_found()
    return grant


def recipient_of(session: Session, grant: Grant, author_id) -> User | None:
    """The other party of a thread: the grantee when the owner writes, else the owner."""
    owner_id = session.scalar(select(Portfolio.owner_id).where(Portfolio.id == grant.portfolio_id))
    other = grant.grantee_id if author_id == owner_id else owner_id
    return session.get(User, other) if other is not None else None


def thread(session: Session, user: User, grant: Grant) -> list[Message]:
    """The messages, oldest first; those written to ``user`` are marked read (no mail for them then)."""
    messages = list(session.scalars(select(Message).where(Message.grant_id == grant.id)
                                    .order_by(Message.created_at, Message.id)))
    now = utcnow()
    for message in messages:
        if message.author_id != user.id and message.read_at is None:
            message.read_at = now
    session.flush()
    return messages


def post_message(session: Session, user: User, grant: Grant, body) -> Message:
    if not policy.may_write_thread(user, grant):
        raise Forbidden(str(_l("This sharing has ended: the conversation is closed.")), code="thread_closed")
    message = Message(grant_id=grant.id, author_id=user.id, body=clean_text(body))
    session.add(message)
    session.flush()
    return message


def owner_threads(session: Session, owner: User) -> list[tuple[Grant, int, Message | None]]:
    """The owner's grants with a thread: (grant, unread count, last message), newest activity first."""
    portfolio = items.portfolio_of(owner)
    grants = session.scalars(select(Grant).where(Grant.portfolio_id == portfolio.id,
                                                 Grant.grantee_id.is_not(None))).all()
    return _threads(session, owner, grants)


def _threads(session: Session, user: User, grants) -> list:
    result = []
    for grant in grants:
        last = session.scalars(select(Message).where(Message.grant_id == grant.id)
                               .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()
        unread = session.scalar(select(func.count()).select_from(Message).where(
            Message.grant_id == grant.id, Message.author_id != user.id, Message.read_at.is_(None)))
        result.append((grant, unread or 0, last))
    result.sort(key=lambda row: row[2].created_at if row[2] else row[0].accepted_at or utcnow(), reverse=True)
    return result


# --- proposals -------------------------------------------------------------------------------------------

def _proposing_grant(session: Session, user: User, grant_id) -> tuple[Grant, Portfolio]:
    key = policy.parse_id(grant_id)
    grant = session.get(Grant, key) if key is not None else None
    if grant is None or grant.grantee_id != user.id or not policy.may_read_thread(user, grant):
        raise _not_found()
    portfolio = session.get(Portfolio, grant.portfolio_id)
    if not policy.can(user, "propose", portfolio):
        raise Forbidden(str(_l("Your role does not let you propose additions.")), code="not_allowed")
    pending = session.scalar(select(func.count()).select_from(Proposal).where(
        Proposal.grant_id == grant.id, Proposal.status == "pending"))
    if pending >= MAX_PENDING_PER_GRANT:
        raise Conflict(str(_l("Too many proposals are waiting for the owner's answer.")), code="too_many_pending")
    return grant, portfolio


def _log_proposal(session: Session, user: User, proposal: Proposal, ip: str | None) -> None:
    """Each proposal goes to the owner's access log (``propose``), like any other act of an invitee."""
    access_log.record(session, proposal.portfolio_id, action="propose", object_type="portfolio",
                      object_id=proposal.portfolio_id, actor=user, ip=ip)


def propose_item(session: Session, user: User, grant_id, kind, data, note="", *, ip: str | None = None) -> Proposal:
    """Propose an experience or a skill: checked now with the same rules as the owner's own form."""
    grant, portfolio = _proposing_grant(session, user, grant_id)
    model = PROPOSAL_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise _invalid("kind", _l("Choose one of: %(choices)s.", choices=", ".join(PROPOSAL_KINDS)))
    if not isinstance(data, dict):
        raise _invalid("data", _l("Must be an object."))
    rules = {name: rule for name, rule in items.RULES[model].items() if name not in ("skill_ids", "experience_ids")}
    unknown = sorted(set(data) - set(rules))
    if unknown:  # links to the owner's other items are the owner's to make
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={name: str(_l("Unknown field.")) for name in unknown})
    clean(rules, data)
    stored = {name: value for name, value in data.items() if value not in (None, "")}
    proposal = Proposal(portfolio_id=portfolio.id, grant_id=grant.id, author_id=user.id, kind=kind, data=stored,
                        note=clean_text(note, "note", NOTE_MAX, required=False))
    session.add(proposal)
    session.flush()
    _log_proposal(session, user, proposal, ip)
    return proposal


def _proposal_aad(proposal_id: uuid.UUID) -> str:
    return f"sillage-proposal:{proposal_id}"


def _owner_full() -> documents.QuotaExceeded:
    return documents.QuotaExceeded(_l("The owner's vault has no room left for this file."))


def _limited(chunks: Iterable[bytes], limit: int, room: int, quota: int, used: int, counter: list) -> Iterator[bytes]:
    for piece in chunks:
        counter[0] += len(piece)
        if counter[0] > limit:
            raise documents._too_large(limit)
        if counter[0] > room:
            raise _owner_full()
        yield piece
    if counter[0] == 0:
        raise documents.EmptyFile()


def propose_document(session: Session, user: User, grant_id, filename, chunks: Iterable[bytes], note="",
                     declared_size: int | None = None, *, ip: str | None = None) -> Proposal:
    """Propose a document for the owner's vault. It waits encrypted with the owner's data key under the
    owner's storage prefix; the per-file limit and the room left in the owner's quota apply now (and
    again on acceptance, when it really enters the vault)."""
    grant, portfolio = _proposing_grant(session, user, grant_id)
    name = documents.clean_name(filename)
    note = clean_text(note, "note", NOTE_MAX, required=False)
    owner = session.get(User, portfolio.owner_id)
    try:
        used, quota = documents.admit(session, owner, declared_size)
    except documents.QuotaExceeded:
        raise _owner_full() from None
    proposal = Proposal(id=uuid.uuid4(), portfolio_id=portfolio.id, grant_id=grant.id, author_id=user.id,
                        kind="document", data={}, note=note, filename=name)
    data_key = vault_keys.data_key_for(session, owner)
    blob_key = f"{documents.owner_prefix(portfolio.id)}/proposal-{uuid.uuid4().hex}"
    counter = [0]
    limited = _limited(chunks, documents.max_file_size(), quota - used, quota, used, counter)
    try:
        storage.put_stream(blob_key, vault.encrypt_stream(data_key, limited, _proposal_aad(proposal.id)))
    except storage.StorageUnavailable:
        raise documents.StorageDown() from None
    storage.delete_unless_committed(session, blob_key)
    proposal.blob_key, proposal.size = blob_key, counter[0]
    session.add(proposal)
    session.flush()
    _log_proposal(session, user, proposal, ip)
    return proposal


def proposal_content(session: Session, owner: User, proposal: Proposal) -> Iterator[bytes]:
    """The proposed document's bytes, decrypted and authenticated piece by piece (the owner only)."""
    if not policy.owns_portfolio(owner, proposal.portfolio_id) or proposal.blob_key is None:
        raise _not_found()
    data_key = vault_keys.data_key_for(session, owner)

    def pieces() -> Iterator[bytes]:
        with storage.open(proposal.blob_key) as handle:
            while piece := handle.read(READ_SIZE):
                yield piece

    return vault.decrypt_stream(data_key, pieces(), _proposal_aad(proposal.id))


def get_proposal(session: Session, user: User, proposal_id) -> Proposal:
    """A proposal its author or the portfolio's owner may see."""
    key = policy.parse_id(proposal_id)
    proposal = session.get(Proposal, key) if key is not None else None
    if proposal is None or not (proposal.author_id == user.id or policy.owns_portfolio(user, proposal.portfolio_id)):
        raise _not_found()
    return proposal


def inbox(session: Session, owner: User, status: str | None = "pending") -> list[Proposal]:
    query = select(Proposal).where(Proposal.portfolio_id == items.portfolio_of(owner).id)
    if status:
        query = query.where(Proposal.status == status)
    return list(session.scalars(query.order_by(Proposal.created_at.desc(), Proposal.id)))


def proposals_by(session: Session, user: User) -> list[Proposal]:
    return list(session.scalars(select(Proposal).where(Proposal.author_id == user.id)
                                .order_by(Proposal.created_at.desc(), Proposal.id)))


def _decidable(owner: User, proposal: Proposal) -> None:
    if not policy.owns_portfolio(owner, proposal.portfolio_id):
        raise _not_found()
    if proposal.status != "pending":
        raise Conflict(str(_l("This proposal was already answered.")), code="not_pending")


def accept(session: Session, owner: User, proposal: Proposal):
    """Create the proposed item in the owner's portfolio (through its own service) and return it."""
    _decidable(owner, proposal)
    if proposal.kind == "document":
        created = documents.store(session, owner, proposal.filename, proposal_content(session, owner, proposal),
                                  description=proposal.note)  # NOTE_MAX is within the description's limit
        storage.delete_after_commit(session, proposal.blob_key)
        proposal.blob_key = None
    else:
        created = items.create_item(session, owner, PROPOSAL_MODELS[proposal.kind], dict(proposal.data))
    proposal.status, proposal.decided_at, proposal.created_item_id = "accepted", utcnow(), created.id
    proposal.notified_at = None  # the author hears of it in their next digest
    session.flush()
    return created


def decline(session: Session, owner: User, proposal: Proposal, reason="") -> Proposal:
    _decidable(owner, proposal)
    proposal.decline_reason = clean_text(reason, "reason", 1000, required=False)
    proposal.status, proposal.decided_at, proposal.notified_at = "declined", utcnow(), None
    if proposal.blob_key:
        storage.delete_after_commit(session, proposal.blob_key)
        proposal.blob_key = None
    session.flush()
    return proposal


# --- e-mail digests --------------------------------------------------------------------------------------

@dataclass
class Digest:
    """What one person has not been told yet: one mail, whatever the number of messages."""

    user: User
    messages: list = field(default_factory=list)  # (Message, Grant)
    comments: list = field(default_factory=list)
    proposals: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.messages) + len(self.comments) + len(self.proposals)


def collect_digests(session: Session) -> list[Digest]:
    """Gather everything not notified yet, grouped by recipient, and mark it notified (flush only).

    Messages already read on the site are marked and left out; a comment goes to the owner, or, for the
    owner's reply, to the author of the comment replied to; a new proposal to the owner, a decided one
    to its author. The caller commits, then sends (``app.collab.emails.send_digests``): at most once.
    """
    now = utcnow()
    found: dict[uuid.UUID, Digest] = {}
    owners: dict = {}

    def owner_of(portfolio_id):
        if portfolio_id not in owners:
            owners[portfolio_id] = session.scalar(select(Portfolio.owner_id).where(Portfolio.id == portfolio_id))
        return owners[portfolio_id]

    def digest_for(user_id) -> Digest | None:
        if user_id is None:
            return None
        if user_id not in found:
            person = session.get(User, user_id)
            if person is None:
                return None
            found[user_id] = Digest(person)
        return found[user_id]

    for message, grant in session.execute(select(Message, Grant).join(Grant, Grant.id == Message.grant_id)
                                          .where(Message.notified_at.is_(None))
                                          .order_by(Message.created_at)).all():
        message.notified_at = now
        if message.read_at is None:
            recipient = grant.grantee_id if message.author_id == owner_of(grant.portfolio_id) else owner_of(
                grant.portfolio_id)
            digest = digest_for(recipient)
            if digest is not None:
                digest.messages.append((message, grant))
    for comment in session.scalars(select(Comment).where(Comment.notified_at.is_(None))
                                   .order_by(Comment.created_at)).all():  # read whole: queries follow
        comment.notified_at = now
        owner_id = owner_of(comment.portfolio_id)
        if comment.author_id != owner_id:
            recipient = owner_id
        elif comment.parent_id is not None:
            recipient = session.scalar(select(Comment.author_id).where(Comment.id == comment.parent_id))
        else:
            recipient = None
        digest = digest_for(recipient) if recipient != comment.author_id else None
        if digest is not None:
            digest.comments.append(comment)
    for proposal in session.scalars(select(Proposal).where(Proposal.notified_at.is_(None))
                                    .order_by(Proposal.created_at)).all():
        proposal.notified_at = now
        digest = digest_for(owner_of(proposal.portfolio_id) if proposal.status == "pending" else proposal.author_id)
        if digest is not None:
            digest.proposals.append(proposal)
    session.flush()
    return [digest for digest in found.values() if digest.count]
