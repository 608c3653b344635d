"""public pages and share links

Pages composed by the owner and the share links that open them (or, later, a CV: ``cv_id`` has no foreign
key until the CV table exists). See app/models/pages.py.

Revision ID: f6f7a8b9c906
Revises: f7a8b9c0d907
Create Date: 2026-12-05 17:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'f6f7a8b9c906'
down_revision = 'f7a8b9c0d907'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pages',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('headline', sa.String(length=160), nullable=False),
    sa.Column('theme', sa.String(length=20), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('show_photo', sa.Boolean(), nullable=False),
    sa.Column('public_profile', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_pages_portfolio_id_portfolios'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages'))
    )
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.create_index('ix_pages_portfolio_created', ['portfolio_id', 'created_at'], unique=False)

    op.create_table('share_links',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('page_id', sa.Uuid(), nullable=True),
    sa.Column('cv_id', sa.Uuid(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('view_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_viewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('(page_id IS NULL) <> (cv_id IS NULL)', name=op.f('ck_share_links_one_target')),
    sa.ForeignKeyConstraint(['page_id'], ['pages.id'], name=op.f('fk_share_links_page_id_pages'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'],
                            name=op.f('fk_share_links_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_share_links_token_hash'))
    )
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_links_cv_id'), ['cv_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_links_page_id'), ['page_id'], unique=False)
        batch_op.create_index('ix_share_links_portfolio_created', ['portfolio_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.drop_index('ix_share_links_portfolio_created')
        batch_op.drop_index(batch_op.f('ix_share_links_page_id'))
        batch_op.drop_index(batch_op.f('ix_share_links_cv_id'))
    op.drop_table('share_links')
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_index('ix_pages_portfolio_created')
    op.drop_table('pages')
