"""`/healthz` reports the job queue: pending jobs and whether a consumer is alive (a real `sillage worker`
on the SQLite queue, and on Redis when ``SILLAGE_TEST_REDIS_URL`` is set), without judging the process
by it: only the database decides a 503."""
from __future__ import annotations

import time

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
