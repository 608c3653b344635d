"""audit log, account suspension, per-day activity counters

``audit_events`` (every admin and head action, never portfolio content), ``users.suspended_at`` /
``suspension_reason``, ``daily_activity`` (counts per day and scope) and ``daily_seen`` (the per-day
"counted already" set of HMAC keys, purged when the day is over). See app/models/admin.py.

Revision ID: c1d2e3f4a203
Revises: c1d2e3f4a202
Create Date: 2026-12-05 22:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'c1d2e3f4a203'
down_revision = 'c1d2e3f4a202'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_events',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_audit_events_organisation_id_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('daily_activity',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('scope', sa.String(length=36), nullable=False),
    sa.Column('sign_ins', sa.Integer(), nullable=False),
    sa.Column('api_uses', sa.Integer(), nullable=False),
    sa.Column('active_people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'scope', name=op.f('pk_daily_activity'))
    )
    op.create_table('daily_seen',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_daily_seen'))
    )
    with op.batch_alter_table('daily_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_seen_day'), ['day'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suspension_reason', sa.String(length=2000), nullable=True))
        batch_op.create_index('ix_users_indicators', ['role', 'is_admin', 'email_verified_at', 'suspended_at',
                                                      'last_login_at'], unique=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_indicators')
        batch_op.drop_column('suspension_reason')
        batch_op.drop_column('suspended_at')
    with op.batch_alter_table('daily_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_seen_day'))
    op.drop_table('daily_seen')
    op.drop_table('daily_activity')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index('ix_audit_events_created_at')
    op.drop_table('audit_events')
