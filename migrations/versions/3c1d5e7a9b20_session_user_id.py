"""session rows know their user

Deleting an account left its other sessions in ``http_sessions``: the user's id was only inside the
serialised ``data``, so nothing could find them. ``user_id`` is now written with every authenticated
session (and deleted with the account, by the service and by the foreign key as a safety net).
Existing rows are filled from their data; the rows of accounts that no longer exist are the very
leftovers this fixes, and are deleted.

Revision ID: 3c1d5e7a9b20
Revises: 7db48724395e
Create Date: 2026-12-05 11:30:00

"""
import uuid

import msgspec
import sqlalchemy as sa
from alembic import op

revision = '3c1d5e7a9b20'
down_revision = '7db48724395e'
branch_labels = None
depends_on = None


def _user_id(data):
    """The account id in a session's data (Flask-Login's ``_user_id`` is ``<uuid>:<version>``)."""
    try:
        identity = msgspec.msgpack.decode(bytes(data)).get("_user_id")
        return uuid.UUID(str(identity).partition(":")[0]) if identity else None
    except Exception:  # unreadable data: treated as anonymous
        return None


def upgrade():
    with op.batch_alter_table('http_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_http_sessions_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_http_sessions_user_id_users'), 'users', ['user_id'], ['id'],
                                    ondelete='CASCADE')
    connection = op.get_bind()
    sessions = sa.table('http_sessions', sa.column('id', sa.Integer), sa.column('data', sa.LargeBinary),
                        sa.column('user_id', sa.Uuid))
    users = sa.table('users', sa.column('id', sa.Uuid))
    existing = set(connection.execute(sa.select(users.c.id)).scalars())
    for row in connection.execute(sa.select(sessions.c.id, sessions.c.data)).all():
        user_id = _user_id(row.data) if row.data is not None else None
        if user_id is None:
            continue
        if user_id in existing:
            connection.execute(sessions.update().where(sessions.c.id == row.id).values(user_id=user_id))
        else:
            connection.execute(sessions.delete().where(sessions.c.id == row.id))


def downgrade():
    with op.batch_alter_table('http_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_http_sessions_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_http_sessions_user_id'))
        batch_op.drop_column('user_id')
