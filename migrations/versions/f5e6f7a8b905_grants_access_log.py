"""grants and access log

Invitations and roles over a portfolio (``grants``) and the owner's access log (``access_events``),
app/models/sharing.py.

Revision ID: f5e6f7a8b905
Revises: e3d4e5f6b807
Create Date: 2026-12-05 17:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'f5e6f7a8b905'
down_revision = 'e3d4e5f6b807'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('grants',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('grantee_id', sa.Uuid(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('invited_by_id', sa.Uuid(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_grants_portfolio_id_portfolios'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grantee_id'], ['users.id'], name=op.f('fk_grants_grantee_id_users'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_grants_invited_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grants')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_grants_token_hash'))
    )
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grants_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_grantee_id'), ['grantee_id'], unique=False)
        batch_op.create_index('ix_grants_portfolio_email', ['portfolio_id', 'email'], unique=False)

    op.create_table('access_events',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('object_type', sa.String(length=20), nullable=True),
    sa.Column('object_id', sa.Uuid(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('share_link_id', sa.Uuid(), nullable=True),
    sa.Column('share_link_label', sa.String(length=120), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'],
                            name=op.f('fk_access_events_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_access_events_actor_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_events'))
    )
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_access_events_portfolio_created', ['portfolio_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.drop_index('ix_access_events_portfolio_created')
        batch_op.drop_index(batch_op.f('ix_access_events_created_at'))
    op.drop_table('access_events')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index('ix_grants_portfolio_email')
        batch_op.drop_index(batch_op.f('ix_grants_grantee_id'))
        batch_op.drop_index(batch_op.f('ix_grants_email'))
    op.drop_table('grants')
