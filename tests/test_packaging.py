"""A non-editable install (a wheel, ``pip install .``) carries its migrations and can build a database.

Slow-ish (it builds a wheel, about half a minute here, most of it pip preparing the build
environment), but kept in the normal suite: an install that cannot run ``sillage db upgrade`` is a
broken release. Deselect with ``-m "not slow"``.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"


def _run(*args, **kwargs):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, timeout=300,
                          **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
         "-w", folder, ROOT)
    return next(folder.glob("sillage-*.whl"))


def _head_revision() -> str:
    """The revision no other migration names as its parent."""
    revisions, parents = set(), set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        namespace: dict = {}
        exec(compile(script.read_text(), str(script), "exec"), namespace)  # noqa: S102 - our own files
        revisions.add(namespace["revision"])
        down = namespace["down_revision"]
        parents.update(down if isinstance(down, tuple) else [down])
    heads = revisions - parents
    assert len(heads) == 1, heads
    return heads.pop()


@pytest.mark.slow
def test_the_wheel_ships_every_migration_and_the_compiled_catalogue(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"app/migrations/" + path.relative_to(MIGRATIONS).as_posix() for path in MIGRATIONS.rglob("*")
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}
    assert {"app/migrations/env.py", "app/migrations/alembic.ini"} <= expected <= names
    assert not any(name.startswith("migrations/") for name in names)  # no top-level package of that name
    assert "app/translations/fr/LC_MESSAGES/messages.mo" in names
    assert {"cv_templates/_base.html", "cv_templates/_common.css", "cv_templates/classic/design.json",
            "cv_templates/modern/page.html", "cv_templates/europass/style.css"} <= names


@pytest.mark.slow
def test_an_installed_wheel_upgrades_a_new_instance(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    # The dependencies are borrowed from this environment (a plain path: its .pth files, among them the
    # editable install of this checkout, are not processed); Sillage itself comes from the wheel.
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--quiet",
         "--disable-pip-version-check", wheel)

    env = {key: value for key, value in os.environ.items()
           if not key.startswith("SILLAGE_") and key not in {"PYTHONPATH", "PYTHONHOME"}}
    env["SILLAGE_INSTANCE_PATH"] = str(tmp_path / "instance")
    where = _run(python, "-c", "import app; print(app.migrations_directory())", env=env, cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(site)  # the wheel's copy, not this checkout's
    _run(venv / "bin" / "sillage", "db", "upgrade", env=env, cwd=tmp_path)

    with sqlite3.connect(tmp_path / "instance" / "sillage.db") as database:
        assert database.execute("SELECT version_num FROM alembic_version").fetchone()[0] == _head_revision()
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "portfolios", "api_tokens", "http_sessions"} <= tables
