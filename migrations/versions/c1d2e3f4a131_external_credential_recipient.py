"""external credential recipient

``external_credentials.recipient``: whether a badge brought into the backpack names its owner (``you``),
another person (``someone_else``, kept only once the owner confirmed) or no e-mail address (null). Rows
imported before stay null ("recipient not checked"). Review 13, M1.

Revision ID: c1d2e3f4a131
Revises: b1c2d3e4f106
Create Date: 2026-12-05 23:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'c1d2e3f4a131'
down_revision = 'b1c2d3e4f106'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('external_credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('external_credentials', schema=None) as batch_op:
        batch_op.drop_column('recipient')
