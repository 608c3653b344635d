"""Bitstring Status Lists of the issuing organisations: index allocation, and the signed list credential.

Built on :mod:`certs.status` (the bitstring, its encoding, the list credential's shape). Choices:

- One open list per organisation and purpose (``revocation``, ``suspension``), each of
  ``certs.status.MIN_LENGTH`` (131,072) bits: the herd that makes one fetched list tell nothing about
  which credential is being checked.
- Indexes are drawn at random, as the specification advises (sequential ones would reveal the order of
  issuance). Uniqueness is the database's job, not a Python set's: ``(list, index)`` is unique and each
  entry is written with ``INSERT … ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL alike), so a clash
  (another worker drew the same index at the same moment) is simply drawn again, without a savepoint.
  A list is closed when half full, so that a draw rarely clashes (at most one in two).
- A bulk award draws the indexes of many credentials at once (``reserve``: one query checks a whole
  set of random candidates, one UPDATE counts them) and then writes each entry with a single INSERT
  (``Reservation.take``); per credential that is one statement instead of five. The ``used`` count is
  taken for the whole reservation, so an index reserved for a row that then fails stays counted: the
  list closes a little early, never late.
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


def _open_list(session: Session, organisation, purpose: str) -> StatusList:
    """The organisation's list for ``purpose`` that still takes entries (a new, published one if none)."""
    found = session.scalars(select(StatusList)
                            .where(StatusList.organisation_id == organisation.id, StatusList.purpose == purpose,
                                   StatusList.used * FILL_LIMIT < StatusList.length)
                            .order_by(StatusList.created_at.desc()).limit(1)).first()
    if found is not None:
        return found
    status_list = StatusList(id=uuid.uuid4(), organisation_id=organisation.id, purpose=purpose,
                             length=MIN_LENGTH, bits=bytes(MIN_LENGTH // 8), used=0)
    session.add(status_list)
    session.flush()
    _sign(session, status_list, organisation, Bitstring(MIN_LENGTH))
    return status_list


def _insert_entry(session: Session, list_id: uuid.UUID, index: int, credential_id: uuid.UUID | None,
                  credential_ref: str | None = None) -> bool:
    """Write the entry unless ``(list, index)`` is taken; True if written. ON CONFLICT DO NOTHING rather
    than a savepoint: a clash costs nothing to undo and leaves the caller's transaction intact."""
    module = {"sqlite": sqlite, "postgresql": postgresql}[session.get_bind().dialect.name]
    statement = (module.insert(StatusEntry)
                 .values(id=uuid.uuid4(), status_list_id=list_id, list_index=index,
                         credential_id=credential_id, credential_ref=credential_ref)
                 .on_conflict_do_nothing(index_elements=["status_list_id", "list_index"])
                 .returning(StatusEntry.id))
    return session.execute(statement).first() is not None


def _draw_into(session: Session, status_list: StatusList, credential_id: uuid.UUID | None, purpose: str,
               credential_ref: str | None = None) -> dict:
    """Random draws into ``status_list`` until one index is free (``used`` is the caller's business)."""
    for _ in range(MAX_DRAWS):
        index = secrets.randbelow(status_list.length)
        if _insert_entry(session, status_list.id, index, credential_id, credential_ref):
            return status_entry(list_url(status_list.id), index, purpose)
    raise ServiceError("no free status list index could be drawn", code="status_list_full", status=503)


def allocate(session: Session, organisation, credential_id: uuid.UUID | None, purpose: str, *,
             credential_ref: str | None = None) -> dict:
    """Give the (already flushed) credential a random free index for ``purpose``; return its
    ``BitstringStatusListEntry`` for ``credentialStatus``. ``credential_id`` is None for a credential
    that is not stored here (the VC-API issuer's), then named by ``credential_ref``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    status_list = _open_list(session, organisation, purpose)
    entry = _draw_into(session, status_list, credential_id, purpose, credential_ref)
    session.execute(update(StatusList).where(StatusList.id == status_list.id)
                    .values(used=StatusList.used + 1).execution_options(synchronize_session=False))
    return entry


class Reservation:
    """Free random indexes drawn in advance for several credentials of one organisation (``reserve``).

    ``draw`` hands them out one by one; the caller writes each ``StatusEntry`` with its credential
    (one flush, no statement of its own). They were checked free in the reserving transaction: on
    SQLite that transaction holds the only write lock, so nobody can take them meanwhile; on PostgreSQL
    a concurrent single award could draw the same index in between, and the unique ``(list, index)``
    refuses the second writer (an ``IntegrityError`` that the bulk handler answers by awarding the row
    again without the reservation). Lives for one transaction: its indexes are counted in ``used``
    by that transaction only."""

    def __init__(self, organisation, purpose: str, slots: list[tuple[StatusList, int]]):
        self.organisation, self.purpose, self._slots = organisation, purpose, slots

    def __len__(self) -> int:
        return len(self._slots)

    def draw(self) -> tuple[StatusList, int] | None:
        """A reserved ``(list, index)``, or None when all were handed out."""
        return self._slots.pop() if self._slots else None


def _free_indexes(session: Session, status_list: StatusList, count: int) -> list[int]:
    """``count`` distinct random indexes of ``status_list`` that no entry holds: random candidates,
    checked against the database a whole set at a time (the list is at most half full, so each round
    keeps at least half of them)."""
    chosen: set[int] = set()
    for _ in range(MAX_DRAWS):
        candidates: set[int] = set()
        while len(candidates) < count - len(chosen):
            index = secrets.randbelow(status_list.length)
            if index not in chosen:
                candidates.add(index)
        taken = set(session.scalars(select(StatusEntry.list_index).where(
            StatusEntry.status_list_id == status_list.id, StatusEntry.list_index.in_(candidates))))
        chosen |= candidates - taken
        if len(chosen) == count:
            result = list(chosen)
            secrets.SystemRandom().shuffle(result)  # a set's order is not random enough to hand out
            return result
    raise ServiceError("no free status list index could be drawn", code="status_list_full", status=503)


def reserve(session: Session, organisation, purpose: str, count: int) -> Reservation:
    """Draw ``count`` free random indexes of the organisation's open lists for ``purpose`` at once
    (opening a new list when one reaches its fill limit) and count them as used."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    slots: list[tuple[StatusList, int]] = []
    while len(slots) < count:
        status_list = _open_list(session, organisation, purpose)
        room = -(-status_list.length // FILL_LIMIT) - status_list.used
        take = min(count - len(slots), room)
        slots += [(status_list, index) for index in _free_indexes(session, status_list, take)]
        session.execute(update(StatusList).where(StatusList.id == status_list.id)
                        .values(used=StatusList.used + take).execution_options(synchronize_session=False))
        session.expire(status_list, ["used"])
    return Reservation(organisation, purpose, slots)


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
    signed = certs.sign(unsigned, orgs.signing_key(session, organisation), document_loader(), created=now)
    status_list.bits = bits.to_bytes()
    status_list.document = signed
    status_list.etag = hashlib.sha256(json.dumps(signed, sort_keys=True).encode()).hexdigest()[:32]
    status_list.updated_at = now
    session.flush()


def get(session: Session, list_id: uuid.UUID) -> StatusList | None:
    return session.get(StatusList, list_id)
