"""Activation codes: the address a code was e-mailed to (NULL for a printed letter's code)

``activation_codes.mailed_to``: a printed letter no longer voids a code already e-mailed (each channel
supersedes only its own earlier codes), and activating with an e-mailed code at that address verifies it.
See app/services/institutions.py.

Revision ID: d2e3f4a5b702
Revises: d2e3f4a5b701
Create Date: 2026-12-06 05:15:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'd2e3f4a5b702'
down_revision = 'd2e3f4a5b701'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('activation_codes', sa.Column('mailed_to', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('activation_codes') as batch_op:
        batch_op.drop_column('mailed_to')
