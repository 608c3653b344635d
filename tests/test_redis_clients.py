"""Every Redis client of the application (job queue, sessions, rate-limit counters) connects with the same
timeouts and no silent retries (``app.redis_clients``), so that a stuck or unreachable Redis fails a request
instead of holding it for ever. Nothing needs to answer at the URL: no client connects before use."""
from __future__ import annotations

import socket

from app import redis_clients
from app.extensions import limiter


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _check(kwargs: dict) -> None:
    assert kwargs["socket_connect_timeout"] == redis_clients.CONNECT_TIMEOUT
    assert kwargs["socket_timeout"] == redis_clients.SOCKET_TIMEOUT
    assert kwargs["health_check_interval"] == redis_clients.HEALTH_CHECK_INTERVAL
    assert kwargs["retry"].get_retries() == 0


def test_sessions_rate_limits_and_the_queue_share_the_timeouts(app_settings, monkeypatch):
    from app import create_app, jobs
    from tests.conftest import release_database

    before = jobs.huey.name, jobs.huey._immediate, jobs.huey.storage, dict(jobs._state)
    monkeypatch.setenv("SILLAGE_REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    app = create_app({**app_settings, "JOBS_IMMEDIATE": False, "JOBS_QUEUE": "test-redis-clients",
                      "RATELIMIT_ENABLED": True})
    try:
        with app.app_context():
            assert app.config["SESSION_TYPE"] == "redis"
            _check(app.session_interface.inner.client.connection_pool.connection_kwargs)
            _check(limiter._storage.storage.connection_pool.connection_kwargs)
            _check(jobs.huey.storage.pool.connection_kwargs)
            release_database()
    finally:
        jobs.huey.name, jobs.huey._immediate, jobs.huey.storage = before[:3]
        jobs._state.update(before[3])


def test_a_url_s_own_timeout_wins():
    client = redis_clients.client("redis://127.0.0.1:1/0?socket_timeout=0.5")
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 0.5
    assert client.connection_pool.connection_kwargs["socket_connect_timeout"] == redis_clients.CONNECT_TIMEOUT
