"""Rate-limit counters in the database, shared by every worker, when Redis is not configured.

Flask-Limiter's ``memory://`` storage counts in each process: with five gunicorn workers a per-IP
limit of 20/minute let 73 of 80 sign-in attempts through. ``limits`` (the library under Flask-Limiter)
has no SQL storage, so this module registers one, ``sillage-db://``, for the fixed-window strategy
(Flask-Limiter's default, the only one configured): one row per limit, client address and window in
``rate_limits``, incremented by a single ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, so
that concurrent workers never lose a hit and a window that has ended starts again from one.

Why the database rather than a file in the instance folder: it is already shared by every worker and
every host of an instance (PostgreSQL at scale), it is already backed up and migrated, and SQLite in
WAL mode makes the statement cheap. It runs on its own connection and transaction, never inside the
request's ORM session, so a limit check neither commits nor rolls back a view's work. Only limited
requests pay (POSTs of the sign-in and verification routes; GETs and the API's token routes are free
unless limited): measured on this (shared, loaded) machine with SQLite, one counted request costs
0.5 to 0.8 ms (one statement: the ``X-RateLimit-*`` headers reuse the increment's answer, ``_row``),
against 0.03 ms in memory and a sign-in's Argon2 check of about 50 ms. With 5 workers and
``20/minute``, exactly 20 of 80 concurrent sign-in attempts were processed (73 before).

With ``SILLAGE_REDIS_URL``, Redis stays the store (``app.config``). Expired rows are deleted by the
worker that happens to make every ``CLEANUP_EVERY``-th increment.
"""
from __future__ import annotations

import os
import threading
import time

from limits.storage import Storage
from sqlalchemy import bindparam, case, create_engine, delete, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

SCHEME = "sillage-db"
CLEANUP_EVERY = 1000
SEEN_FOR = 1.0  # seconds during which this thread's last increment answers for its key


def _dialect_insert(engine: Engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


class DatabaseStorage(Storage):
    """A ``limits`` storage over the ``rate_limits`` table (fixed windows only)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, database_url: str, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.database_url = database_url
        self._engine: Engine | None = None
        self._pid: int | None = None
        self._increments = 0
        self._statement = None
        self._seen = threading.local()

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    @property
    def engine(self) -> Engine:
        """One small engine per process: a pool inherited through a fork must not be shared."""
        if self._engine is None or self._pid != os.getpid():
            url = make_url(self.database_url)
            self._engine = create_engine(url, pool_size=2, max_overflow=8, pool_pre_ping=True) \
                if url.get_backend_name() != "sqlite" else create_engine(url)
            self._pid = os.getpid()
        return self._engine

    @property
    def table(self):
        from app.models.session import RateLimitCounter

        return RateLimitCounter.__table__

    def _upsert(self):
        """Built once per process: ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` with bound values."""
        if self._statement is None:
            table, now = self.table, bindparam("now")
            ended = table.c.expires_at <= now
            self._statement = (
                _dialect_insert(self.engine)(table)
                .values(key=bindparam("key"), hits=bindparam("amount"), expires_at=bindparam("ends"))
                .on_conflict_do_update(index_elements=[table.c.key], set_={
                    "hits": case((ended, bindparam("amount")), else_=table.c.hits + bindparam("amount")),
                    "expires_at": case((ended, bindparam("ends")), else_=table.c.expires_at)})
                .returning(table.c.hits, table.c.expires_at))
        return self._statement

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the window of ``key`` (a new window of ``expiry`` seconds if it has ended)."""
        now = time.time()
        statement = self._upsert()
        with self.engine.begin() as connection:
            hits, ends = connection.execute(statement, {"key": key, "amount": amount, "now": now,
                                                        "ends": now + expiry}).one()
        self._seen.value = (key, hits, ends, time.monotonic())
        self._increments += 1
        if self._increments % CLEANUP_EVERY == 0:
            with self.engine.begin() as connection:
                connection.execute(delete(self.table).where(self.table.c.expires_at <= now))
        return hits

    def _row(self, key: str) -> tuple[int, float]:
        """(hits, end of window) of ``key``. Right after this thread's own increment of it (Flask-Limiter
        asks for the ``X-RateLimit-*`` headers at once), that increment's answer is used instead of two
        more queries: the headers may then miss a hit made meanwhile by another worker, the decision never
        does (it is the increment's own result)."""
        seen = getattr(self._seen, "value", None)
        if seen is not None and seen[0] == key and time.monotonic() - seen[3] < SEEN_FOR:
            return seen[1], seen[2]
        table = self.table
        with self.engine.connect() as connection:
            row = connection.execute(select(table.c.hits, table.c.expires_at)
                                     .where(table.c.key == key, table.c.expires_at > time.time())).first()
        return (row.hits, row.expires_at) if row else (0, time.time())

    def get(self, key: str) -> int:
        return self._row(key)[0]

    def get_expiry(self, key: str) -> float:
        return self._row(key)[1]

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        self._seen.value = None
        with self.engine.begin() as connection:
            return connection.execute(delete(self.table)).rowcount

    def clear(self, key: str) -> None:
        self._seen.value = None
        with self.engine.begin() as connection:
            connection.execute(delete(self.table).where(self.table.c.key == key))
