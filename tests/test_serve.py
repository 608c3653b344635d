"""`sillage serve`: the worker count chosen by measurement, and each worker's frozen application."""
from __future__ import annotations

import gc
import multiprocessing

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


def test_each_worker_freezes_its_application(started):
    assert CliRunner().invoke(cli.serve, []).exit_code == 0
    assert started["hook"] is cli._freeze_after_start
    before = gc.get_freeze_count()
    kept = [[n] for n in range(1000)]  # objects alive when the worker has built its application
    try:
        started["hook"](None)
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()


def test_the_verification_slots_follow_the_capacity_serve_starts(started, tmp_path):
    """The workers' configuration derives its verification slots from what serve really starts."""
    import os

    from app import config

    assert CliRunner().invoke(cli.serve, ["--workers", "6", "--threads", "2"]).exit_code == 0
    settings = config.load(os.environ, {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 32,
                                        "MASTER_KEY": "m" * 44})
    assert settings["VERIFY_SLOTS"] == 6
