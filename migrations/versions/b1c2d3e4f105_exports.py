"""exports and erased share-link tokens

``exports``: one requested ZIP of an owner's data (issue 11); ``erased_tokens``: the hashes of share
links whose owner deleted the account, answered 410. See app/models/exports.py.

Revision ID: b1c2d3e4f105
Revises: b1c2d3e4f107
Create Date: 2026-12-05 21:35:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b1c2d3e4f105'
down_revision = 'b1c2d3e4f107'  # after backpack's (merged here); the lead re-chains
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'exports',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('progress', sa.SmallInteger(), nullable=False),
        sa.Column('selection', sa.JSON(), nullable=True),
        sa.Column('encrypted', sa.Boolean(), nullable=False),
        sa.Column('header', sa.LargeBinary(), nullable=True),
        sa.Column('sealed_private_key', sa.LargeBinary(), nullable=True),
        sa.Column('master_key_id', sa.String(length=16), nullable=True),
        sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('storage_key', sa.String(length=200), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('error', sa.String(length=60), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_exports_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exports')),
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index('ix_exports_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_exports_master_key_id'), ['master_key_id'], unique=False)
    op.create_table(
        'erased_tokens',
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('erased_on', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('token_digest', name=op.f('pk_erased_tokens')),
    )


def downgrade():
    op.drop_table('erased_tokens')
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exports_master_key_id'))
        batch_op.drop_index('ix_exports_user_created')
    op.drop_table('exports')
