"""import fingerprints

``import_fingerprints``: one row per item an import created, so that importing the same file again
never duplicates it (see app/models/imports.py).

Revision ID: b1c2d3e4f106
Revises: b1c2d3e4f105
Create Date: 2026-12-05 21:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b1c2d3e4f106'
down_revision = 'b1c2d3e4f105'  # assigned a1b2c3d4e004; after export's (merged here, itself after backpack's); the lead re-chains
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_fingerprints',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('section', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'],
                            name=op.f('fk_import_fingerprints_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_fingerprints')),
    sa.UniqueConstraint('portfolio_id', 'section', 'fingerprint', name='uq_import_fingerprints_item')
    )


def downgrade():
    op.drop_table('import_fingerprints')
