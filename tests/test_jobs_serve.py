"""`sillage serve` runs one job consumer beside its web workers, and stops it with the server."""
from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication

from app import cli, create_app, jobs
from app.extensions import db
from app.models import Batch
from app.services import batches
from tests.conftest import _settings
from tests.jobs_helpers import EFFECTS, KIND, effect_counts


@pytest.fixture
def configured(monkeypatch):
    """Run ``serve`` up to gunicorn's start, keeping the hooks it was given."""
    seen = {}

    def run(self):
        seen.update(when_ready=self.cfg.when_ready, on_exit=self.cfg.on_exit)

    monkeypatch.setattr(BaseApplication, "run", run)
    for name in ("SILLAGE_WORKERS", "SILLAGE_THREADS", "SILLAGE_JOBS_CONSUMER", "SILLAGE_JOBS_WORKERS",
                 "SILLAGE_JOBS_IMMEDIATE"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return seen


def test_serve_hooks_one_consumer_into_the_master(configured, monkeypatch):
    monkeypatch.setenv("SILLAGE_JOBS_WORKERS", "3")
    result = CliRunner().invoke(cli.serve, ["--workers", "4"])
    assert result.exit_code == 0, result.output
    assert "Jobs: one consumer started with the server." in result.output
    consumer = configured["when_ready"].__self__
    assert isinstance(consumer, jobs.EmbeddedConsumer) and consumer.workers == 3
    assert configured["when_ready"] == consumer.start and configured["on_exit"] == consumer.stop


@pytest.mark.parametrize("variable, value", [("SILLAGE_JOBS_CONSUMER", "external"),
                                             ("SILLAGE_JOBS_CONSUMER", " External "),
                                             ("SILLAGE_JOBS_IMMEDIATE", "on")])
def test_no_consumer_when_workers_run_elsewhere(configured, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(cli.serve, [])
    assert result.exit_code == 0, result.output
    assert "no consumer started by the server" in result.output
    assert not isinstance(getattr(configured["when_ready"], "__self__", None), jobs.EmbeddedConsumer)


def test_a_misspelt_consumer_mode_is_refused(configured, monkeypatch):
    monkeypatch.setenv("SILLAGE_JOBS_CONSUMER", "extrenal")
    result = CliRunner().invoke(cli.serve, [])
    assert result.exit_code != 0 and "SILLAGE_JOBS_CONSUMER" in result.output and not configured


# --- the real server -------------------------------------------------------------------------------------

def children(pid: int) -> dict[int, str]:
    """The live child processes of ``pid`` and their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue  # it ended meanwhile
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_for(predicate, what: str, log, timeout: float = 60) -> None:
    """Poll until ``predicate()``; a deadline against hanging, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"no {what} within {timeout} s:\n{log()}")


@pytest.fixture
def server(tmp_path, sqlite_template):
    if not Path("/proc/self/stat").exists():
        pytest.skip("reads child processes from /proc (Linux)")
    from tests.e2e.conftest import LiveServer

    class Server(LiveServer):
        def run(self, *args: str) -> str:  # the database is a copy of the migrated template
            return "" if args == ("db", "upgrade") else super().run(*args)

    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(sqlite_template, instance / "sillage.db")
    live = Server(instance)
    live.env.update(SILLAGE_WORKERS="2", SILLAGE_JOBS_IMPORTS="tests.jobs_helpers",
                    PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    yield live
    live.stop()


def consumers(server) -> list[int]:
    return [pid for pid, command in children(server.process.pid).items() if "main() worker " in command]


def test_serve_runs_one_consumer_that_does_the_jobs_and_stops_with_it(server):
    server.start()
    wait_for(lambda: len(children(server.process.pid)) == 3, "two web workers and a consumer", server.log)
    [consumer] = consumers(server)  # one, not one per web worker

    # The application enqueues into the instance's queue file; the server's consumer runs the batch.
    before = jobs.huey.name, jobs.huey._immediate, jobs.huey.storage, dict(jobs._state)
    app = create_app(_settings(server.instance, f"sqlite:///{server.instance / 'sillage.db'}",
                               JOBS_IMMEDIATE=False))
    with app.app_context():
        try:
            EFFECTS.create(db.engine)
            batch = batches.create_batch(db.session, KIND, [{"n": n} for n in range(20)], "served")
            db.session.commit()
            batches.run_batch_job(str(batch.id))

            def finished():
                db.session.expire_all()
                return db.session.get(Batch, batch.id).status == "done"

            wait_for(finished, "batch run by the server's consumer", server.log)
            with db.engine.connect() as connection:
                assert effect_counts(connection, batch.id) == {str(n): 1 for n in range(20)}
        finally:
            db.session.remove()
            db.engine.dispose()  # SQLite only: nothing to empty for the PostgreSQL pass
            jobs.huey.name, jobs.huey._immediate, jobs.huey.storage = before[:3]
            jobs._state.update(before[3])

    server.stop()
    assert server.process.returncode == 0
    assert not alive(consumer), server.log()
    assert "Job consumer started" in server.log() and "Job consumer stopped" in server.log()


def test_the_consumer_does_not_outlive_a_killed_server(server):
    server.start()
    wait_for(lambda: len(consumers(server)) == 1, "the consumer", server.log)
    [consumer] = consumers(server)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(30)
    wait_for(lambda: not alive(consumer), "end of the orphaned consumer", server.log)


def test_an_external_consumer_deployment_starts_none(server):
    server.env["SILLAGE_JOBS_CONSUMER"] = "external"
    server.start()
    wait_for(lambda: len(children(server.process.pid)) == 2, "the two web workers", server.log)
    assert consumers(server) == []
