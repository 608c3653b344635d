"""The job queue (app/jobs.py) and the batch primitive (app/services/batches.py), in immediate mode.

Immediate mode runs each task in the caller's thread, but still in an application context of its own
with a fresh session, as a consumer would: what the test reads afterwards is what the task committed.
The real consumers (SQLite and Redis queues, killed mid-batch) are in tests/test_jobs_worker.py.
"""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from app import create_app, jobs
from app.database import utcnow
from app.extensions import db
from app.models import Batch, BatchItem, User
from app.services import batches
from tests.conftest import release_database
from tests.jobs_helpers import EFFECTS, KIND, effect_counts

ROWS = [{"email": f"pupil{n}@example.org"} for n in range(12)]


@pytest.fixture
def effects(app):
    """The handler's effect table, in the test's database (dropped after, for the PostgreSQL pass)."""
    EFFECTS.create(db.engine, checkfirst=True)
    yield
    db.session.remove()
    EFFECTS.drop(db.engine, checkfirst=True)


def counts(batch) -> dict[str, int]:
    with db.engine.connect() as connection:
        return effect_counts(connection, batch.id)


def fresh(batch: Batch) -> Batch:
    db.session.expire_all()
    return db.session.get(Batch, batch.id)


def new_batch(rows=ROWS, key="file-sha256", **kwargs) -> Batch:
    batch = batches.create_batch(db.session, KIND, rows, key, **kwargs)
    db.session.commit()
    return batch


# --- the queue ---------------------------------------------------------------------------------------

def test_tests_run_jobs_immediately_and_the_default_queue_is_a_file_in_the_instance(app, app_settings):
    assert jobs.huey.immediate and isinstance(jobs.huey.storage, MemoryStorage)
    real = create_app({**app_settings, "JOBS_IMMEDIATE": False})
    try:
        assert not jobs.huey.immediate and isinstance(jobs.huey.storage, SqliteStorage)
        assert jobs.huey.storage.filename == f"{real.instance_path}/jobs.db"
        assert jobs.describe() == f"SQLite {real.instance_path}/jobs.db"
        redis = create_app({**app_settings, "JOBS_IMMEDIATE": False, "REDIS_URL": "redis://127.0.0.1:6390/3",
                            "JOBS_QUEUE": "other"})
        assert isinstance(jobs.huey.storage, RedisStorage) and jobs.huey.name == "other"
        assert jobs.describe() == "Redis 127.0.0.1:6390/3"
        with redis.app_context():
            release_database()
    finally:
        with real.app_context():
            release_database()
        create_app(app_settings)  # back to immediate mode for the rest of this test's app


def test_settings_come_from_the_environment(tmp_path):
    from app import config

    base = {"SILLAGE_SECRET_KEY": "s", "SILLAGE_MASTER_KEY": "m", "SILLAGE_INSTANCE_PATH": str(tmp_path)}
    settings = config.load(env=base)
    assert settings["JOBS_IMMEDIATE"] is None and settings["JOBS_QUEUE"] == "sillage"
    assert settings["JOBS_LEASE_SECONDS"] == 60 and settings["JOBS_IMPORTS"] == ()
    settings = config.load(env={**base, "SILLAGE_JOBS_IMMEDIATE": "on", "SILLAGE_JOBS_LEASE_SECONDS": "5",
                                "SILLAGE_JOBS_IMPORTS": "a.b, c ,"})
    assert settings["JOBS_IMMEDIATE"] is True and settings["JOBS_LEASE_SECONDS"] == 5
    assert settings["JOBS_IMPORTS"] == ("a.b", "c")
    assert config.load(env={**base, "SILLAGE_JOBS_IMMEDIATE": "off"})["JOBS_IMMEDIATE"] is False


def test_a_task_runs_in_its_own_context_and_commits_once(app, make_user):
    user = make_user("task@example.org")
    seen = {}

    @jobs.task()
    def rename(user_id: str, name: str, fail: bool = False) -> None:
        seen["other_session"] = db.session() is not outer
        db.session.get(User, uuid.UUID(user_id)).timezone = name
        if fail:
            raise ValueError("the task breaks after writing")

    outer = db.session()
    rename(str(user.id), "Renamed")
    assert seen["other_session"]
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone == "Renamed"  # committed by the task

    rename(str(user.id), "Never", fail=True)  # the queue logs the error; the write is rolled back
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone == "Renamed"


def test_a_task_needs_an_application(monkeypatch):
    monkeypatch.setitem(jobs._state, "app", None)

    @jobs.task()
    def nothing() -> None:
        pass

    with pytest.raises(RuntimeError, match="create_app"):
        nothing.call_local()


# --- creating a batch ---------------------------------------------------------------------------------

def test_the_same_key_gives_the_same_batch_and_nothing_new(app, user):
    first = new_batch(owner=user, params={"achievement": "a1"})
    again = new_batch(owner=user, params={"achievement": "a1"})
    assert again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(Batch)) == 1
    assert db.session.scalar(select(func.count()).select_from(BatchItem)) == len(ROWS)
    assert first.owner_id == user.id and first.total == len(ROWS) and first.status == "pending"
    items = db.session.scalars(select(BatchItem).where(BatchItem.batch_id == first.id)
                               .order_by(BatchItem.position)).all()
    assert [item.payload for item in items] == ROWS
    assert [item.key for item in items] == [str(n) for n in range(12)]
    # Another kind may use the same key: keys are per kind.
    assert batches.create_batch(db.session, "other", ROWS, "file-sha256").id != first.id


def test_the_same_key_with_other_content_is_refused(app):
    new_batch()
    for rows, params in ((ROWS[:-1], None), (ROWS, {"achievement": "other"})):
        with pytest.raises(batches.BatchError) as refused:
            batches.create_batch(db.session, KIND, rows, "file-sha256", params=params)
        assert refused.value.code == "batch_conflict" and refused.value.status == 409


def test_bad_batches_are_refused_with_a_code(app):
    cases = [
        (dict(items=[], key="k"), "empty_batch"),
        (dict(items=ROWS, key=""), "invalid_batch"),
        (dict(items=ROWS, key="k" * 201), "invalid_batch"),
        (dict(items=[{"when": object()}], key="k"), "invalid_payload"),
        (dict(items=[{"n": float("nan")}], key="k"), "invalid_payload"),
        (dict(items=[{"e": "a@x"}, {"e": "A@x"}], key="k", item_key=lambda row, _: row["e"].lower()),
         "duplicate_item"),
        (dict(items=[{"e": ""}], key="k", item_key=lambda row, _: row["e"]), "invalid_item"),
    ]
    for kwargs, code in cases:
        with pytest.raises(batches.BatchError) as refused:
            batches.create_batch(db.session, KIND, **kwargs)
        assert refused.value.code == code, kwargs
    assert refused.value.message == "Élément 1 : sa clé doit compter de 1 à 200 caractères."  # fr default
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Batch)) == 0


# --- running a batch ----------------------------------------------------------------------------------

def test_a_batch_runs_in_order_with_a_report_per_row(app, effects):
    rows = [*ROWS[:3], {"email": "bad", "fail": True}, *ROWS[3:6]]
    batch = new_batch(rows, item_key=lambda row, _: row["email"])
    assert batches.progress(batch) | {"created_at": None} == {
        "id": str(batch.id), "kind": KIND, "status": "pending", "total": 7, "done": 0, "failed": 0,
        "pending": 7, "percent": 0, "created_at": None, "started_at": None, "finished_at": None}

    batches.run_batch_job(str(batch.id))

    batch = fresh(batch)
    summary = batches.progress(batch)
    figures = summary["status"], summary["done"], summary["failed"], summary["pending"], summary["percent"]
    assert figures == ("done", 6, 1, 0, 100)
    assert summary["finished_at"] and batch.lease_owner is None
    assert counts(batch) == {row["email"]: 1 for row in rows if not row.get("fail")}
    with db.engine.connect() as connection:  # in order
        assert [key for (key,) in connection.execute(select(EFFECTS.c.item_key).order_by(EFFECTS.c.id))] == \
            [row["email"] for row in rows if not row.get("fail")]
    report = batches.report(db.session, batch)
    assert [row["status"] for row in report] == ["done"] * 3 + ["failed"] + ["done"] * 3
    assert report[0] == {"position": 0, "key": "pupil0@example.org", "status": "done",
                         "result": {"recorded": "pupil0@example.org"}, "error": None}
    assert report[3]["error"] == {"code": "refused_row", "message": "Row 4 is refused."}
    assert batches.report(db.session, batch, status="failed") == [report[3]]
    assert batches.report(db.session, batch, after=4, limit=1) == [report[5]]

    batches.run_batch_job(str(batch.id))  # again: nothing redone
    assert sum(counts(batch).values()) == 6 and fresh(batch).done_count == 6


def test_an_unexpected_error_fails_its_item_only_and_leaves_no_partial_effect(app, effects, caplog):
    def explode_on_second(session, batch, item):
        session.execute(EFFECTS.insert().values(batch_id=str(batch.id), item_key=item.key, pid=0))
        if item.position == 1:
            raise ZeroDivisionError("secret internals")
        return None

    batch = new_batch(ROWS[:3])
    assert batches.run_batch(batch.id, explode_on_second).status == "done"
    assert counts(batch) == {"0": 1, "2": 1}  # item 1's write was rolled back with its savepoint
    failed = batches.report(db.session, batch, status="failed")
    assert failed[0]["error"] == {"code": "internal_error", "message": "Une erreur inattendue a interrompu "
                                  "cet élément ; les responsables du service en ont été avertis."}
    assert "secret internals" in caplog.text  # for the operators, in the log


def test_a_result_that_is_not_json_fails_the_item_not_the_batch(app):
    batch = new_batch(ROWS[:2])
    done = batches.run_batch(batch.id, lambda session, b, item: {"when": utcnow()} if item.position else {})
    assert (done.done_count, done.failed_count) == (1, 1)


def test_a_crash_inside_an_item_loses_nothing_and_repeats_nothing(app, effects):
    """A crash between the effect and the commit: the effect is rolled back with the item's status; the
    next run (once the dead run's lease expired) does it once."""
    app.config["JOBS_LEASE_SECONDS"] = 0

    def crash_at_fifth(session, batch, item):
        session.execute(EFFECTS.insert().values(batch_id=str(batch.id), item_key=item.key, pid=0))
        if item.position == 4:
            raise KeyboardInterrupt  # a process being killed: not an item error
        return None

    batch = new_batch()
    with pytest.raises(KeyboardInterrupt):
        batches.run_batch(batch.id, crash_at_fifth)
    db.session.rollback()
    assert counts(batch) == {str(n): 1 for n in range(4)}
    assert fresh(batch).done_count == 4 and fresh(batch).status == "running"

    assert batches.run_batch(batch.id).status == "done"  # the registered handler finishes the rest
    assert counts(batch) == {str(n): 1 for n in range(12)}


def test_items_sharing_a_transaction_roll_back_together_after_a_crash(app, effects):
    app.config["JOBS_LEASE_SECONDS"] = 0

    def crash_at_eighth(session, batch, item):
        session.execute(EFFECTS.insert().values(batch_id=str(batch.id), item_key=item.key, pid=0))
        if item.position == 7:
            raise KeyboardInterrupt
        return None

    batch = new_batch()
    with pytest.raises(KeyboardInterrupt):
        batches.run_batch(batch.id, crash_at_eighth, per_transaction=5)
    db.session.rollback()
    assert counts(batch) == {str(n): 1 for n in range(5)} and fresh(batch).done_count == 5
    assert batches.run_batch(batch.id, per_transaction=5).status == "done"
    assert counts(batch) == {str(n): 1 for n in range(12)} and fresh(batch).done_count == 12


def test_a_handler_registers_its_items_per_transaction(app, effects):
    seen = []

    @batches.handler("grouped", per_transaction=4)
    def grouped(session, batch, item):
        seen.append(item.position)
        return None

    try:
        batch = batches.create_batch(db.session, "grouped", ROWS, "k")
        db.session.commit()
        commits = []
        event.listen(db.session(), "after_commit",  # the outer commits, not the items' savepoints
                     lambda session: session.in_nested_transaction() or commits.append(1))
        assert batches.run_batch(batch.id, session=db.session()).status == "done"
        assert seen == list(range(12))
        assert len(commits) == 1 + 3 + 1  # the claim, three groups of four, the end
    finally:
        del batches.HANDLERS["grouped"]


def test_a_database_outage_leaves_the_item_pending(app, effects):
    def unreachable(session, batch, item):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    batch = new_batch(ROWS[:2])
    with pytest.raises(OperationalError):
        batches.run_batch(batch.id, unreachable)
    db.session.rollback()
    assert {item.status for item in db.session.scalars(select(BatchItem))} == {"pending"}


def test_a_live_lease_keeps_other_consumers_out_until_it_expires(app, effects):
    batch = new_batch(ROWS[:3])
    db.session.execute(update(Batch).values(lease_owner="other-host:1:x",
                                            lease_until=utcnow() + timedelta(hours=1)))
    db.session.commit()
    assert batches.run_batch(batch.id) is None
    assert counts(batch) == {} and fresh(batch).lease_owner == "other-host:1:x"

    db.session.execute(update(Batch).values(lease_until=utcnow() - timedelta(seconds=1)))  # it died
    db.session.commit()
    assert batches.run_batch(batch.id).status == "done" and counts(batch) == {"0": 1, "1": 1, "2": 1}
    assert batches.run_batch(batch.id) is None  # a finished batch is never claimed again


def test_a_consumer_that_lost_its_lease_stops_at_once(app, effects):
    def taken_over_after_first(session, batch, item):
        session.execute(EFFECTS.insert().values(batch_id=str(batch.id), item_key=item.key, pid=0))
        session.execute(update(Batch).where(Batch.id == batch.id).values(lease_owner="someone-else"))

    batch = new_batch(ROWS[:3])
    assert batches.run_batch(batch.id, taken_over_after_first) is None
    assert counts(batch) == {"0": 1}


def test_a_stopping_consumer_hands_the_rest_over(app, effects):
    calls = iter([False, False, True])
    batch = new_batch(ROWS[:5])
    assert batches.run_batch(batch.id, should_stop=lambda: next(calls)) is None
    batch = fresh(batch)
    assert batch.done_count == 2 and batch.lease_owner is None and batch.lease_until is None
    assert batches.run_batch(batch.id).status == "done" and counts(batch) == {str(n): 1 for n in range(5)}


def test_two_consumers_at_once_do_each_item_once(app, effects):
    """Two threads, each with its own application context and session (two consumers), on one batch,
    on the test database (SQLite, or PostgreSQL in the PostgreSQL pass)."""
    rows = [{"n": n} for n in range(60)]
    batch = new_batch(rows)
    batch_id, start, results = batch.id, threading.Barrier(2), []  # the id read here, not in the threads

    def consumer():
        with app.app_context():
            start.wait()
            try:
                results.append(batches.run_batch(batch_id))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=consumer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert counts(batch) == {str(n): 1 for n in range(60)}
    assert fresh(batch).status == "done" and fresh(batch).done_count == 60
    assert len(results) == 2 and results.count(None) >= 1  # at most one of them finished it


def test_a_kind_without_handler_is_an_operator_error(app):
    batch = batches.create_batch(db.session, "unknown-kind", ROWS[:1], "k")
    db.session.commit()
    with pytest.raises(RuntimeError, match="SILLAGE_JOBS_IMPORTS"):
        batches.run_batch(batch.id)
    assert fresh(batch).lease_owner is None  # the claim was rolled back


# --- resuming after a crash ---------------------------------------------------------------------------

def test_the_sweep_resumes_free_and_expired_batches_only(app, effects):
    free, expired, live = new_batch(ROWS[:2], "a"), new_batch(ROWS[:2], "b"), new_batch(ROWS[:2], "c")
    db.session.execute(update(Batch).where(Batch.id == expired.id)
                       .values(lease_owner="dead:1:x", lease_until=utcnow() - timedelta(seconds=5)))
    db.session.execute(update(Batch).where(Batch.id == live.id)
                       .values(lease_owner="busy:1:x", lease_until=utcnow() + timedelta(minutes=5)))
    db.session.commit()

    assert batches.resume_unfinished(db.session) == 2  # immediate mode: they ran right then
    assert [fresh(batch).status for batch in (free, expired, live)] == ["done", "done", "pending"]
    assert counts(live) == {}
    assert batches.resume_unfinished(db.session) == 0

    scheduled = len(jobs.huey.scheduled())
    assert batches.resume_unfinished(db.session, startup=True) == 1  # a consumer starting: when it expires
    assert len(jobs.huey.scheduled()) == scheduled + 1
    task = jobs.huey.scheduled()[-1]
    assert task.args == (str(live.id),) and task.name == "run_batch_job"


def test_the_batch_jobs_are_registered_with_the_queue():
    names = set(jobs.huey._registry._registry)
    assert {"app.services.batches.run_batch_job", "app.services.batches.sweep_batches"} <= names
