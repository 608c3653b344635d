"""status entries of credentials signed through the VC-API issuer route

``status_entries.credential_id`` becomes nullable (a VC-API credential is not stored) and
``credential_ref`` keeps what the caller named the credential, ``set_at`` its bit (app/models/credentials.py StatusEntry).

Revision ID: f4d5e6f7a904
Revises: f1a2b3c4d901
Create Date: 2026-12-05 17:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'f4d5e6f7a904'
down_revision = 'f1a2b3c4d901'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('status_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credential_ref', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('set_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('credential_id', existing_type=sa.Uuid(), nullable=True)


def downgrade():
    # Entries of credentials that Sillage does not store cannot be kept under a NOT NULL column.
    op.execute("DELETE FROM status_entries WHERE credential_id IS NULL")
    with op.batch_alter_table('status_entries', schema=None) as batch_op:
        batch_op.alter_column('credential_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column('set_at')
        batch_op.drop_column('credential_ref')
