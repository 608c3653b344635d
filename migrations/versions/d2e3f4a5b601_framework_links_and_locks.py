"""ESCO skill types, links to concepts outside the imported files, one import of a framework at a time

``concepts.skill_type`` (ESCO's knowledge / skill-competence), ``concept_links`` (a relation whose
target is a URI outside every imported file: a CASE item of another document, an ISCO group) and
``framework_import_locks`` (one row per framework being imported). See app/models/frameworks.py.

Revision ID: d2e3f4a5b601
Revises: c1d2e3f4a203
Create Date: 2026-12-06 01:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'd2e3f4a5b601'
down_revision = 'c1d2e3f4a203'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch copy): SQLite keeps the table, so the FTS triggers on it stay.
    op.add_column('concepts', sa.Column('skill_type', sa.String(length=20), server_default='', nullable=False))
    op.create_table('concept_links',
    sa.Column('source_id', sa.Uuid(), nullable=False),
    sa.Column('relation', sa.String(length=20), nullable=False),
    sa.Column('target_uri', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['concepts.id'], name=op.f('fk_concept_links_source_id_concepts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'relation', 'target_uri', name=op.f('pk_concept_links'))
    )
    op.create_table('framework_import_locks',
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_framework_import_locks'))
    )


def downgrade():
    op.drop_table('framework_import_locks')
    op.drop_table('concept_links')
    op.drop_column('concepts', 'skill_type')  # no batch copy, for the same reason (SQLite ≥ 3.35)
