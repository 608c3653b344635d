"""`sillage serve`: the worker count chosen by measurement, and each worker's frozen application."""
from __future__ import annotations

import gc
import multiprocessing
import os
import threading

import pytest
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication

from app import cli
from app.config import default_workers


@pytest.fixture
def started(monkeypatch):
    """Run ``serve`` up to gunicorn's start, keeping the configuration it was given."""
    seen = {}

    def run(self):
        seen.update(workers=self.cfg.workers, hook=self.cfg.post_worker_init, bind=self.cfg.bind)

    monkeypatch.setattr(BaseApplication, "run", run)
    for name in ("SILLAGE_WORKERS", "SILLAGE_THREADS"):  # serve writes them: restored after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return seen


def test_default_workers_are_cpus_plus_one(started):
    result = CliRunner().invoke(cli.serve, ["--port", "5099"])
    assert result.exit_code == 0, result.output
    assert started["workers"] == multiprocessing.cpu_count() + 1 == default_workers()
    assert f"({started['workers']} workers)" in result.output and started["bind"] == ["127.0.0.1:5099"]


def test_workers_from_the_environment_or_the_option(started, monkeypatch):
    monkeypatch.setenv("SILLAGE_WORKERS", "7")
    assert CliRunner().invoke(cli.serve, []).exit_code == 0
    assert started["workers"] == 7
    assert CliRunner().invoke(cli.serve, ["--workers", "2"]).exit_code == 0
    assert started["workers"] == 2


def test_each_worker_freezes_its_application(started, monkeypatch):
    assert CliRunner().invoke(cli.serve, []).exit_code == 0
    assert started["hook"] is cli._freeze_after_start
    warmed = threading.Event()
    monkeypatch.setattr(cli, "_warm_up_pdf", warmed.set)
    before = gc.get_freeze_count()
    kept = [[n] for n in range(1000)]  # objects alive when the worker has built its application
    try:
        started["hook"](None)
        assert gc.get_freeze_count() >= before + len(kept)
        assert warmed.wait(30)  # and the PDF warm-up was started beside it
    finally:
        gc.unfreeze()


def test_the_pdf_warm_up_runs_in_a_thread_and_never_fails_the_worker(monkeypatch):
    """The hook returns at once (the worker serves while WeasyPrint loads) and a failing warm-up is only
    logged."""
    from cv_templates import pdf

    release, threads = threading.Event(), []

    def slow_warm_up():
        threads.append(threading.current_thread())
        release.wait(30)
        raise OSError("no Pango here")

    monkeypatch.setattr(pdf, "warm_up", slow_warm_up)
    monkeypatch.setattr(gc, "freeze", lambda: None)
    cli._freeze_after_start(None)
    for _ in range(300):
        if threads:
            break
        threading.Event().wait(0.1)
    assert threads and threads[0] is not threading.current_thread() and threads[0].daemon
    release.set()
    threads[0].join(30)
    assert not threads[0].is_alive()


def test_the_warm_up_prints_a_page_and_the_app_alone_never_imports_weasyprint(tmp_path):
    """``create_app`` (tests, commands) leaves WeasyPrint out; ``warm_up`` brings it in and prints."""
    import subprocess
    import sys

    code = ("import sys\nfrom app import create_app\ncreate_app()\nprint('weasyprint' in sys.modules)\n"
            "from cv_templates import pdf\nfrom PIL import ImageFile\nprint(pdf.warm_up(), 'weasyprint' in sys.modules,"
            " ImageFile.LOAD_TRUNCATED_IMAGES)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SILLAGE_")}
    env["SILLAGE_INSTANCE_PATH"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True", "False"]


def test_the_verification_slots_follow_the_capacity_serve_starts(started, tmp_path):
    """The workers' configuration derives its verification slots from what serve really starts."""
    import os

    from app import config

    assert CliRunner().invoke(cli.serve, ["--workers", "6", "--threads", "2"]).exit_code == 0
    settings = config.load(os.environ, {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 32,
                                        "MASTER_KEY": "m" * 44})
    assert settings["VERIFY_SLOTS"] == 6


@pytest.fixture
def configured(monkeypatch):
    """Like ``started``, keeping the worker class, threads and timeout serve gave gunicorn."""
    seen = {}

    def run(self):
        seen.update(worker_class=self.cfg.worker_class_str, threads=self.cfg.threads,
                    timeout=self.cfg.timeout)

    monkeypatch.setattr(BaseApplication, "run", run)
    for name in ("SILLAGE_WORKERS", "SILLAGE_THREADS", "SILLAGE_TIMEOUT"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return seen


def test_threaded_workers_whose_timeout_is_configurable(configured, monkeypatch):
    """gthread workers even with one thread (a sync worker's timeout would cut long transfers), and
    the timeout from SILLAGE_TIMEOUT or --timeout."""
    assert CliRunner().invoke(cli.serve, []).exit_code == 0
    assert configured == {"worker_class": "gthread", "threads": cli.DEFAULT_THREADS, "timeout": 60}
    monkeypatch.setenv("SILLAGE_TIMEOUT", "300")
    assert CliRunner().invoke(cli.serve, ["--threads", "1"]).exit_code == 0
    assert configured == {"worker_class": "gthread", "threads": 1, "timeout": 300}
    assert CliRunner().invoke(cli.serve, ["--timeout", "7"]).exit_code == 0
    assert configured["timeout"] == 7


def test_a_slow_upload_outlasts_the_worker_timeout(tmp_path, sqlite_template):
    """The real server, one worker with one thread and a 2 s timeout: a client that sends a vault upload
    over about 7 s (a large file on a slow line, scaled down) still gets its document stored, whole.
    With gunicorn's sync workers the worker was killed mid-upload once the timeout passed."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from tests.test_verify_slots import MigratedServer

    server = MigratedServer(tmp_path / "instance", sqlite_template)
    server.env.update(SILLAGE_WORKERS="1", SILLAGE_THREADS="1", SILLAGE_TIMEOUT="2",
                      SILLAGE_JOBS_CONSUMER="external")
    server.start()
    try:
        made = subprocess.run([sys.executable, "-c", (
            "from app import create_app\nfrom app.extensions import db\n"
            "from app.services import accounts, tokens\napp = create_app()\nwith app.app_context():\n"
            "    user = accounts.create_user(db.session, email='slow@example.org', "
            "password='slow line, long upload 42', verified=True)\n"
            "    _, raw = tokens.create_token(db.session, user, 'slow')\n"
            "    db.session.commit()\n    print(raw)\n")],
            env=server.env, capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1]
        pieces = [os.urandom(16 * 1024) for _ in range(14)]
        boundary = "slow-client"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"\r\n\r\n'
                ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = len(head) + sum(map(len, pieces)) + len(tail)
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall((f"POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          f"Authorization: Bearer {token}\r\nContent-Length: {length}\r\n"
                          f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode() + head)
            started = time.monotonic()
            for piece in pieces:
                time.sleep(0.5)
                sock.sendall(piece)
            sock.sendall(tail)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert time.monotonic() - started > 3 * 2  # the upload did outlast the timeout, several times over
        status, _, body = answer.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 201"), (answer[:500], server.log())
        import json
        assert json.loads(body)["size"] == sum(map(len, pieces))
    finally:
        server.stop()
