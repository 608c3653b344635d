"""S'informer: published events and offers, and each person's feed settings

See app/models/feed.py.

Revision ID: b1c2d3e4f103
Revises: b1c2d3e4f102
Create Date: 2026-12-05 21:40:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b1c2d3e4f103'
# The lead re-chains linearly at merge; until then it follows path's (which follows fw's).
down_revision = 'b1c2d3e4f102'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feed_events',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('occupation_uris', sa.JSON(), nullable=False),
    sa.Column('skill_uris', sa.JSON(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sequence', sa.Integer(), server_default='0', nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_feed_events_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_feed_events_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_events'))
    )
    with op.batch_alter_table('feed_events', schema=None) as batch_op:
        batch_op.create_index('ix_feed_events_status_starts', ['status', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_events_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('feed_settings',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('digest', sa.Boolean(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('token_created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_digest_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_feed_settings_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_feed_settings')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_feed_settings_token_hash'))
    )


def downgrade():
    op.drop_table('feed_settings')
    with op.batch_alter_table('feed_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_events_organisation_id'))
        batch_op.drop_index('ix_feed_events_status_starts')
    op.drop_table('feed_events')
