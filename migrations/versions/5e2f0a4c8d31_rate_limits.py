"""shared rate-limit counters

Without Redis, Flask-Limiter counted in each worker's memory, so a per-IP limit was multiplied by the
number of workers (73 of 80 sign-in attempts went through under 20/minute with 5 workers). The counters
now live in this table (``app.ratelimits``), one row per limit, address and window.

Revision ID: 5e2f0a4c8d31
Revises: 3c1d5e7a9b20
Create Date: 2026-12-05 11:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '5e2f0a4c8d31'
down_revision = '3c1d5e7a9b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limits',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limits'))
    )
    with op.batch_alter_table('rate_limits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limits_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('rate_limits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limits_expires_at'))
    op.drop_table('rate_limits')
