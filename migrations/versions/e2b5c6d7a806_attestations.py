"""attestation requests and the platform's attestation key

Revision ID: e2b5c6d7a806
Revises: d1a4b5c6f704
Create Date: 2026-12-05 15:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'e2b5c6d7a806'
down_revision = 'd1a4b5c6f704'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('platform_keys',
    sa.Column('public_key_multibase', sa.String(length=100), nullable=False),
    sa.Column('sealed_private_key', sa.LargeBinary(), nullable=False),
    sa.Column('master_key_id', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_keys'))
    )
    with op.batch_alter_table('platform_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_platform_keys_master_key_id'), ['master_key_id'], unique=False)

    op.create_table('attestation_requests',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('item_kind', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('item_title', sa.String(length=200), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('referee_name', sa.String(length=120), nullable=False),
    sa.Column('referee_email', sa.String(length=254), nullable=False),
    sa.Column('referee_relationship', sa.String(length=120), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('corrected_statement', sa.Text(), nullable=True),
    sa.Column('decline_reason', sa.String(length=1000), nullable=True),
    sa.Column('signed_by_organisation_id', sa.Uuid(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_attestation_requests_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signed_by_organisation_id'], ['organisations.id'], name=op.f('fk_attestation_requests_signed_by_organisation_id_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attestation_requests')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_attestation_requests_token_hash'))
    )
    with op.batch_alter_table('attestation_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attestation_requests_item_id'), ['item_id'], unique=False)
        batch_op.create_index('ix_attestation_requests_portfolio_created', ['portfolio_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('attestation_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_attestation_requests_portfolio_created')
        batch_op.drop_index(batch_op.f('ix_attestation_requests_item_id'))
    op.drop_table('attestation_requests')
    with op.batch_alter_table('platform_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_platform_keys_master_key_id'))
    op.drop_table('platform_keys')
