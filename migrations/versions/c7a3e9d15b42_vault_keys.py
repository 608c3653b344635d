"""vault data keys

One row per owner: the owner's random data key, wrapped by the instance master key, and the id of the
master key that wraps it (so that ``sillage keys rotate-master`` can resume where it stopped).

Revision ID: c7a3e9d15b42
Revises: b5d2e8f4a613
Create Date: 2026-12-05 12:25:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'c7a3e9d15b42'
down_revision = 'b5d2e8f4a613'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('vault_keys',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('master_key_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_vault_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_keys')),
    sa.UniqueConstraint('user_id', name=op.f('uq_vault_keys_user_id'))
    )
    with op.batch_alter_table('vault_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vault_keys_master_key_id'), ['master_key_id'], unique=False)


def downgrade():
    with op.batch_alter_table('vault_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vault_keys_master_key_id'))
    op.drop_table('vault_keys')
