"""issued credentials, Bitstring Status Lists and their entries, claim links

A credential keeps its signed JSON verbatim; (status list, index) is unique so that random index
allocation is safe under concurrency; claim tokens are stored hashed.

Revision ID: c0f3a4b5e603
Revises: b9e2f3a4d502
Create Date: 2026-12-05 14:10:14

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0f3a4b5e603'
down_revision = 'b9e2f3a4d502'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('status_lists',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('bits', sa.LargeBinary(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=True),
    sa.Column('etag', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_status_lists_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_lists'))
    )
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_lists_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('credentials',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('achievement_id', sa.Uuid(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('recipient_email', sa.String(length=254), nullable=False),
    sa.Column('recipient_salt', sa.String(length=200), nullable=False),
    sa.Column('portfolio_id', sa.Uuid(), nullable=True),
    sa.Column('issued_by_id', sa.Uuid(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('narrative', sa.Text(), nullable=True),
    sa.Column('evidence_urls', sa.JSON(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.String(length=1000), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspension_reason', sa.String(length=1000), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('show_recipient_name', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['achievement_id'], ['achievements.id'], name=op.f('fk_credentials_achievement_id_achievements'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_credentials_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_credentials_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_credentials_portfolio_id_portfolios'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credentials'))
    )
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credentials_achievement_id'), ['achievement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credentials_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_credentials_organisation_id_issued_at', ['organisation_id', 'issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_credentials_portfolio_id'), ['portfolio_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credentials_recipient_email'), ['recipient_email'], unique=False)

    op.create_table('claim_tokens',
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_claim_tokens_credential_id_credentials'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_claim_tokens_token_hash'))
    )
    with op.batch_alter_table('claim_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_tokens_credential_id'), ['credential_id'], unique=False)

    op.create_table('status_entries',
    sa.Column('status_list_id', sa.Uuid(), nullable=False),
    sa.Column('list_index', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_status_entries_credential_id_credentials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['status_list_id'], ['status_lists.id'], name=op.f('fk_status_entries_status_list_id_status_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_entries')),
    sa.UniqueConstraint('status_list_id', 'list_index', name='uq_status_entries_list_index')
    )
    with op.batch_alter_table('status_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_entries_credential_id'), ['credential_id'], unique=False)



def downgrade():
    with op.batch_alter_table('status_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_entries_credential_id'))

    op.drop_table('status_entries')
    with op.batch_alter_table('claim_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_tokens_credential_id'))

    op.drop_table('claim_tokens')
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credentials_recipient_email'))
        batch_op.drop_index(batch_op.f('ix_credentials_portfolio_id'))
        batch_op.drop_index('ix_credentials_organisation_id_issued_at')
        batch_op.drop_index(batch_op.f('ix_credentials_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_credentials_achievement_id'))

    op.drop_table('credentials')
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lists_organisation_id'))

    op.drop_table('status_lists')
