"""Real consumers: `sillage worker` processes on the SQLite queue and on a real Redis server, killed with
SIGKILL in the middle of a batch, restarted, and every item's effect found exactly once. The database is
the test's (SQLite; PostgreSQL in the PostgreSQL pass).

The Redis tests need ``SILLAGE_TEST_REDIS_URL`` (.ci/run starts a private redis-server and sets it);
they are skipped without it on a developer's machine, and fail in CI, where it must be there.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Batch
from app.services import batches
from tests.conftest import release_database
from tests.jobs_helpers import EFFECTS, KIND, effect_counts

ROOT = Path(__file__).resolve().parent.parent
SILLAGE = [sys.executable, "-c", "from app.cli import main; main()"]
REDIS_URL = os.environ.get("SILLAGE_TEST_REDIS_URL")
ITEMS = 300
LEASE_SECONDS = 2


def wait_for(predicate, what: str, *processes: "Worker", timeout: float = 120):
    """Poll until ``predicate()``; a deadline against hanging, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for process in processes:
            if process.process.poll() is not None:
                pytest.fail(f"the worker exited while waiting for {what}:\n{process.log()}")
        time.sleep(0.05)
    pytest.fail(f"no {what} within {timeout} s:\n" + "\n".join(p.log() for p in processes))


class Worker:
    """One `sillage worker` process on the test's instance and queue."""

    def __init__(self, env: dict, log_path: Path):
        self.log_path = log_path
        with log_path.open("a") as log:
            self.process = subprocess.Popen([*SILLAGE, "worker", "--workers", "2"], env=env, cwd=ROOT,
                                            stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def queue(app_settings):
    """A real queue for the test's instance and database (SQLite, or PostgreSQL in the PostgreSQL pass,
    where the row locks of ``app.services.batches`` are exercised by real processes).

    A factory: ``queue(redis_url or None)`` gives ``(app, env)``, the application that enqueues
    (immediate mode off, its context pushed) and the environment of the consumers the test starts."""
    def make(redis_url: str | None):
        settings = {**app_settings, "JOBS_IMMEDIATE": False, "JOBS_LEASE_SECONDS": LEASE_SECONDS,
                    "JOBS_QUEUE": f"test{uuid.uuid4().hex}", "REDIS_URL": redis_url}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SILLAGE_")}
        env.update(SILLAGE_INSTANCE_PATH=settings["INSTANCE_PATH"],
                   SILLAGE_DATABASE_URL=settings["SQLALCHEMY_DATABASE_URI"],
                   SILLAGE_SECRET_KEY=settings["SECRET_KEY"], SILLAGE_MASTER_KEY=settings["MASTER_KEY"],
                   SILLAGE_JOBS_QUEUE=settings["JOBS_QUEUE"], SILLAGE_JOBS_LEASE_SECONDS=str(LEASE_SECONDS),
                   SILLAGE_JOBS_IMPORTS="tests.jobs_helpers", PYTHONPATH=str(ROOT))
        if redis_url:
            env["SILLAGE_REDIS_URL"] = redis_url
        app = create_app(settings)
        context = app.app_context()
        context.push()
        EFFECTS.create(db.engine)
        opened.append(context)
        return app, env

    from app import jobs

    before = jobs.huey.name, jobs.huey._immediate, jobs.huey.storage, dict(jobs._state)
    opened: list = []
    yield make
    for context in opened:
        if not jobs.huey.immediate:
            jobs.huey.storage.flush_all()  # this test's queue only (its own name)
        db.session.remove()
        EFFECTS.drop(db.engine)
        release_database()
        context.pop()
    jobs.huey.name, jobs.huey._immediate, jobs.huey.storage = before[:3]  # as the next tests expect it
    jobs._state.update(before[3])


def redis_url() -> str:
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("SILLAGE_TEST_REDIS_URL is not set; .ci/run starts Redis and must set it",
                        pytrace=False)
        pytest.skip("SILLAGE_TEST_REDIS_URL is not set (a Redis server for the queue tests; "
                    ".ci/run starts one)")
    return REDIS_URL


def crash_and_resume(tmp_path, app, env, *, graceful: bool = False) -> None:
    """Enqueue a batch, kill its consumer with SIGKILL mid-batch (or stop it with SIGINT: ``graceful``),
    start another: each item once."""
    rows = [{"pupil": n} for n in range(ITEMS)]
    batch = batches.create_batch(db.session, KIND, rows, "class-of-2026.csv", params={"sleep": 0.01},
                                 item_key=lambda row, _: f"pupil-{row['pupil']}")
    db.session.commit()
    batch_id = batch.id
    batches.run_batch_job(str(batch_id))  # into the queue: nothing runs in this process

    def state():
        db.session.expire_all()
        with db.engine.connect() as connection:
            return db.session.get(Batch, batch_id), effect_counts(connection, batch_id)

    assert state()[1] == {}
    first = Worker(env, tmp_path / "worker.log")
    try:
        wait_for(lambda: sum(state()[1].values()) >= 60, "60 items done by the first consumer", first)
        if not graceful:
            first.kill()
    finally:
        stopped = first.stop()
    killed, effects = state()
    # Stopped in the middle: what is done is done once, with its status; the rest is pending.
    assert 60 <= killed.done_count < ITEMS and killed.status == "running", first.log()
    assert effects == {f"pupil-{n}": 1 for n in range(killed.done_count)}
    if graceful:  # it stopped between two items and handed the batch over
        assert stopped == 0 and killed.lease_owner is None, first.log()
    else:
        assert stopped == -signal.SIGKILL and killed.lease_owner is not None  # left by the dead consumer

    second = Worker(env, tmp_path / "worker.log")
    try:
        wait_for(lambda: state()[0].status == "done", "the batch finished by the second consumer", second)
    finally:
        assert second.stop() == 0, second.log()
    finished, effects = state()
    assert effects == {f"pupil-{n}": 1 for n in range(ITEMS)}, second.log()
    assert (finished.done_count, finished.failed_count, finished.lease_owner) == (ITEMS, 0, None)
    with db.engine.connect() as connection:
        pids = set(connection.scalars(select(EFFECTS.c.pid).where(EFFECTS.c.batch_id == str(batch_id))))
    assert pids == {first.process.pid, second.process.pid}  # both consumers did part of it
    assert "unfinished batch(es) resumed" in second.log()


def test_a_consumer_killed_mid_batch_on_the_sqlite_queue(tmp_path, queue):
    app, env = queue(None)
    from app import jobs

    assert jobs.describe().startswith("SQLite ")
    assert Path(jobs.huey.storage.filename) == Path(app.instance_path) / "jobs.db"
    crash_and_resume(tmp_path, app, env)


def test_a_consumer_stopped_gracefully_hands_its_batch_over(tmp_path, queue):
    app, env = queue(None)
    crash_and_resume(tmp_path, app, env, graceful=True)


def test_a_consumer_killed_mid_batch_on_redis(tmp_path, queue):
    app, env = queue(redis_url())
    from app import jobs

    assert jobs.describe().startswith("Redis ")
    crash_and_resume(tmp_path, app, env)


def test_the_worker_refuses_to_run_in_immediate_mode(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SILLAGE_")}
    env.update(SILLAGE_INSTANCE_PATH=str(instance), SILLAGE_JOBS_IMMEDIATE="1")
    done = subprocess.run([*SILLAGE, "worker"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "no queue to consume" in done.stderr
