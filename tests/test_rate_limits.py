"""Per-IP limits are counted once for the whole instance, not once per worker process (issue 6, §6)."""
from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from app.extensions import db
from app.models import RateLimitCounter
from tests.conftest import PASSWORD


def _attempts(settings: dict, count: int, queue) -> None:
    """In a process of its own (as a gunicorn worker): build the app, try ``count`` sign-ins."""
    from app import create_app
    from tests.helpers import csrf_token

    app = create_app(settings)
    client = app.test_client()
    codes = []
    with app.app_context():
        for _ in range(count):
            page = client.get("/login")
            codes.append(client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD,
                                                     "csrf_token": csrf_token(page)}).status_code)
        db.engine.dispose()
    queue.put(codes)


def run_worker(settings: dict, count: int) -> list[int]:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    worker = ctx.Process(target=_attempts, args=(settings, count, queue))
    worker.start()
    codes = queue.get(timeout=60)
    worker.join(30)
    assert worker.exitcode == 0
    return codes


def test_two_processes_share_one_sign_in_count(app_settings, app):
    """``app`` is here for its clean-up: on PostgreSQL, the counters the processes wrote are emptied."""
    app_settings["RATE_LIMIT_LOGIN"] = "3/minute"
    assert run_worker(app_settings, 2) == [422, 422]  # wrong password, counted
    # Another process: its first attempt is the third of this address, its second is one too many.
    assert run_worker(app_settings, 2) == [422, 429]
    assert run_worker(app_settings, 1) == [429]


def test_counters_live_in_the_database_and_only_for_limited_requests(app, client):
    from tests.helpers import csrf_token

    for _ in range(3):
        client.get("/login")
        client.get("/")
    assert db.session.scalar(select(func.count()).select_from(RateLimitCounter)) == 0  # GETs are free
    page = client.get("/login")
    client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD,
                                "csrf_token": csrf_token(page)})
    db.session.expire_all()
    rows = db.session.scalars(select(RateLimitCounter)).all()
    assert rows and all(row.hits == 1 for row in rows)


def test_an_expired_window_starts_again_from_one(app):
    from app.ratelimits import DatabaseStorage

    storage = DatabaseStorage("sillage-db://", database_url=app.config["SQLALCHEMY_DATABASE_URI"])
    assert storage.incr("k", 60) == 1 and storage.incr("k", 60) == 2 and storage.get("k") == 2
    assert storage.incr("gone", -1) == 1  # a window that has already ended
    assert storage.incr("gone", 60) == 1  # ...is not continued
    assert storage.get("gone") == 1 and storage.get_expiry("k") > storage.get_expiry("gone") - 61
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()


def test_with_redis_the_counters_stay_in_redis():
    from app import config

    base = {"SILLAGE_SECRET_KEY": "s", "SILLAGE_MASTER_KEY": "m"}
    settings = config.load(env={**base, "SILLAGE_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    options = settings["RATELIMIT_STORAGE_OPTIONS"]  # the timeouts of every Redis client (app.redis_clients)
    assert (options["socket_connect_timeout"], options["socket_timeout"]) == (2, 5)
    assert options["retry"].get_retries() == 0
    settings = config.load(env={**base, "SILLAGE_DATABASE_URL": "sqlite:////tmp/elsewhere.db"})
    assert settings["RATELIMIT_STORAGE_URI"] == "sillage-db://"
    assert settings["RATELIMIT_STORAGE_OPTIONS"] == {"database_url": "sqlite:////tmp/elsewhere.db"}
