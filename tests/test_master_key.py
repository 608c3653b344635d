"""The master key: generated for a new instance only; never silently replaced once data depends on it."""
from __future__ import annotations

import logging
import shutil

import pytest

from app import config


def env_for(folder, database_url=None) -> dict:
    env = {"SILLAGE_INSTANCE_PATH": str(folder), "SILLAGE_SECRET_KEY": "s" * 48}
    if database_url:
        env["SILLAGE_DATABASE_URL"] = database_url
    return env


def test_a_new_instance_gets_a_generated_key_and_says_so(tmp_path, caplog):
    folder = tmp_path / "instance"  # not even created yet: no database file at all
    with caplog.at_level(logging.WARNING, logger="app.config"):
        settings = config.load(env=env_for(folder))
    assert len(settings["MASTER_KEY"]) >= 32
    assert (folder / "master_key").read_text() == settings["MASTER_KEY"]
    assert "Generated a new master_key" in caplog.text and str(folder / "master_key") in caplog.text
    assert config.load(env=env_for(folder))["MASTER_KEY"] == settings["MASTER_KEY"]  # kept from now on


def test_a_migrated_database_without_accounts_is_still_new(tmp_path, sqlite_template):
    folder = tmp_path / "instance"
    folder.mkdir()
    shutil.copy(sqlite_template, folder / "sillage.db")
    assert len(config.load(env=env_for(folder))["MASTER_KEY"]) >= 32


def test_a_missing_key_with_existing_accounts_stops_the_start(app, app_settings, make_user):
    from app import create_app

    make_user()
    folder = app_settings["INSTANCE_PATH"]
    env = env_for(folder, app_settings["SQLALCHEMY_DATABASE_URI"])
    with pytest.raises(RuntimeError) as refused:
        config.load(env=env)
    message = str(refused.value)
    assert f"{folder}/master_key is missing" in message
    assert "restore it from a backup" in message and "SILLAGE_MASTER_KEY" in message
    assert not (config.Path(folder) / "master_key").exists()  # nothing was generated
    # The application itself (every worker, every command) refuses in the same way.
    with pytest.raises(RuntimeError, match="master_key is missing"):
        create_app({"INSTANCE_PATH": folder, "SQLALCHEMY_DATABASE_URI": app_settings["SQLALCHEMY_DATABASE_URI"],
                    "SECRET_KEY": "s" * 48})


def test_an_empty_key_stops_the_start(tmp_path):
    (tmp_path / "master_key").write_text("\n")
    with pytest.raises(RuntimeError, match="master_key is empty"):
        config.load(env=env_for(tmp_path))


def test_the_environment_key_is_used_and_nothing_is_written(app, app_settings, make_user):
    make_user()  # data exists, the file does not: the variable is enough
    env = {**env_for(app_settings["INSTANCE_PATH"], app_settings["SQLALCHEMY_DATABASE_URI"]),
           "SILLAGE_MASTER_KEY": "k" * 43}
    assert config.load(env=env)["MASTER_KEY"] == "k" * 43
    assert not (config.Path(app_settings["INSTANCE_PATH"]) / "master_key").exists()
