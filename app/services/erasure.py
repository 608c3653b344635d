"""Erasure (issue 11): what account deletion removes beyond the account's own rows.

``accounts.delete_account`` deletes the user; ON DELETE CASCADE and the ORM cascades take the portfolio and
everything in it (items, vault documents, pages, CVs, share links, grants given, attestation requests,
credential links, comments on it, access log), the grants received, the API tokens and sessions; the vault's
data key is shredded first. ``erase`` (called just before) takes what points at the person from elsewhere:

- tombstones: the hash of each share link's token, and a hash of the public id of each attestation and
  endorsement the person held (``ErasedToken``, no column linking it to anyone), so that the links and
  those public pages answer 410 Gone rather than an ambiguous 404;
- invitations sent to the person's address and not yet accepted (other owners' grants, by e-mail);
- what the person wrote in other portfolios (comments and messages: their words), and their comments in
  other people's action plans (a counsellor's, with the replies and history lines that quote them); their
  name or address goes from every plan item and history line (``author_label``/``actor_label``);
- their name and address in other owners' access logs (the lines stay, anonymous: the owner still sees
  that someone read their portfolio then);
- the address a credential was issued to (``Credential.recipient_email``): the issuer keeps its record
  and the signed credential (which holds only a salted hash of the address, so it stays verifiable
  wherever the person keeps it), but no longer the address itself; its OB 2.0 hosted assertion keeps
  serving that same hash, taken from the signed credential (``credentials.documents.ob2_assertion``);
- bulk-award rows and batch parameters that name the address, and the batches the person ran;
- the cached verdicts of their backpack's badges (``backpack.erase``);
- their export files (and, once committed, every stored file: ``exports.erase_for``).

Deliberately kept: signed attestations and endorsements the person gave about someone else (they belong to
that holder, and changing a signed credential would break it), requests addressed to the person by others
(the requester's own record of whom they asked), and what the person proposed into someone else's
portfolio or plan — documents, experiences, skills, a counsellor's goals and appointment notes — accepted
or not (a gift to that owner, like an attestation: it stays with no author, and the owner may still accept
it).
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import String, cast, delete, select, update
from sqlalchemy.orm import Session

from app.models import Batch, BatchItem, Grant, User
from app.models.attestations import AttestationRequest
from app.models.collab import Comment, Message
from app.models.credentials import Credential
from app.models.exports import ErasedToken
from app.models.pages import ShareLink
from app.models.path import PlanEvent, PlanItem
from app.models.sharing import AccessEvent
from app.services import backpack, exports


def is_erased(session: Session, token_hash: str) -> bool:
    """Whether ``token_hash`` (a share link's) belonged to an account deleted since."""
    return session.get(ErasedToken, token_hash) is not None


def public_id_digest(public_id: Any) -> str:
    """The tombstone of a public page's id (an attestation or endorsement the person held): a hash, so
    that the table says nothing to whoever does not already know the address."""
    return hashlib.sha256(f"sillage-erased-page:{str(public_id).lower()}".encode("utf-8")).hexdigest()


def is_erased_page(session: Session, public_id: Any) -> bool:
    """Whether ``/attestations/<id>`` or ``/endorsements/<id>`` belonged to an account deleted since (410)."""
    return session.get(ErasedToken, public_id_digest(public_id)) is not None


def _names(value: Any, needles: set[str]) -> bool:
    return isinstance(value, str) and value.strip().lower() in needles


def _scrub(value: Any, needles: set[str]) -> Any:
    """``value`` (JSON) with every string equal to one of ``needles`` (case-insensitive) emptied, and every
    other text of an object that holds one (a bulk-award row's name beside the address is about the same
    person)."""
    if isinstance(value, dict):
        if any(_names(v, needles) for v in value.values()):
            return {k: "" if isinstance(v, str) else _scrub(v, needles) for k, v in value.items()}
        return {k: _scrub(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, needles) for v in value]
    return "" if _names(value, needles) else value


def _erase_plan_words(session: Session, user: User) -> None:
    """In others' action plans: the person's comments (with the replies to them and their history lines,
    which quote them) go; their proposals stay, like collab proposals (module docstring); their name or
    address goes from every item and line.
    ``author_id``/``actor_id`` would become NULL by themselves, but the labels copied beside them would not."""
    gone = list(session.scalars(select(PlanItem.id).where(
        PlanItem.author_id == user.id, PlanItem.kind == "comment")))
    if gone:
        gone += list(session.scalars(select(PlanItem.id).where(PlanItem.parent_id.in_(gone))))
        session.execute(delete(PlanEvent).where(PlanEvent.item_id.in_(gone)))
        session.execute(delete(PlanItem).where(PlanItem.parent_id.in_(gone)))
        session.execute(delete(PlanItem).where(PlanItem.id.in_(gone)))
    session.execute(update(PlanItem).where(PlanItem.author_id == user.id).values(author_label="", author_id=None))
    session.execute(update(PlanEvent).where(PlanEvent.actor_id == user.id).values(actor_label="", actor_id=None))


def erase(session: Session, user: User) -> None:
    """Remove or anonymise what names ``user`` outside the rows that cascade with the account. Flushes."""
    email = user.email.lower()
    portfolio = user.portfolio
    if portfolio is not None:
        hashes = session.scalars(select(ShareLink.token_hash).where(ShareLink.portfolio_id == portfolio.id))
        for token_hash in hashes:
            if session.get(ErasedToken, token_hash) is None:
                session.add(ErasedToken(token_digest=token_hash))
        held = session.scalars(select(AttestationRequest.id).where(
            AttestationRequest.portfolio_id == portfolio.id, AttestationRequest.status == "confirmed"))
        for public_id in held:
            session.merge(ErasedToken(token_digest=public_id_digest(public_id)))
        # The badges' cached verdicts have no foreign key (the table serves several kinds): no cascade.
        backpack.erase(session, portfolio.id)
    session.execute(delete(Grant).where(Grant.email == email, Grant.grantee_id.is_(None)))
    for model in (Comment, Message):
        session.execute(delete(model).where(model.author_id == user.id))
    _erase_plan_words(session, user)
    session.execute(update(AccessEvent).where(AccessEvent.actor_id == user.id)
                    .values(actor_label="", actor_id=None))
    session.execute(update(Credential).where(Credential.recipient_email == email).values(recipient_email=""))
    needle = {email}
    for item in session.scalars(select(BatchItem).where(cast(BatchItem.payload, String).contains(email))):
        item.payload = _scrub(item.payload, needle)
        if item.result is not None:
            item.result = _scrub(item.result, needle)
        if item.error_message and email in item.error_message.lower():
            item.error_message = ""
    for batch in session.scalars(select(Batch).where(cast(Batch.params, String).contains(email))):
        batch.params = _scrub(batch.params, needle)
    for batch in session.scalars(select(Batch).where(Batch.owner_id == user.id, Batch.status == "done")):
        session.delete(batch)
    exports.erase_for(session, user)
    session.flush()

