"""reference frameworks: frameworks, concepts, concept relations, and their search index

SQLite: an FTS5 external-content table ``concepts_fts`` over ``concepts.search_fr`` / ``search_en``
(rowid = ``concepts.seq``), kept in step by triggers, so that every insert, update or delete of a
concept (bulk Core statements included) updates the index in the same transaction. Tokenizer
``unicode61 remove_diacritics 2``; the columns are already folded by the application anyway.
PostgreSQL: a GIN index on ``to_tsvector('simple', search_fr || ' ' || search_en)``; the search service
writes the same expression so that the planner uses it. See app/models/frameworks.py.

A later batch migration that recreates ``concepts`` on SQLite drops its triggers: recreate them there.

Revision ID: b1c2d3e4f101
Revises: a1b2c3d4e004
Create Date: 2026-12-05 21:40:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b1c2d3e4f101'
down_revision = 'a1b2c3d4e004'
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE concepts_fts USING fts5(search_fr, search_en, content='concepts', "
    "content_rowid='seq', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER concepts_fts_insert AFTER INSERT ON concepts BEGIN "
    "INSERT INTO concepts_fts(rowid, search_fr, search_en) VALUES (new.seq, new.search_fr, new.search_en); END",
    "CREATE TRIGGER concepts_fts_delete AFTER DELETE ON concepts BEGIN "
    "INSERT INTO concepts_fts(concepts_fts, rowid, search_fr, search_en) "
    "VALUES ('delete', old.seq, old.search_fr, old.search_en); END",
    "CREATE TRIGGER concepts_fts_update AFTER UPDATE OF seq, search_fr, search_en ON concepts BEGIN "
    "INSERT INTO concepts_fts(concepts_fts, rowid, search_fr, search_en) "
    "VALUES ('delete', old.seq, old.search_fr, old.search_en); "
    "INSERT INTO concepts_fts(rowid, search_fr, search_en) VALUES (new.seq, new.search_fr, new.search_en); END",
]
PG_INDEX = ("CREATE INDEX ix_concepts_search ON concepts "
            "USING gin (to_tsvector('simple', search_fr || ' ' || search_en))")


def upgrade():
    op.create_table('frameworks',
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('version', sa.String(length=60), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('concept_count', sa.Integer(), nullable=False),
    sa.Column('relation_count', sa.Integer(), nullable=False),
    sa.Column('retired_count', sa.Integer(), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frameworks')),
    sa.UniqueConstraint('slug', name=op.f('uq_frameworks_slug'))
    )
    op.create_table('concepts',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Uuid(), nullable=False),
    sa.Column('uri', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('label_fr', sa.String(length=500), nullable=False),
    sa.Column('label_en', sa.String(length=500), nullable=False),
    sa.Column('alt_labels_fr', sa.JSON(), nullable=False),
    sa.Column('alt_labels_en', sa.JSON(), nullable=False),
    sa.Column('description_fr', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('notation', sa.String(length=60), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('search_fr', sa.Text(), nullable=False),
    sa.Column('search_en', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'],
                            name=op.f('fk_concepts_framework_id_frameworks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['concepts.id'], name=op.f('fk_concepts_parent_id_concepts'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_concepts')),
    sa.UniqueConstraint('framework_id', 'uri', name='uq_concepts_framework_uri'),
    sa.UniqueConstraint('seq', name=op.f('uq_concepts_seq'))
    )
    with op.batch_alter_table('concepts', schema=None) as batch_op:
        batch_op.create_index('ix_concepts_framework_kind', ['framework_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_concepts_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_concepts_uri'), ['uri'], unique=False)

    op.create_table('concept_relations',
    sa.Column('source_id', sa.Uuid(), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('relation', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['concepts.id'],
                            name=op.f('fk_concept_relations_source_id_concepts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['concepts.id'],
                            name=op.f('fk_concept_relations_target_id_concepts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_id', 'target_id', 'relation', name=op.f('pk_concept_relations'))
    )
    with op.batch_alter_table('concept_relations', schema=None) as batch_op:
        batch_op.create_index('ix_concept_relations_target', ['target_id'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif dialect == 'postgresql':
        op.execute(PG_INDEX)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for name in ('concepts_fts_insert', 'concepts_fts_delete', 'concepts_fts_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS concepts_fts")
    elif dialect == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_concepts_search")
    op.drop_table('concept_relations')
    op.drop_table('concepts')
    op.drop_table('frameworks')
