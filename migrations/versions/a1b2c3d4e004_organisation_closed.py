"""organisations can be closed

``organisations.closed_at``: a closed organisation issues nothing more, and keeps its DID document,
profile and status lists published. See app/models/issuing.py.

Revision ID: a1b2c3d4e004
Revises: a1b2c3d4e001
Create Date: 2026-12-05 19:05:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'a1b2c3d4e004'
down_revision = 'a1b2c3d4e001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
