"""How every Redis client of the application connects: the job queue (``app.jobs``), the server-side
sessions (``app.sessions``) and the rate-limit counters (Flask-Limiter, ``app.config``).

Seconds to connect, and to wait for any answer, with no silent retries (redis-py retries three times
with back-off by default, which multiplied the wait of a page when Redis was down): a request that reads
its session, counts a login attempt, queues a job or reads /healthz gives up after these instead of
hanging on an unreachable or stuck Redis, and the error pages answer. The consumer's blocking pop waits
1 s (huey's ``read_timeout``), well under the answer timeout. A connection idle for 30 s is checked with a
PING before use, so a restarted Redis costs no request. A URL's own ``?socket_timeout=`` /
``?socket_connect_timeout=`` still win (redis-py lets the URL's options override these).
"""
from __future__ import annotations

CONNECT_TIMEOUT = 2
SOCKET_TIMEOUT = 5
HEALTH_CHECK_INTERVAL = 30


def options() -> dict:
    """Keyword arguments for ``redis.from_url`` / ``ConnectionPool.from_url`` / ``redis.Redis``."""
    from redis.backoff import NoBackoff  # noqa: PLC0415 - the "redis" extra is optional
    from redis.retry import Retry  # noqa: PLC0415

    return {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT,
            "health_check_interval": HEALTH_CHECK_INTERVAL, "retry": Retry(NoBackoff(), 0)}


def client(url: str):
    """A Redis client for ``url`` with the timeouts above."""
    import redis  # noqa: PLC0415

    return redis.from_url(url, **options())
