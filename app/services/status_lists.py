"""Bitstring Status Lists of the issuing organisations: index allocation, and the signed list credential.

Built on :mod:`certs.status` (the bitstring, its encoding, the list credential's shape). Choices:

- One open list per organisation and purpose (``revocation``, ``suspension``), each of
  ``certs.status.MIN_LENGTH`` (131,072) bits: the herd that makes one fetched list tell nothing about
  which credential is being checked.
- Indexes are drawn at random, as the specification advises (sequential ones would reveal the order of
  issuance). One mechanism for one credential and for a thousand: ``draw`` picks random candidates and
  checks a whole set of them free in one query (reading only), then ``claim`` writes their entries in
  one ``INSERT … ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL alike) and counts them in ``used``.
  Uniqueness is the database's job, not a Python set's: ``(list, index)`` is unique, so a slot that
  another writer took between the draw and the claim is simply not written, and drawn again, without
  a savepoint. A bulk award draws a chunk's indexes before signing its rows outside the write
  transaction, and claims them when it writes the rows; ``allocate`` is draw-then-claim for one. A list
  is closed when half full, so that a draw rarely clashes (at most one in two).
- The bits are never edited in place: ``publish`` rebuilds them from the credentials' state (revoked or
  suspended) under a row lock, then re-signs the list. Two concurrent revocations on one list therefore
  cannot lose each other's bit, and a list can always be rebuilt from the truth.
- The list credential is signed with the organisation's current key (``orgs.signing_key``) and stored
  with its ETag, so that ``/status/<id>`` serves stored bytes and a cache can revalidate cheaply.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models.credentials import PURPOSES, Credential, StatusEntry, StatusList
from app.services import orgs
from app.services.errors import ServiceError
from badges.loader import document_loader
import certs
from certs.status import MIN_LENGTH, StatusList as Bitstring, status_entry, status_list_credential

FILL_LIMIT = 2  # a list takes new entries until 1/FILL_LIMIT of its indexes are used
MAX_DRAWS = 64  # random draws before giving up (each clashes with probability below 1/FILL_LIMIT)


def list_url(status_list: StatusList | uuid.UUID) -> str:
    """The public URL of a list, which is also the list credential's ``id``."""
    list_id = status_list.id if isinstance(status_list, StatusList) else status_list
    return f"{current_app.config['BASE_URL'].rstrip('/')}/status/{list_id}"


def _state_column(purpose: str):
    return Credential.revoked_at if purpose == "revocation" else Credential.suspended_at


def _open_list(session: Session, organisation, purpose: str, full: set[uuid.UUID] = frozenset()) -> StatusList:
    """The organisation's list for ``purpose`` that still takes entries, other than ``full`` ones (a
    new, published one if none)."""
    query = select(StatusList).where(StatusList.organisation_id == organisation.id,
                                     StatusList.purpose == purpose,
                                     StatusList.used * FILL_LIMIT < StatusList.length)
    if full:
        query = query.where(StatusList.id.not_in(full))
    found = session.scalars(query.order_by(StatusList.created_at.desc()).limit(1)).first()
    if found is not None:
        return found
    status_list = StatusList(id=uuid.uuid4(), organisation_id=organisation.id, purpose=purpose,
                             length=MIN_LENGTH, bits=bytes(MIN_LENGTH // 8), used=0)
    session.add(status_list)
    session.flush()
    _sign(session, status_list, organisation, Bitstring(MIN_LENGTH))
    return status_list


def _free_indexes(session: Session, status_list: StatusList, count: int, busy: set[int]) -> list[int]:
    """``count`` distinct random indexes of ``status_list`` that no entry holds and ``busy`` does not name:
    random candidates, checked against the database a whole set at a time (the list is at most half
    full, so each round keeps at least half of them)."""
    chosen: set[int] = set()
    for _ in range(MAX_DRAWS):
        candidates: set[int] = set()
        while len(candidates) < count - len(chosen):
            index = secrets.randbelow(status_list.length)
            if index not in chosen and index not in busy:
                candidates.add(index)
        taken = set(session.scalars(select(StatusEntry.list_index).where(
            StatusEntry.status_list_id == status_list.id, StatusEntry.list_index.in_(candidates))))
        chosen |= candidates - taken
        if len(chosen) == count:
            result = list(chosen)
            secrets.SystemRandom().shuffle(result)  # a set's order is not random enough to hand out
            return result
    raise ServiceError("no free status list index could be drawn", code="status_list_full", status=503)


Slot = tuple[StatusList, int]


def draw(session: Session, organisation, purpose: str, count: int, *,
         held: Mapping[uuid.UUID, set[int]] | None = None) -> list[Slot]:
    """``count`` random indexes of the organisation's open lists for ``purpose``, free when drawn, for
    ``claim`` to write. Reads only, except to open a new list when the open one is full.

    ``held``: indexes drawn earlier but not claimed yet (a bulk award signs rows between ``draw`` and
    ``claim``), which must be neither drawn again nor left out of a list's room."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    held = held or {}
    slots: list[Slot] = []
    full: set[uuid.UUID] = set()
    while len(slots) < count:
        status_list = _open_list(session, organisation, purpose, full)
        busy = set(held.get(status_list.id, ())) | {index for s, index in slots if s.id == status_list.id}
        room = -(-status_list.length // FILL_LIMIT) - status_list.used - len(busy)
        take = min(count - len(slots), room)
        if take > 0:
            slots += [(status_list, index) for index in _free_indexes(session, status_list, take, busy)]
        if take == room or take <= 0:
            full.add(status_list.id)
    return slots


def claim(session: Session, slots: list[Slot], owners: list[tuple[uuid.UUID | None, str | None]]) -> list[bool]:
    """Write the entries of drawn ``slots`` for their ``owners`` (credential id, or for a credential not
    stored here its reference) and count them in their lists' ``used``; for each slot, whether it was
    written. One INSERT … ON CONFLICT DO NOTHING for all (SQLite and PostgreSQL alike): a slot that a
    concurrent writer took since the draw is simply not written, without a savepoint, and its caller
    draws again."""
    if not slots:
        return []
    module = {"sqlite": sqlite, "postgresql": postgresql}[session.get_bind().dialect.name]
    rows = [{"id": uuid.uuid4(), "status_list_id": status_list.id, "list_index": index,
             "credential_id": credential_id, "credential_ref": reference}
            for (status_list, index), (credential_id, reference) in zip(slots, owners, strict=True)]
    statement = (module.insert(StatusEntry)
                 .on_conflict_do_nothing(index_elements=["status_list_id", "list_index"])
                 .returning(StatusEntry.status_list_id, StatusEntry.list_index))
    # Executemany (one compiled statement, cached) with RETURNING: SQLAlchemy's "insertmanyvalues".
    written = set(map(tuple, session.execute(statement, rows).all()))
    counts: dict[uuid.UUID, int] = {}
    for list_id, _index in written:
        counts[list_id] = counts.get(list_id, 0) + 1
    for list_id, added in counts.items():
        session.execute(update(StatusList).where(StatusList.id == list_id)
                        .values(used=StatusList.used + added).execution_options(synchronize_session=False))
    for status_list, _index in slots:
        if status_list.id in counts:
            session.expire(status_list, ["used"])
    return [(status_list.id, index) in written for status_list, index in slots]


def allocate(session: Session, organisation, credential_id: uuid.UUID | None, purpose: str, *,
             credential_ref: str | None = None) -> dict:
    """Give the (already flushed) credential a random free index for ``purpose`` (``draw`` then
    ``claim``, again on a clash); return its ``BitstringStatusListEntry`` for ``credentialStatus``.
    ``credential_id`` is None for a credential that is not stored here (the VC-API issuer's), then named
    by ``credential_ref``."""
    for _ in range(MAX_DRAWS):
        slot = draw(session, organisation, purpose, 1)[0]
        if claim(session, [slot], [(credential_id, credential_ref)])[0]:
            return status_entry(list_url(slot[0].id), slot[1], purpose)
    raise ServiceError("no free status list index could be drawn", code="status_list_full", status=503)


def publish(session: Session, status_list: StatusList, organisation) -> None:
    """Rebuild the list's bits from its credentials' state and re-sign it (the row is locked meanwhile)."""
    session.execute(select(StatusList.id).where(StatusList.id == status_list.id).with_for_update())
    bits = Bitstring(status_list.length)
    state = _state_column(status_list.purpose)
    for index in session.scalars(select(StatusEntry.list_index)
                                 .join(Credential, Credential.id == StatusEntry.credential_id)
                                 .where(StatusEntry.status_list_id == status_list.id, state.is_not(None))):
        bits.set(index)
    for index in session.scalars(select(StatusEntry.list_index)  # credentials not stored here (VC-API)
                                 .where(StatusEntry.status_list_id == status_list.id,
                                        StatusEntry.credential_id.is_(None), StatusEntry.set_at.is_not(None))):
        bits.set(index)
    _sign(session, status_list, organisation, bits)


def publish_for(session: Session, credential: Credential, purpose: str) -> None:
    """Re-sign every list of ``purpose`` that holds an entry of ``credential``."""
    for entry in credential.entries:
        if entry.status_list.purpose == purpose:
            publish(session, entry.status_list, credential.organisation)


def _sign(session: Session, status_list: StatusList, organisation, bits: Bitstring,
          now: datetime | None = None) -> None:
    now = now or utcnow()
    unsigned = status_list_credential(list_url(status_list), organisation.did, status_list.purpose,
                                      bits.encode(), valid_from=now)
    signed = certs.sign(unsigned, orgs.signing_key(session, organisation, status_list=True), document_loader(), created=now)
    status_list.bits = bits.to_bytes()
    status_list.document = signed
    status_list.etag = hashlib.sha256(json.dumps(signed, sort_keys=True).encode()).hexdigest()[:32]
    status_list.updated_at = now
    session.flush()


def get(session: Session, list_id: uuid.UUID) -> StatusList | None:
    return session.get(StatusList, list_id)
