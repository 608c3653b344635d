"""backpack: badges earned elsewhere

``external_credentials`` (the document verbatim, its fingerprint unique per portfolio) and
``external_credential_links`` (which experience, diploma or skill a badge proves), app/models/backpack.py.
Their verdicts go to ``verification_verdicts`` with the subject kind ``external`` (no schema change).

Revision ID: b1c2d3e4f107
Revises: b1c2d3e4f104
Create Date: 2026-12-05 21:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b1c2d3e4f107'
down_revision = 'b1c2d3e4f104'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('external_credentials',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('original', sa.LargeBinary(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('image', sa.LargeBinary(), nullable=True),
    sa.Column('image_type', sa.String(length=40), nullable=True),
    sa.Column('source_url', sa.String(length=2048), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('issuer_name', sa.String(length=300), nullable=False),
    sa.Column('issuer_id', sa.String(length=2048), nullable=True),
    sa.Column('achievement_name', sa.String(length=300), nullable=False),
    sa.Column('achievement_description', sa.Text(), nullable=True),
    sa.Column('achievement_image', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('bundle', sa.JSON(), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'],
                            name=op.f('fk_external_credentials_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_credentials')),
    sa.UniqueConstraint('portfolio_id', 'fingerprint', name='uq_external_credentials_fingerprint')
    )
    with op.batch_alter_table('external_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_credentials_portfolio_id'), ['portfolio_id'], unique=False)

    op.create_table('external_credential_links',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('external_credential_id', sa.Uuid(), nullable=False),
    sa.Column('item_kind', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'],
                            name=op.f('fk_external_credential_links_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['external_credential_id'], ['external_credentials.id'],
                            name=op.f('fk_external_credential_links_external_credential_id_external_credentials'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_credential_links')),
    sa.UniqueConstraint('external_credential_id', 'item_kind', 'item_id', name='uq_external_credential_links_item')
    )
    with op.batch_alter_table('external_credential_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_credential_links_portfolio_id'), ['portfolio_id'], unique=False)
        batch_op.create_index('ix_external_credential_links_item', ['item_kind', 'item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('external_credential_links', schema=None) as batch_op:
        batch_op.drop_index('ix_external_credential_links_item')
        batch_op.drop_index(batch_op.f('ix_external_credential_links_portfolio_id'))
    op.drop_table('external_credential_links')
    with op.batch_alter_table('external_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_credentials_portfolio_id'))
    op.drop_table('external_credentials')
