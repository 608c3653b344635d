"""Background jobs with Huey: one queue, configured from the application, the same task code everywhere.

Where the queue lives (``init_app``):

- embedded default: a SQLite file, ``<instance>/jobs.db``, consumed by the one consumer that
  ``sillage serve`` starts beside its web workers (so ``make run`` needs nothing else);
- at scale: Redis (``SILLAGE_REDIS_URL``), consumed by ``sillage worker`` on as many hosts as wanted,
  with ``SILLAGE_JOBS_CONSUMER=external`` telling ``sillage serve`` not to start one of its own;
- tests: immediate mode (``TESTING``, or ``SILLAGE_JOBS_IMMEDIATE``): a task runs at once, in the
  caller's thread. A test that wants a real queue sets ``JOBS_IMMEDIATE=False`` and runs
  ``sillage worker``.

Huey hands a task to a consumer once and forgets it: a consumer killed mid-task loses that message.
Jobs are therefore written to be idempotent and resumable from the database, not from the queue:
see ``app.services.batches`` (a lease per batch, one transaction per item, and a sweep that
re-enqueues unfinished batches on start-up and every minute).

Every task runs in an application context of its own with a fresh database session, and commits once
at the end like a request (``task``). Enqueue after committing what the task will read.
"""
from __future__ import annotations

import ctypes
import functools
import importlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from app import redis_clients
from app.config import _flag
from app.extensions import db

log = logging.getLogger(__name__)

# The one queue. Task decorators bind to it at import time, before any application exists, so it starts
# in immediate mode on memory and ``init_app`` points it at the configured storage. Results are not
# kept: jobs write their outcome to the database, where pages and the API read it.
huey = Huey("sillage", results=False, immediate=True)
_state: dict = {"app": None, "stop": None}

EXTERNAL = "external"
SILLAGE = [sys.executable, "-c", "from app.cli import main; main()"]


# Redis: the timeouts every client of the application uses (``app.redis_clients``).
REDIS_CONNECT_TIMEOUT = redis_clients.CONNECT_TIMEOUT
REDIS_SOCKET_TIMEOUT = redis_clients.SOCKET_TIMEOUT


def redis_pool(url: str):
    """The Redis connection pool of the queue, with ``app.redis_clients``' timeouts and no silent retries."""
    from redis import ConnectionPool  # noqa: PLC0415 - the "redis" extra is optional

    return ConnectionPool.from_url(url, **redis_clients.options())


def init_app(app: Flask) -> None:
    """Point the queue at this application's storage; tasks run in this application from now on."""
    config = app.config
    immediate = config.get("JOBS_IMMEDIATE")
    if immediate is None:
        immediate = app.testing
    name = config.get("JOBS_QUEUE") or "sillage"
    if immediate:
        storage = MemoryStorage(name)
    elif config.get("REDIS_URL"):
        storage = RedisStorage(name, connection_pool=redis_pool(config["REDIS_URL"]))
    else:
        storage = SqliteStorage(name, filename=str(Path(app.instance_path) / "jobs.db"))
    # Set directly: the ``immediate`` property would replace the storage chosen here by its own.
    huey.name, huey._immediate, huey.storage = name, bool(immediate), storage
    _state["app"] = app
    app.extensions["huey"] = huey


def describe() -> str:
    """Where the queue is, for logs and the worker's banner (no password)."""
    storage = huey.storage
    if huey.immediate:
        return "immediate (tasks run in the caller)"
    if isinstance(storage, SqliteStorage):
        return f"SQLite {storage.filename}"
    kwargs = storage.pool.connection_kwargs
    where = kwargs.get("host", kwargs.get("path", "?"))
    return f"Redis {where}:{kwargs.get('port', '')}/{kwargs.get('db', 0)}"


def _application() -> Flask:
    if has_app_context():
        return current_app._get_current_object()
    if _state["app"] is None:
        raise RuntimeError("app.jobs is not configured: create the application (create_app) first")
    return _state["app"]


def _in_app_context(fn):
    """Run ``fn`` in an application context of its own: a fresh session, committed once on success,
    rolled back and removed otherwise (the session must not outlive the task in a worker thread)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with _application().app_context():
            try:
                value = fn(*args, **kwargs)
                db.session.commit()
                return value
            finally:
                db.session.remove()

    return run


def task(**options):
    """``huey.task`` for Sillage: the function runs inside an application context with its own session.

    Options are Huey's (``retries``, ``retry_delay``, ``priority``, ``expires``...). A task must be
    idempotent: the queue may deliver it twice (a periodic sweep re-enqueues unfinished work) or
    lose it (a consumer killed mid-task), so its progress lives in the database.
    """
    def decorator(fn):
        return huey.task(**options)(_in_app_context(fn))

    return decorator


def periodic_task(schedule, **options):
    """``huey.periodic_task`` with the same application context as ``task`` (run by the consumers)."""
    def decorator(fn):
        return huey.periodic_task(schedule, **options)(_in_app_context(fn))

    return decorator


def stopping() -> bool:
    """Whether this process's consumer was asked to stop: long jobs check it between steps and leave
    the rest to the next consumer instead of holding a shutdown for minutes."""
    flag = _state["stop"]
    return flag is not None and flag.is_set()


every_minute = crontab(minute="*")


# --- health ------------------------------------------------------------------------------------------

HEARTBEAT_KEY = "sillage:consumer-heartbeat"
HEARTBEAT_STALE = 150  # seconds: two missed minute beats


def beat() -> None:
    """Write "a consumer ran a job now" into the queue's own storage (the SQLite file or Redis), where
    every web process, on any host, can read it: a consumer is alive exactly when it keeps running jobs."""
    huey.put(HEARTBEAT_KEY, time.time())


SWEEP_KEY = "sillage:last-sweep"


def mark_sweep() -> None:
    """Write "the sweep of unfinished batches ran now" beside the heartbeat (the indicators' queue health)."""
    huey.put(SWEEP_KEY, time.time())


def last_sweep_seconds_ago() -> int | None:
    """Seconds since the last sweep, or None: none yet, immediate mode (no consumer), or storage unreadable."""
    if huey.immediate:
        return None
    try:
        last = huey.get(SWEEP_KEY, peek=True)
    except Exception:  # noqa: BLE001 - reported as unknown; /healthz logs the storage's faults
        return None
    return None if last is None else max(0, round(time.time() - float(last)))


@huey.periodic_task(every_minute)
def heartbeat() -> None:
    """Every minute, through the queue like any job (no database, no application context needed)."""
    beat()


def health() -> dict:
    """The queue as ``/healthz`` reports it: pending jobs and whether a consumer beat recently.

    Two reads of the queue's storage (a ``COUNT`` on the SQLite queue or ``LLEN`` on Redis, and one
    key): well under a millisecond, nothing that grows with the queue's history. ``consumer`` is
    ``alive`` (a beat within ``HEARTBEAT_STALE`` seconds), ``stale`` (beats stopped: no consumer, or
    every one of them stuck), ``never`` (no beat yet: a consumer started less than a minute ago, or
    none ever ran), or ``immediate`` (tests: jobs run in the caller, there is no consumer).
    """
    if huey.immediate:
        return {"status": "ok", "pending": 0, "consumer": "immediate"}
    try:
        pending = huey.pending_count()
        last = huey.get(HEARTBEAT_KEY, peek=True)
    except Exception:  # noqa: BLE001 - Redis down, SQLite file unreadable: reported, detail in the log
        log.warning("The job queue could not be read for /healthz", exc_info=True)
        return {"status": "unreachable"}
    if last is None:
        return {"status": "ok", "pending": pending, "consumer": "never"}
    age = max(0, round(time.time() - float(last)))
    return {"status": "ok", "pending": pending, "consumer": "alive" if age <= HEARTBEAT_STALE else "stale",
            "last_beat_seconds_ago": age}


# --- consumers ---------------------------------------------------------------------------------------

@click.command("worker")
@click.option("--workers", "-w", type=click.IntRange(1, 64), default=None,
              help="Threads running jobs (default: 2, or SILLAGE_JOBS_WORKERS).")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run the periodic tasks (the sweep that resumes unfinished batches).")
@with_appcontext
def worker(workers: int | None, periodic: bool) -> None:
    """Consume the job queue (for hosts other than the web server's, or SILLAGE_JOBS_CONSUMER=external).

    Stops gracefully on SIGINT (jobs stop between items and resume later), at once on SIGTERM; either
    way nothing is done twice, as every job resumes from the database.
    """
    from app.services import batches

    if huey.immediate:
        raise click.ClickException("Jobs run immediately in this configuration (testing or "
                                   "SILLAGE_JOBS_IMMEDIATE): there is no queue to consume.")
    if not logging.getLogger().handlers:  # a consumer's log is its only voice: tasks run, errors
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for module in current_app.config.get("JOBS_IMPORTS") or ():
        importlib.import_module(module)  # modules defining more tasks or batch handlers
    workers = workers or int(os.environ.get("SILLAGE_JOBS_WORKERS") or 2)
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic,
                                    check_worker_health=True)
    _state["stop"] = consumer.stop_flag
    resumed = batches.resume_unfinished(db.session, startup=True)
    db.session.remove()
    beat()  # alive from the start, not only at the first minute's beat
    click.echo(f"Sillage job consumer: {workers} thread(s) on {describe()}; "
               f"{resumed} unfinished batch(es) resumed.")
    consumer.run()


def _exit_with_parent() -> None:
    """In the consumer child, before exec: receive SIGTERM if ``sillage serve`` dies without stopping
    it (SIGKILL, crash), so that no orphan consumer outlives its server (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedConsumer:
    """The consumer that ``sillage serve`` runs: one ``sillage worker`` child of gunicorn's master.

    Started from the master's ``when_ready`` hook and stopped from its ``on_exit`` hook, so there is
    one consumer per server whatever the number of web workers, and it lives exactly as long as the
    server. It runs in its own session (a Ctrl-C in the terminal reaches it through the master only).
    """

    def __init__(self, workers: int):
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def start(self, server) -> None:
        self.process = subprocess.Popen([*SILLAGE, "worker", "--workers", str(self.workers)],
                                        start_new_session=True, preexec_fn=_exit_with_parent)
        server.log.info("Job consumer started (pid %s, %s thread(s))", self.process.pid, self.workers)

    def stop(self, server) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # graceful: jobs stop between items
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server.log.info("Job consumer stopped")


def embedded_consumer(env=os.environ) -> EmbeddedConsumer | None:
    """What ``sillage serve`` should start: a consumer, unless ``SILLAGE_JOBS_CONSUMER=external`` (the
    deployment runs ``sillage worker`` elsewhere) or jobs run immediately."""
    mode = (env.get("SILLAGE_JOBS_CONSUMER") or "embedded").strip().lower()
    if mode not in {"embedded", EXTERNAL}:
        raise click.BadParameter(f"SILLAGE_JOBS_CONSUMER must be 'embedded' or '{EXTERNAL}', not {mode!r}")
    if mode == EXTERNAL or _flag(env.get("SILLAGE_JOBS_IMMEDIATE")):
        return None
    return EmbeddedConsumer(int(env.get("SILLAGE_JOBS_WORKERS") or 2))

