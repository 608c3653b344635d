"""guardians: consents of a minor's guardians (app/models/guardians.py); the ``partner`` membership role
is a new value of ``memberships.role`` (no DDL)

Revision ID: c1d2e3f4a204
Revises: c1d2e3f4a201
Create Date: 2026-12-05 22:50:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'c1d2e3f4a204'
down_revision = 'c1d2e3f4a201'  # after inst (merged here); the lead re-chains
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('guardian_consents',
    sa.Column('minor_id', sa.Uuid(), nullable=False),
    sa.Column('guardian_id', sa.Uuid(), nullable=True),
    sa.Column('guardian_email', sa.String(length=254), nullable=False),
    sa.Column('scope', sa.String(length=24), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['guardian_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['minor_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.create_index('ix_guardian_consents_minor_scope', ['minor_id', 'scope', 'decided_at'], unique=False)


def downgrade():
    with op.batch_alter_table('guardian_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_guardian_consents_minor_scope')
    op.drop_table('guardian_consents')
