"""membership invitations

``memberships.accepted_at`` (NULL: an invitation the person has not accepted yet, which gives no power),
``memberships.email`` (the invited address; the only identity of an invitation to an address without an
account, whose ``user_id`` is then NULL) and ``memberships.invited_by_id``. Every existing membership
becomes accepted on the day it was made: they were made before invitations existed. See
app/models/issuing.py and app/services/invitations.py.

Revision ID: d2e3f4a5b701
Revises: d2e3f4a5b601
Create Date: 2026-12-06 05:10:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'd2e3f4a5b701'
down_revision = 'd2e3f4a5b601'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('invited_by_id', sa.Uuid(), nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(batch_op.f('ix_memberships_email'), ['email'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_memberships_invited_by_id_users'), 'users',
                                    ['invited_by_id'], ['id'], ondelete='SET NULL')
    op.execute(sa.text("UPDATE memberships SET accepted_at = created_at WHERE accepted_at IS NULL"))


def downgrade():
    # Without ``accepted_at`` every row gives its role's powers: invitations not accepted yet must go.
    op.execute(sa.text("DELETE FROM memberships WHERE accepted_at IS NULL OR user_id IS NULL"))
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_memberships_invited_by_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_memberships_email'))
        batch_op.alter_column('user_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column('invited_by_id')
        batch_op.drop_column('email')
        batch_op.drop_column('accepted_at')
