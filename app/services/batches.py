"""Batches: a long operation split into items that run in the background, resumable and idempotent.

A batch is created once per idempotency key (``create_batch``: the same file submitted twice is the same
batch, nothing is redone), then run by a job (``run_batch_job`` → ``run_batch``) that takes the items
in order, **one transaction per item holding both the item's effect and its new status** (or per few
items: ``per_transaction``). A consumer killed at any instant therefore leaves each item either done
(effect and status committed together) or pending (neither): a restart finishes the pending ones and
repeats none.

Who runs a batch is decided by a lease on its row (``lease_owner``, ``lease_until``), taken and renewed
by conditional UPDATEs, which work the same on SQLite and PostgreSQL. Each item's transaction begins by
renewing the lease, which also locks the batch row (PostgreSQL row lock; SQLite's single writer) until
that item commits: two consumers handed the same batch never interleave, and the one that lost the
lease stops. A lease left by a dead consumer expires after ``JOBS_LEASE_SECONDS``; the sweep
(``resume_unfinished``, at consumer start and every minute) then enqueues the batch again.

Use (a bulk award, say)::

    batch = batches.create_batch(db.session, "award", rows, f"{organisation.id}:{file_sha256}",
                                 owner=user, params={"achievement": str(achievement.id)},
                                 item_key=lambda row, position: row["email"])
    db.session.commit()                      # then enqueue: the job reads what was committed
    batches.run_batch_job(str(batch.id))     # the page polls batches.progress(batch), batches.report(...)

**The handler contract** (``handler(session, batch, item) -> dict | None``, registered per kind with
``@handler("kind")``, or passed to ``run_batch``):

- it works through ``session`` and flushes, never commits: its writes commit with the item's status,
  or roll back with it (it runs in a SAVEPOINT, so a failed item leaves no partial effect);
- it returns a JSON-able dict (the item's ``result``, shown in the per-row report) or None;
- it raises ``ItemFailed(code, message)`` (or any error carrying ``code`` and ``message``, such as a
  ``ServiceError``) for a row that cannot be done: the item is marked failed with that code and the
  batch goes on. Any other exception also fails the item (``internal_error``, logged), except
  database connection errors, which stop the run and leave the item pending for a later attempt;
- its effect must be idempotent on the item (``batch.id`` and ``item.key``; e.g. a unique column): the
  transaction already makes a repeat impossible, and the unique key keeps it so even if someone calls
  the handler outside ``run_batch``;
- anything outside the database (an e-mail, a webhook) cannot share the transaction: enqueue it as a
  job of its own after the commit, itself idempotent, rather than doing it inside the handler.

**Pipelined batches** (``@handler(kind, ..., pipeline=factory)``): when most of an item's work needs no
database (signing a credential), holding the write lock through it would serialise everything behind
it (SQLite has one writer). ``factory(session, batch)`` returns an object with
``ahead(session, batch, items)``, called for the next transactions' items *outside* any write
transaction, up to ``depth`` transactions in advance (where work can be handed to other processes),
``write(session, batch, items, ahead_result) -> list[dict | None | Exception]`` (one outcome per item,
in order; an exception carrying ``code`` and ``message`` fails its item), called inside the items'
transaction, and ``close()``, called when the run ends however it ends. The transactions themselves
stay short and in order, and the guarantees above hold unchanged: ``ahead`` must write nothing that an
item's outcome depends on, since a crash loses its work and the items stay pending. Should ``write``
raise, its transaction's items are redone one by one by the item handler, each in its savepoint.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from app import jobs
from app.database import utcnow
from app.extensions import db
from app.models.jobs import Batch, BatchItem
from app.services.errors import ServiceError

log = logging.getLogger(__name__)

Handler = Callable[..., "dict[str, Any] | None"]
Prepare = Callable[[Session, Batch, "list[BatchItem]"], Any]
HANDLERS: dict[str, Handler] = {}
MAX_KEY = 200
# Errors that say "the database is not reachable" rather than "this item is wrong": retry later.
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError)


class BatchError(ServiceError):
    code = "invalid_batch"


class ItemFailed(Exception):
    """Raised by a handler for an item that cannot be done; ``code`` is stable, ``message`` for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def handler(kind: str, *, per_transaction: int = 1, prepare: Prepare | None = None, pipeline=None,
            depth: int = 2):
    """Register the handler of a batch kind, in a module that every consumer imports: one that
    ``create_app`` imports anyway (a blueprint's routes importing its service), or one named in
    ``SILLAGE_JOBS_IMPORTS``; ``run_batch`` says so when a kind has no handler.

    ``per_transaction`` items share one transaction (default 1): more saves commits (each is a disk
    sync on PostgreSQL) at the price of redoing up to that many items' work after a crash, never of
    doing any twice, as those items' effects and statuses roll back together.

    ``prepare(session, batch, items) -> context``, if given, runs once per transaction before its
    items, and the handler is then called as ``handler(session, batch, item, context)``: what the items
    share (a key to unseal, a right to check, rows to look up together) is done once per transaction
    instead of once per item. It runs in the transaction, outside the items' savepoints, so it must not
    fail for one item's sake: a refusal that concerns every item belongs in the context, for the
    handler to raise on each; an exception from ``prepare`` itself stops the run, its items pending.

    ``pipeline`` and ``depth``: see "Pipelined batches" in the module docstring."""
    def register(fn: Handler) -> Handler:
        fn.per_transaction = per_transaction
        fn.prepare = prepare
        fn.pipeline, fn.depth = pipeline, max(1, depth)
        HANDLERS[kind] = fn
        return fn

    return register


def _digest(params: Mapping, rows: list[tuple[str, Mapping]]) -> str:
    try:
        text = json.dumps({"params": params, "items": rows}, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BatchError(str(_l("Batch items and parameters must be plain JSON.")),
                         code="invalid_payload") from exc
    return hashlib.sha256(text.encode()).hexdigest()


def _insert_ignoring_duplicate(session: Session, values: dict) -> bool:
    """INSERT the batch row unless ``(kind, key)`` exists; True if inserted. ON CONFLICT DO NOTHING
    (SQLite and PostgreSQL alike) rather than a SAVEPOINT: no error, hence nothing to roll back in the
    caller's transaction when a concurrent request submitted the same batch a moment earlier."""
    dialect = session.get_bind().dialect.name
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect)
    if module is None:
        raise RuntimeError(f"batches need SQLite or PostgreSQL, not {dialect}")
    statement = (module.insert(Batch).values(**values).on_conflict_do_nothing(index_elements=["kind", "key"])
                 .returning(Batch.id))  # a row back if inserted (an INSERT's rowcount is not reliable)
    return session.execute(statement).first() is not None


def create_batch(session: Session, kind: str, items: Sequence[Mapping], key: str, *, owner=None,
                 params: Mapping | None = None,
                 item_key: Callable[[Mapping, int], str] | None = None) -> Batch:
    """The batch of ``kind`` with idempotency ``key``, created with ``items`` (JSON payloads) if new.

    Submitting the same key again returns the existing batch untouched, whatever its state (nothing is
    redone); the same key with different items or ``params`` is refused (``batch_conflict``) rather
    than merged. ``item_key(payload, position)`` gives each item's idempotency key (default: its
    position); keys must be unique in the batch. ``params`` is what the handler needs besides the
    items (an achievement id, say). Flushes; the caller commits, then enqueues ``run_batch_job``.
    """
    if not kind or len(kind) > 64 or not key or len(key) > MAX_KEY:
        raise BatchError(str(_l("A batch needs a kind (64 characters at most) and a key (200 at most).")))
    if not items:
        raise BatchError(str(_l("A batch needs at least one item.")), code="empty_batch")
    params = dict(params or {})
    rows: list[tuple[str, Mapping]] = []
    seen: set[str] = set()
    for position, payload in enumerate(items):
        name = str(item_key(payload, position) if item_key else position)
        if not name or len(name) > MAX_KEY:
            raise BatchError(str(_l("Item %(position)s: its key must have 1 to 200 characters.",
                                    position=position + 1)), code="invalid_item")
        if name in seen:
            raise BatchError(str(_l("Item %(position)s repeats the key of an earlier item.",
                                    position=position + 1)), code="duplicate_item")
        seen.add(name)
        rows.append((name, dict(payload)))
    digest = _digest(params, rows)

    batch_id = uuid.uuid4()
    inserted = _insert_ignoring_duplicate(session, {
        "id": batch_id, "kind": kind, "key": key, "digest": digest, "params": params, "status": "pending",
        "total": len(rows), "done_count": 0, "failed_count": 0, "created_at": utcnow(),
        "owner_id": getattr(owner, "id", owner)})
    if inserted:
        session.execute(insert(BatchItem), [
            {"batch_id": batch_id, "position": position, "key": name, "payload": payload, "status": "pending"}
            for position, (name, payload) in enumerate(rows)])
        return session.get(Batch, batch_id)
    existing = session.scalars(select(Batch).where(Batch.kind == kind, Batch.key == key)).one()
    if existing.digest != digest:
        raise BatchError(str(_l("A different batch was already submitted under this key.")),
                         code="batch_conflict", status=409)
    return existing


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def _renew(session: Session, batch_id, owner: str, until: datetime, now: datetime, *, claim: bool) -> bool:
    """Take (``claim``) or renew the lease with one conditional UPDATE; True if this owner holds it now.

    As the first statement of a transaction it also locks the batch row until that transaction ends."""
    condition = Batch.lease_owner == owner
    if claim:
        condition = or_(Batch.lease_owner.is_(None), Batch.lease_until < now, condition)
    values = {"lease_owner": owner, "lease_until": until}
    if claim:
        values["status"] = "running"
    statement = (update(Batch).where(Batch.id == batch_id, Batch.status != "done", condition).values(**values)
                 .execution_options(synchronize_session=False))
    return session.execute(statement).rowcount == 1


def _failure(exc: Exception, batch: Batch, item: BatchItem) -> tuple[str, str]:
    code, message = getattr(exc, "code", None), getattr(exc, "message", None)
    if isinstance(code, str) and code and message is not None:  # an expected refusal, told as such
        return code[:64], str(message)
    log.exception("Batch %s (%s), item %s failed unexpectedly", batch.id, batch.kind, item.position)
    # Stored with the item, in the instance's default language (a job has no reader); pages may
    # translate by code.
    return "internal_error", str(_l("An unexpected error stopped this item; the operators were told."))


def _process(session: Session, batch: Batch, item: BatchItem, handle: Handler, now: datetime,
             context: tuple = ()) -> bool:
    """Run the handler on one item in a SAVEPOINT and record its outcome (the caller commits both);
    True if the item is done, False if it failed."""
    try:
        with session.begin_nested():
            result = handle(session, batch, item, *context)
            if result is not None:
                json.dumps(result, allow_nan=False)  # fail this item now, not the commit later
    except TRANSIENT:
        raise
    except Exception as exc:  # noqa: BLE001 - every other error is this item's outcome
        item.status, item.result = "failed", None
        item.error_code, item.error_message = _failure(exc, batch, item)
        item.finished_at = now
        return False
    item.status, item.result = "done", result
    item.finished_at = now
    return True


def run_batch(batch_id, handler: Handler | None = None, *, session: Session | None = None,
              should_stop: Callable[[], bool] = jobs.stopping,
              per_transaction: int | None = None) -> Batch | None:
    """Process the batch's pending items in order, one committed transaction per item (or per
    ``per_transaction`` items); return the batch when it is finished, None when another consumer holds
    it or this one must stop.

    Unlike services, this commits (it is the job's loop); call it from a job or a command, with no
    work of the caller's pending in ``session``. ``handler`` defaults to the one registered for the
    batch's kind. Safe to call any number of times, from any number of consumers, at once.
    """
    session = session or db.session
    batch_id = uuid.UUID(str(batch_id))
    ttl = timedelta(seconds=_setting("JOBS_LEASE_SECONDS", 60))
    owner = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
    now = utcnow()
    if not _renew(session, batch_id, owner, now + ttl, now, claim=True):
        session.rollback()
        return None
    batch = session.get(Batch, batch_id)
    handle = handler or HANDLERS.get(batch.kind)
    if handle is None:
        session.rollback()
        raise RuntimeError(f"No handler for batches of kind {batch.kind!r}: is its module imported by the "
                           f"consumer (SILLAGE_JOBS_IMPORTS)?")
    per_transaction = max(1, per_transaction or getattr(handle, "per_transaction", 1))
    batch.started_at = batch.started_at or now
    session.commit()
    run = _Run(session, batch_id, owner, ttl, should_stop, handle, per_transaction)
    if getattr(handle, "pipeline", None) is not None:
        return run.pipelined()
    while True:
        if not run.proceed():
            return None
        batch = session.get(Batch, batch_id, populate_existing=True)
        items = session.scalars(select(BatchItem).where(BatchItem.batch_id == batch_id,
                                                        BatchItem.status == "pending")
                                .order_by(BatchItem.position).limit(per_transaction)).all()
        if not items:
            return run.finish(batch)
        run.one_by_one(batch, items)


class _Run:
    """One consumer's run of a batch: its lease, its transactions, and how their items are done."""

    def __init__(self, session, batch_id, owner, ttl, should_stop, handle, per_transaction):
        self.session, self.batch_id, self.owner, self.ttl = session, batch_id, owner, ttl
        self.should_stop, self.handle, self.per_transaction = should_stop, handle, per_transaction

    def proceed(self) -> bool:
        """Begin the next transaction by renewing the lease; False (and the lease released, or lost)
        when this consumer must stop."""
        session, now = self.session, utcnow()
        if self.should_stop():  # leave the rest to the next consumer, at once
            session.execute(update(Batch).where(Batch.id == self.batch_id, Batch.lease_owner == self.owner)
                            .values(lease_owner=None, lease_until=None))
            session.commit()
            return False
        if not _renew(session, self.batch_id, self.owner, now + self.ttl, now, claim=False):
            session.rollback()
            log.warning("Batch %s: lease lost to another consumer; stopping here", self.batch_id)
            return False
        return True

    def finish(self, batch: Batch) -> Batch:
        batch.status, batch.finished_at = "done", utcnow()
        batch.lease_owner = batch.lease_until = None
        self.session.commit()
        return batch

    def one_by_one(self, batch: Batch, items: list[BatchItem]) -> None:
        """The items of this transaction, each in its savepoint through the item handler; commits."""
        session, handle, now = self.session, self.handle, utcnow()
        prepare = getattr(handle, "prepare", None)
        context = (prepare(session, batch, items),) if prepare is not None else ()
        done = sum(_process(session, batch, item, handle, now, context) for item in items)
        self.commit(done, len(items))

    def commit(self, done: int, count: int) -> None:
        # The counters once per transaction, not once per item (an UPDATE of the batch row each).
        self.session.execute(update(Batch).where(Batch.id == self.batch_id)
                             .values(done_count=Batch.done_count + done,
                                     failed_count=Batch.failed_count + count - done)
                             .execution_options(synchronize_session=False))
        self.session.commit()

    def pipelined(self) -> Batch | None:
        """The run of a pipelined handler (module docstring): ``ahead`` on the next transactions' items
        outside any write transaction, then each transaction in order."""
        session, handle = self.session, self.handle
        batch = session.get(Batch, self.batch_id)
        pipeline = handle.pipeline(session, batch)
        queued: deque = deque()
        last = -1
        try:
            while True:
                while len(queued) < handle.depth:
                    items = session.scalars(select(BatchItem).where(
                        BatchItem.batch_id == self.batch_id, BatchItem.status == "pending",
                        BatchItem.position > last).order_by(BatchItem.position).limit(self.per_transaction)).all()
                    if not items:
                        break
                    last = items[-1].position
                    queued.append(([item.position for item in items], pipeline.ahead(session, batch, items)))
                    session.commit()  # no read transaction left open across the next write
                if not self.proceed():
                    return None
                batch = session.get(Batch, self.batch_id, populate_existing=True)
                if not queued:
                    return self.finish(batch)
                positions, prepared = queued.popleft()
                items = session.scalars(select(BatchItem).where(
                    BatchItem.batch_id == self.batch_id, BatchItem.status == "pending",
                    BatchItem.position.in_(positions)).order_by(BatchItem.position)
                    .execution_options(populate_existing=True)).all()
                self.write(pipeline, batch, items, prepared)
        finally:
            pipeline.close()

    def write(self, pipeline, batch: Batch, items: list[BatchItem], prepared) -> None:
        """One pipelined transaction: ``write`` for all its items, or else the items one by one."""
        session, now = self.session, utcnow()
        try:
            with session.begin_nested():
                outcomes = pipeline.write(session, batch, items, prepared)
                if len(outcomes) != len(items):
                    raise RuntimeError(f"{len(outcomes)} outcomes for {len(items)} items")
                for outcome in outcomes:
                    if not isinstance(outcome, Exception):
                        json.dumps(outcome, allow_nan=False)
        except TRANSIENT:
            raise
        except Exception:  # noqa: BLE001 - redo this transaction's items one by one, each in isolation
            log.exception("Batch %s (%s): a pipelined transaction failed; its items are redone one by one",
                          batch.id, batch.kind)
            self.one_by_one(batch, items)
            return
        done = 0
        for item, outcome in zip(items, outcomes):
            item.finished_at = now
            if isinstance(outcome, Exception):
                item.status, item.result = "failed", None
                item.error_code, item.error_message = _failure(outcome, batch, item)
            else:
                item.status, item.result = "done", outcome
                done += 1
        self.commit(done, len(items))


def progress(batch: Batch) -> dict[str, Any]:
    """The figures of a progress bar, from the batch row alone (cheap to poll)."""
    processed = batch.done_count + batch.failed_count
    return {
        "id": str(batch.id), "kind": batch.kind, "status": batch.status, "total": batch.total,
        "done": batch.done_count, "failed": batch.failed_count, "pending": batch.total - processed,
        "percent": 100 if not batch.total else processed * 100 // batch.total,
        "created_at": batch.created_at.isoformat(),
        "started_at": batch.started_at.isoformat() if batch.started_at else None,
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
    }


def report(session: Session, batch: Batch, *, status: str | None = None, after: int = -1,
           limit: int = 100) -> list[dict[str, Any]]:
    """The per-row report, by position: ``after`` is the cursor (the last position already shown)."""
    query = select(BatchItem).where(BatchItem.batch_id == batch.id, BatchItem.position > after)
    if status is not None:
        query = query.where(BatchItem.status == status)
    items = session.scalars(query.order_by(BatchItem.position).limit(limit))
    return [{"position": item.position, "key": item.key, "status": item.status, "result": item.result,
             "error": {"code": item.error_code, "message": item.error_message} if item.error_code else None}
            for item in items]


def resume_unfinished(session: Session, *, startup: bool = False) -> int:
    """Enqueue every unfinished batch that no live consumer holds; return how many.

    At a consumer's start (``startup``), batches still leased by a consumer that may be dead are
    scheduled for the moment their lease expires, so that a restart after a crash resumes them
    without waiting for the minute sweep. Enqueuing one twice is harmless: the lease lets one run.
    """
    now = utcnow()
    rows = session.execute(select(Batch.id, Batch.lease_until).where(Batch.status != "done")).all()
    count = 0
    for batch_id, lease_until in rows:
        if lease_until is None or lease_until < now:
            run_batch_job(str(batch_id))
        elif startup:
            run_batch_job.schedule(args=(str(batch_id),), eta=lease_until + timedelta(seconds=1))
        else:
            continue
        count += 1
    return count


@jobs.task()
def run_batch_job(batch_id: str) -> None:
    """The job that runs a batch (enqueue it after committing ``create_batch``)."""
    run_batch(batch_id)


@jobs.periodic_task(jobs.every_minute)
def sweep_batches() -> None:
    """Every minute: resume the batches whose consumer died (their lease expired) or whose job was lost."""
    resumed = resume_unfinished(db.session)
    jobs.mark_sweep()
    if resumed:
        log.info("Resumed %s unfinished batch(es)", resumed)
