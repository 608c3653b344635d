"""endorsements

Signed OB 3.0 EndorsementCredentials by organisations, about an achievement, an organisation or an
issued credential (app/models/endorsements.py).

Revision ID: e3d4e5f6b807
Revises: e2b5c6d7a806
Create Date: 2026-12-05 15:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'e3d4e5f6b807'
down_revision = 'e2b5c6d7a806'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('endorsements',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('subject_uri', sa.String(length=500), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('issued_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_endorsements_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_endorsements_issued_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endorsements'))
    )
    with op.batch_alter_table('endorsements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endorsements_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_endorsements_subject', ['subject_kind', 'subject_id'], unique=False)


def downgrade():
    with op.batch_alter_table('endorsements', schema=None) as batch_op:
        batch_op.drop_index('ix_endorsements_subject')
        batch_op.drop_index(batch_op.f('ix_endorsements_organisation_id'))
    op.drop_table('endorsements')
