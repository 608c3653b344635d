"""portfolio revision (perf: the timeline's fragment cache)

``portfolios.revision`` counts the changes to a portfolio and its items: every flush that creates,
changes or deletes one of them adds one (``app.models.portfolio``). The timeline's rendered part is
cached under it, so a change is seen at once, by every worker, without telling them. Existing rows
start at 0: caches live in memory and are empty after the upgrade's restart.

Revision ID: b5d2e8f4a613
Revises: 5e2f0a4c8d31
Create Date: 2026-12-05 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d2e8f4a613'
down_revision = '5e2f0a4c8d31'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('portfolios', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('portfolios', schema=None) as batch_op:
        batch_op.drop_column('revision')
