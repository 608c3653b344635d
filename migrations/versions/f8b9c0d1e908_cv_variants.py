"""cv variants

Contextual CVs (app/models/cvs.py, issue 10).

Revision ID: f8b9c0d1e908
Revises: f3c4d5e6f903
Create Date: 2026-12-05 17:50:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'f8b9c0d1e908'
down_revision = 'f3c4d5e6f903'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cv_variants',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('target_text', sa.Text(), nullable=False),
    sa.Column('target_occupation', sa.String(length=300), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('template', sa.String(length=40), nullable=False),
    sa.Column('selection', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('cover_letter', sa.Text(), nullable=False),
    sa.Column('show_photo', sa.Boolean(), nullable=False),
    sa.Column('consent', sa.String(length=20), nullable=False),
    sa.Column('consent_text', sa.String(length=600), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'],
                            name=op.f('fk_cv_variants_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cv_variants'))
    )
    with op.batch_alter_table('cv_variants', schema=None) as batch_op:
        batch_op.create_index('ix_cv_variants_portfolio_updated', ['portfolio_id', 'updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('cv_variants', schema=None) as batch_op:
        batch_op.drop_index('ix_cv_variants_portfolio_updated')
    op.drop_table('cv_variants')
