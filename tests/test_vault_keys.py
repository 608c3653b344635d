"""Per-owner vault data keys: creation, crypto-shred on account deletion, master-key rotation (resumable)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from app import create_app
from app.extensions import db
from app.models import User, VaultKey
from app.services import accounts, vault_keys
from certs import vault
from tests.conftest import PASSWORD, FreshClient, release_database

OLD_KEY = "old-master-key-" + "o" * 32
NEW_KEY = "new-master-key-" + "n" * 32


def rows() -> list[VaultKey]:
    db.session.expire_all()
    return db.session.scalars(select(VaultKey)).all()


def test_a_new_account_gets_its_data_key_with_it(app, make_user):
    user = make_user()
    row = db.session.scalars(select(VaultKey).where(VaultKey.user_id == user.id)).one()
    assert vault.unwrap_data_key(row.wrapped_key, app.config["MASTER_KEY"], user.id) == \
        vault_keys.data_key_for(db.session, user)


def test_a_data_key_is_created_on_first_use_wrapped_and_then_reused(app, make_user):
    one, two = make_user(), make_user()
    db.session.execute(delete(VaultKey))  # accounts made before the vault existed have none
    db.session.commit()
    key = vault_keys.data_key_for(db.session, one)
    assert len(key) == 32 and vault_keys.data_key_for(db.session, one) == key
    db.session.rollback()  # flush only: nothing was committed
    assert rows() == []
    key = vault_keys.data_key_for(db.session, one)
    db.session.commit()
    assert vault_keys.data_key_for(db.session, two) != key
    db.session.commit()
    row = db.session.scalars(select(VaultKey).where(VaultKey.user_id == one.id)).one()
    master = app.config["MASTER_KEY"]
    assert row.master_key_id == vault.master_key_id(master) and key not in row.wrapped_key
    assert vault.unwrap_data_key(row.wrapped_key, master, one.id) == key
    with pytest.raises(vault.VaultError):  # bound to its owner
        vault.unwrap_data_key(row.wrapped_key, master, two.id)


def test_a_row_under_an_unknown_master_key_is_refused_not_guessed(app, make_user):
    user = make_user()
    db.session.execute(delete(VaultKey))
    db.session.add(VaultKey(user_id=user.id, master_key_id="0123456789abcdef",
                            wrapped_key=vault.wrap_data_key(os.urandom(32), "x" * 40, user.id)))
    db.session.commit()
    with pytest.raises(vault.VaultError) as refused:
        vault_keys.data_key_for(db.session, user)
    assert refused.value.code == "vault_master_key_missing"


def test_two_first_uses_at_once_end_with_one_key(app, make_user, monkeypatch):
    """Another worker inserts the owner's key between our read and our insert: we use the winner's key."""
    user = make_user()
    db.session.execute(delete(VaultKey))  # an account older than the vault
    db.session.commit()
    winner = os.urandom(32)
    real_generate = vault_keys.generate_data_key

    def racing_generate():  # runs after our SELECT found nothing, before our INSERT
        with Session(db.engine) as other:
            other.add(VaultKey(user_id=user.id, master_key_id=vault.master_key_id(app.config["MASTER_KEY"]),
                               wrapped_key=vault.wrap_data_key(winner, app.config["MASTER_KEY"], user.id)))
            other.commit()
        return real_generate()

    monkeypatch.setattr(vault_keys, "generate_data_key", racing_generate)
    assert vault_keys.data_key_for(db.session, user) == winner
    db.session.commit()
    assert len(rows()) == 1


def test_shred_destroys_the_key_so_old_documents_no_longer_open(app, make_user):
    user, other = make_user(), make_user()
    key = vault_keys.data_key_for(db.session, user)
    vault_keys.data_key_for(db.session, other)
    db.session.commit()
    blob = b"".join(vault.encrypt_stream(key, [b"a scanned diploma"], f"{user.id}/doc"))
    assert vault_keys.shred(db.session, user) is True
    db.session.commit()
    assert [row.user_id for row in rows()] == [other.id]  # only this owner's key
    assert vault_keys.shred(db.session, user) is False
    fresh = vault_keys.data_key_for(db.session, user)
    assert fresh != key
    with pytest.raises(vault.VaultError):
        b"".join(vault.decrypt_stream(fresh, [blob], f"{user.id}/doc"))


def test_deleting_an_account_destroys_its_data_key_before_the_account(app, make_user):
    user, other = make_user(), make_user()
    vault_keys.data_key_for(db.session, user)
    vault_keys.data_key_for(db.session, other)
    db.session.commit()
    statements = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("DELETE"):
            statements.append(statement.split("WHERE")[0].strip())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        accounts.delete_account(db.session, user, PASSWORD)
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert statements.index("DELETE FROM vault_keys") < statements.index("DELETE FROM users")
    assert [row.user_id for row in rows()] == [other.id]


def test_a_wrong_password_keeps_the_key(app, make_user):
    from app.services.errors import ServiceError

    user = make_user()
    vault_keys.data_key_for(db.session, user)
    db.session.commit()
    with pytest.raises(ServiceError):
        accounts.delete_account(db.session, user, "not the password at all")
    db.session.commit()
    assert len(rows()) == 1


# --- rotation -------------------------------------------------------------------------------------------

@pytest.fixture
def keyed_app(app_settings):
    """An instance whose master key lives in <instance>/master_key (the embedded default)."""
    folder = Path(app_settings["INSTANCE_PATH"])
    (folder / "master_key").write_text(OLD_KEY)
    settings = {k: v for k, v in app_settings.items() if k != "MASTER_KEY"}
    app = create_app(settings)
    app.test_client_class = FreshClient
    assert app.config["MASTER_KEY_FILE"] == str(folder / "master_key")
    with app.app_context():
        yield app
        release_database()


def rotate(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["keys", "rotate-master", *args], input=input)


def new_user() -> User:
    """An account in the current application (the ``make_user`` fixture would push the default ``app``)."""
    user = accounts.create_user(db.session, email=f"{os.urandom(6).hex()}@example.org", password=PASSWORD)
    db.session.commit()
    return user


def owners_with_keys(count: int) -> dict:
    users = [new_user() for _ in range(count)]
    keys = {user.id: vault_keys.data_key_for(db.session, user) for user in users}
    db.session.commit()
    return keys


def check_all_keys(keys: dict, master: str, not_master: str | None = None) -> None:
    assert len(rows()) == len(keys)
    for row in rows():
        assert row.master_key_id == vault.master_key_id(master)
        assert vault.unwrap_data_key(row.wrapped_key, master, row.user_id) == keys[row.user_id]
        if not_master:
            with pytest.raises(vault.VaultError):
                vault.unwrap_data_key(row.wrapped_key, not_master, row.user_id)


def test_rotation_interrupted_then_resumed_rewraps_every_key(keyed_app, monkeypatch, tmp_path):
    folder = Path(keyed_app.config["INSTANCE_PATH"])
    keys = owners_with_keys(7)
    owner = db.session.get(User, next(iter(keys)))
    document = b"".join(vault.encrypt_stream(keys[owner.id], [b"evidence"], f"{owner.id}/d1"))
    new_key_file = tmp_path / "new.key"
    new_key_file.write_text(NEW_KEY + "\n")

    real_batch, calls = vault_keys.rewrap_batch, []

    def crash_after_first_batch(session, ring, size):
        calls.append(size)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_batch(session, ring, size)

    monkeypatch.setattr(vault_keys, "rewrap_batch", crash_after_first_batch)
    result = rotate(keyed_app, "--new-key-file", str(new_key_file), "--batch-size", "3")
    assert isinstance(result.exception, RuntimeError) and "7 data key(s) to re-wrap" in result.output
    monkeypatch.setattr(vault_keys, "rewrap_batch", real_batch)

    # Mid-rotation: one batch committed under the new key, the rest under the old one; both keys work.
    ids = sorted(row.master_key_id for row in rows())
    assert ids.count(vault.master_key_id(NEW_KEY)) == 3 and ids.count(vault.master_key_id(OLD_KEY)) == 4
    assert (folder / "master_key").read_text() == OLD_KEY
    assert (folder / "master_key.next").read_text() == NEW_KEY
    assert oct((folder / "master_key.next").stat().st_mode & 0o777) == "0o600"
    for user_id, key in keys.items():
        assert vault_keys.data_key_for(db.session, db.session.get(User, user_id)) == key
    late = new_user()  # an owner created during the rotation gets a key under the new master key
    keys[late.id] = vault_keys.data_key_for(db.session, late)
    db.session.commit()
    assert db.session.scalars(select(VaultKey.master_key_id).where(VaultKey.user_id == late.id)).one() \
        == vault.master_key_id(NEW_KEY)

    other = tmp_path / "other.key"  # a different new key while one rotation is under way: refused
    other.write_text("another-key-" + "z" * 40)
    result = rotate(keyed_app, "--new-key-file", str(other))
    assert result.exit_code == 1 and "in progress" in result.output
    assert (folder / "master_key.next").read_text() == NEW_KEY
    result = rotate(keyed_app, "--batch-size", "3")  # resume
    assert result.exit_code == 0, result.output
    assert "Resuming the rotation" in result.output and "4 data key(s) to re-wrap" in result.output
    assert NEW_KEY not in result.output and OLD_KEY not in result.output

    assert (folder / "master_key").read_text() == NEW_KEY
    assert (folder / "master_key.old").read_text() == OLD_KEY and not (folder / "master_key.next").exists()
    check_all_keys(keys, NEW_KEY, not_master=OLD_KEY)
    # The running application follows the new key file (no restart) and documents were not touched.
    assert vault_keys.keyring().wrapping == NEW_KEY
    key = vault_keys.data_key_for(db.session, owner)
    assert b"".join(vault.decrypt_stream(key, [document], f"{owner.id}/d1")) == b"evidence"

    # Running again: refused until the operator removes master_key.old; then a new rotation starts.
    result = rotate(keyed_app)
    assert result.exit_code == 1 and "master_key.old is still there" in result.output
    (folder / "master_key.old").unlink()
    result = rotate(keyed_app)
    assert result.exit_code == 0, result.output
    newest = (folder / "master_key").read_text()
    assert newest not in (OLD_KEY, NEW_KEY) and newest not in result.output and len(newest) >= 32
    check_all_keys(keys, newest, not_master=NEW_KEY)


def test_a_crash_between_the_two_renames_resumes_cleanly(keyed_app, monkeypatch):
    folder = Path(keyed_app.config["INSTANCE_PATH"])
    keys = owners_with_keys(2)
    real_replace, calls = os.replace, []

    def crash_on_swap(src, dst):
        calls.append(Path(dst).name)
        if Path(dst).name == "master_key":
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(vault_keys.os, "replace", crash_on_swap)
    assert isinstance(rotate(keyed_app).exception, OSError)
    monkeypatch.setattr(vault_keys.os, "replace", real_replace)
    upcoming = (folder / "master_key.next").read_text()
    assert (folder / "master_key").read_text() == OLD_KEY
    assert (folder / "master_key.old").read_text() == OLD_KEY
    result = rotate(keyed_app)
    assert result.exit_code == 0 and "Resuming" in result.output and "0 data key(s)" in result.output
    assert (folder / "master_key").read_text() == upcoming
    check_all_keys(keys, upcoming, not_master=OLD_KEY)


def test_rotation_is_refused_when_the_instance_has_no_master_key(keyed_app):
    folder = Path(keyed_app.config["INSTANCE_PATH"])
    owners_with_keys(1)
    (folder / "master_key").unlink()
    vault_keys._file_cache.clear()
    result = rotate(keyed_app)
    assert result.exit_code == 1 and "has no master key" in result.output
    assert not (folder / "master_key.next").exists() and not (folder / "master_key").exists()
    assert rows()[0].master_key_id == vault.master_key_id(OLD_KEY)


def test_rotation_refuses_a_weak_or_unchanged_new_key(keyed_app, tmp_path):
    folder = Path(keyed_app.config["INSTANCE_PATH"])
    key_file = tmp_path / "k"
    for value, message in (("short", "at least 32"), (OLD_KEY, "the one in use")):
        key_file.write_text(value)
        result = rotate(keyed_app, "--new-key-file", str(key_file))
        assert result.exit_code == 1 and message in result.output
    assert not (folder / "master_key.next").exists()


def test_rotation_with_the_key_in_the_environment(app, app_settings, make_user):
    """SILLAGE_MASTER_KEY (here the configured key): the new key is generated into master_key.next, never
    printed; nothing is swapped; the operator sets the variable, and the finished rotation is recognised."""
    folder = Path(app.config["INSTANCE_PATH"])
    configured = app.config["MASTER_KEY"]
    assert app.config["MASTER_KEY_FILE"] is None
    keys = owners_with_keys(3)
    result = rotate(app, "--batch-size", "2")
    assert result.exit_code == 0, result.output
    upcoming = (folder / "master_key.next").read_text()
    assert upcoming not in result.output and "Set SILLAGE_MASTER_KEY to the content of" in result.output
    assert not (folder / "master_key").exists() and not (folder / "master_key.old").exists()
    check_all_keys(keys, upcoming, not_master=configured)
    for user_id, key in keys.items():  # this instance reads both keys meanwhile
        assert vault_keys.data_key_for(db.session, db.session.get(User, user_id)) == key

    switched = create_app({**app_settings, "MASTER_KEY": upcoming})  # the operator set the variable
    with switched.app_context():
        for user_id, key in keys.items():
            assert vault_keys.data_key_for(db.session, db.session.get(User, user_id)) == key
        result = rotate(switched)
        assert result.exit_code == 1 and "holds the master key already in use" in result.output
        db.session.remove()
    app.config["MASTER_KEY"] = ""
    result = rotate(app)
    assert result.exit_code == 1 and "no master key" in result.output


def test_rotate_master_joins_the_verifier_keys_group(app):
    assert {"generate", "rotate-master"} <= set(app.cli.commands["keys"].commands)


def test_a_key_placed_in_master_key_next_beforehand_is_the_one_rotated_to(keyed_app):
    """Several hosts: the operator writes the new key into master_key.next on each, then rotates on one."""
    folder = Path(keyed_app.config["INSTANCE_PATH"])
    keys = owners_with_keys(2)
    (folder / "master_key.next").write_text(NEW_KEY + "\n")
    late = new_user()  # already wrapped under the new key, as on every host that sees the file
    keys[late.id] = vault_keys.data_key_for(db.session, late)
    db.session.commit()
    result = rotate(keyed_app)
    assert result.exit_code == 0 and "Resuming" in result.output and "2 data key(s)" in result.output
    assert (folder / "master_key").read_text().strip() == NEW_KEY  # the operator's file, renamed into place
    check_all_keys(keys, NEW_KEY, not_master=OLD_KEY)
