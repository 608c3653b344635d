"""person endorsements, credential links, cached verdicts

Endorsement requests reuse the attestation requests (``purpose``, ``endorser_id``), the owner may hide
an attestation or endorsement (``hidden``), link a received credential to the items it proves
(``credential_links``), and the "Credentials" section keeps the verifier's last verdict
(``verification_verdicts``). See app/models/received.py.

Revision ID: f3c4d5e6f903
Revises: f4d5e6f7a904
Create Date: 2026-12-05 17:50:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'f3c4d5e6f903'
down_revision = 'f4d5e6f7a904'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attestation_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=20), server_default='attestation',
                                      nullable=False))
        batch_op.add_column(sa.Column('endorser_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('endorsement_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('hidden', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_attestation_requests_endorser_id_users'), 'users',
                                    ['endorser_id'], ['id'], ondelete='SET NULL')
    op.create_table('credential_links',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('item_kind', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'],
                            name=op.f('fk_credential_links_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'],
                            name=op.f('fk_credential_links_credential_id_credentials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential_links')),
    sa.UniqueConstraint('credential_id', 'item_kind', 'item_id', name='uq_credential_links_item')
    )
    with op.batch_alter_table('credential_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_links_portfolio_id'), ['portfolio_id'], unique=False)
        batch_op.create_index('ix_credential_links_item', ['item_kind', 'item_id'], unique=False)
    op.create_table('verification_verdicts',
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('error_codes', sa.JSON(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_verdicts')),
    sa.UniqueConstraint('subject_kind', 'subject_id', name='uq_verification_verdicts_subject')
    )


def downgrade():
    op.drop_table('verification_verdicts')
    with op.batch_alter_table('credential_links', schema=None) as batch_op:
        batch_op.drop_index('ix_credential_links_item')
        batch_op.drop_index(batch_op.f('ix_credential_links_portfolio_id'))
    op.drop_table('credential_links')
    with op.batch_alter_table('attestation_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attestation_requests_endorser_id_users'), type_='foreignkey')
        batch_op.drop_column('hidden')
        batch_op.drop_column('endorsement_comment')
        batch_op.drop_column('endorser_id')
        batch_op.drop_column('purpose')
