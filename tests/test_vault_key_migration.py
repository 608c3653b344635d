"""Migration f1a2b3c4d901: every account older than the vault gets its data key, so that an upload
never creates one (``documents`` has no key-creating path of its own any more)."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import delete, event, select

from app.extensions import db
from app.models import User, VaultKey
from app.services import documents
from certs import vault

REVISION = "f1a2b3c4d901"


def keys() -> dict:
    db.session.expire_all()
    return {row.user_id: row for row in db.session.scalars(select(VaultKey))}


def migrate_again_without_keys(*user_ids) -> None:
    """Back to the revision before this one, the keys of ``user_ids`` gone (accounts made before the
    vault), then up to the head again."""
    db.session.remove()
    downgrade(revision=f"{REVISION}-1")
    try:
        with db.engine.begin() as connection:
            connection.execute(delete(VaultKey.__table__).where(VaultKey.__table__.c.user_id.in_(user_ids)))
    finally:
        upgrade()


def test_accounts_without_a_key_get_one_and_the_others_keep_theirs(app, make_user):
    keeper, old_one, old_two = make_user(), make_user(), make_user()
    kept = keys()[keeper.id].wrapped_key
    migrate_again_without_keys(old_one.id, old_two.id)
    found = keys()
    assert set(found) == {keeper.id, old_one.id, old_two.id}
    assert found[keeper.id].wrapped_key == kept  # untouched
    master = app.config["MASTER_KEY"]
    made = {user_id: vault.unwrap_data_key(found[user_id].wrapped_key, master, user_id)
            for user_id in (old_one.id, old_two.id)}
    assert len(set(made.values())) == 2 and all(len(key) == 32 for key in made.values())  # random, one each
    assert found[old_one.id].master_key_id == vault.master_key_id(master)
    with pytest.raises(vault.VaultError):  # bound to its owner: another owner's id does not unwrap it
        vault.unwrap_data_key(found[old_one.id].wrapped_key, master, old_two.id)


def test_during_a_rotation_the_next_master_key_wraps_them(app, make_user):
    """A rotation in progress (``master_key.next``) must converge: new keys go under the next key."""
    person = make_user()
    upcoming = "next-master-key-" + "x" * 32
    (Path(app.config["INSTANCE_PATH"]) / "master_key.next").write_text(upcoming)
    migrate_again_without_keys(person.id)
    row = keys()[person.id]
    assert row.master_key_id == vault.master_key_id(upcoming)
    assert len(vault.unwrap_data_key(row.wrapped_key, upcoming, person.id)) == 32


def test_an_upload_of_a_migrated_account_writes_no_key(app, make_user):
    """The first upload reads the key the migration made: no key is inserted on the way."""
    person_id = make_user().id
    migrate_again_without_keys(person_id)
    person = db.session.get(User, person_id)
    made = keys()[person_id].wrapped_key
    statements: list[str] = []
    listener = lambda _c, _cur, statement, *_args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        document = documents.store(db.session, person, "note.txt", iter([b"first upload"]))
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert not [s for s in statements if "INSERT INTO vault_keys" in s]
    assert keys()[person.id].wrapped_key == made
    assert b"".join(documents.read(person, document)) == b"first upload"
