"""every account has its vault data key

A new account gets its data key with it (``accounts.create_user``); accounts made before that got one
on their first upload, in a transaction of its own (``documents._data_key``), which could wait on a
write lock the caller's request held. This gives every account still without a key its key now, so
that the vault never creates one on the way of an upload any more.

Data only (no schema change). Each key is random, wrapped by the instance's wrapping master key (the
one ``app.services.vault_keys.keyring`` names, which is the next key during a rotation, so that a
rotation in progress converges), bound to its owner's id as ``vault_keys.data_key_for`` does.
Downgrade keeps the keys: deleting one would make that owner's documents unreadable.

Revision ID: f1a2b3c4d901
Revises: e3d4e5f6b807
Create Date: 2026-12-05 18:00:00

"""
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = 'f1a2b3c4d901'
down_revision = 'e3d4e5f6b807'
branch_labels = None
depends_on = None

BATCH = 500

users = sa.table('users', sa.column('id', sa.Uuid()))
vault_keys = sa.table(
    'vault_keys', sa.column('id', sa.Uuid()), sa.column('user_id', sa.Uuid()),
    sa.column('wrapped_key', sa.LargeBinary()), sa.column('master_key_id', sa.String(16)),
    sa.column('created_at', sa.DateTime(timezone=True)))


def _without_key(connection) -> list:
    return list(connection.scalars(
        sa.select(users.c.id).select_from(users.outerjoin(vault_keys, vault_keys.c.user_id == users.c.id))
        .where(vault_keys.c.id.is_(None)).order_by(users.c.id).limit(BATCH)))


def upgrade():
    from flask import current_app

    from app.services.vault_keys import keyring
    from certs.vault import generate_data_key, wrap_data_key

    connection = op.get_bind()
    missing = _without_key(connection)
    if not missing:
        return  # a new database, or every account has its key: no master key needed
    ring = keyring(current_app.config)
    while missing:
        now = datetime.now(timezone.utc)
        connection.execute(vault_keys.insert(), [
            {"id": uuid.uuid4(), "user_id": user_id, "master_key_id": ring.wrapping_id, "created_at": now,
             "wrapped_key": wrap_data_key(generate_data_key(), ring.wrapping, user_id)}
            for user_id in missing])
        missing = _without_key(connection)


def downgrade():
    pass
