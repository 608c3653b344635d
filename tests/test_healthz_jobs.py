"""`/healthz` reports the job queue: pending jobs and whether a consumer is alive (a real `sillage worker`
on the SQLite queue, and on Redis when ``SILLAGE_TEST_REDIS_URL`` is set), without judging the process
by it: only the database decides a 503."""
from __future__ import annotations

import socket
import time
import uuid

import pytest

from app.extensions import db
from app.services import batches
from tests.jobs_helpers import KIND
from tests.test_jobs_worker import Worker, queue, redis_url, wait_for  # noqa: F401 - the fixture

__all__ = ["queue"]


def test_immediate_mode_has_no_consumer_to_report(client):
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["jobs"] == {"status": "ok", "pending": 0, "consumer": "immediate"}


def _follow_a_real_consumer(tmp_path, app, env):
    from app import jobs

    client = app.test_client()

    def report() -> dict:
        response = client.get("/healthz")
        assert response.status_code == 200
        return response.get_json()["jobs"]

    assert report() == {"status": "ok", "pending": 0, "consumer": "never"}
    batch = batches.create_batch(db.session, KIND, [{"n": n} for n in range(3)], "healthz.csv",
                                 item_key=lambda row, _: f"row-{row['n']}")
    db.session.commit()
    batches.run_batch_job(str(batch.id))  # queued: no consumer yet
    assert report() == {"status": "ok", "pending": 1, "consumer": "never"}

    worker = Worker(env, tmp_path / "worker.log")
    try:
        wait_for(lambda: report().get("consumer") == "alive" and report()["pending"] == 0,
                 "a live consumer that emptied the queue", worker)
    finally:
        assert worker.stop() == 0, worker.log()
    assert report()["last_beat_seconds_ago"] <= jobs.HEARTBEAT_STALE

    # The consumer is gone and its last beat grows old: reported stale, and the site still answers 200.
    jobs.huey.put(jobs.HEARTBEAT_KEY, time.time() - jobs.HEARTBEAT_STALE - 30)
    stale = report()
    assert stale["consumer"] == "stale" and stale["last_beat_seconds_ago"] > jobs.HEARTBEAT_STALE


def test_healthz_follows_a_real_consumer_on_the_sqlite_queue(tmp_path, queue):  # noqa: F811
    app, env = queue(None)
    _follow_a_real_consumer(tmp_path, app, env)


def test_healthz_follows_a_real_consumer_on_redis(tmp_path, queue):  # noqa: F811
    app, env = queue(redis_url())
    _follow_a_real_consumer(tmp_path, app, env)


def test_an_unreadable_queue_is_reported_not_fatal(tmp_path, queue, monkeypatch):  # noqa: F811
    app, _ = queue(None)
    from app import jobs

    def broken():
        raise OSError("disk gone")

    monkeypatch.setattr(jobs.huey, "pending_count", broken)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200  # the web process still serves: the database decides liveness
    assert response.get_json()["jobs"] == {"status": "unreachable"}
    assert response.get_json()["database"] == "ok"


@pytest.fixture
def redis_at(app_settings):
    """``redis_at(url)``: an application whose queue is Redis at ``url`` (nothing need answer there);
    huey's module-level state is put back afterwards for the next tests."""
    from app import create_app, jobs
    from tests.conftest import release_database

    before = jobs.huey.name, jobs.huey._immediate, jobs.huey.storage, dict(jobs._state)
    contexts = []

    def make(url: str):
        app = create_app({**app_settings, "JOBS_IMMEDIATE": False, "JOBS_QUEUE": f"test{uuid.uuid4().hex}",
                          "REDIS_URL": url})
        context = app.app_context()
        context.push()
        contexts.append(context)
        return app

    yield make
    for context in contexts:
        release_database()
        context.pop()
    jobs.huey.name, jobs.huey._immediate, jobs.huey.storage = before[:3]
    jobs._state.update(before[3])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: nothing listens there


def test_healthz_answers_when_redis_refuses_connections(redis_at):
    """Redis down (its port closed): /healthz still answers, from the database, and says the queue is
    unreachable; the queue's pool carries the connect and answer timeouts of ``app.jobs``."""
    from app import jobs

    app = redis_at(f"redis://127.0.0.1:{_closed_port()}/0")
    kwargs = jobs.huey.storage.pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] == jobs.REDIS_CONNECT_TIMEOUT
    assert kwargs["socket_timeout"] == jobs.REDIS_SOCKET_TIMEOUT
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "jobs": {"status": "unreachable"}}


def test_healthz_answers_when_redis_accepts_but_never_replies(redis_at):
    """The case that used to hang for ever: something accepts the TCP connection (a stuck Redis, a
    firewall's half-open port) and never answers. The answer timeout ends the wait; the outcome is the
    same "unreachable" report (no timing is asserted: without the timeout this test would not end)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever reads or writes
        app = redis_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["jobs"] == {"status": "unreachable"}
