"""vault documents, tags and evidence links

Documents of the vault (their content encrypted in storage, under random keys), their free tags, and
one link table per kind of portfolio item they can be evidence for (experiences, diplomas, skills),
each with real foreign keys so that deleting either side removes the link.

Revision ID: a8d1e2f3c401
Revises: c7a3e9d15b42
Create Date: 2026-12-05 14:20:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'a8d1e2f3c401'
down_revision = 'c7a3e9d15b42'
branch_labels = None
depends_on = None

EVIDENCE = (('experience_evidence', 'experiences'), ('diploma_evidence', 'diplomas'),
            ('skill_evidence', 'skills'))


def upgrade():
    op.create_table('documents',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('search_name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('blob_key', sa.String(length=200), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=200), nullable=True),
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_documents_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('blob_key', name=op.f('uq_documents_blob_key'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index('ix_documents_portfolio_created', ['portfolio_id', 'created_at', 'id'], unique=False)

    op.create_table('document_tags',
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_tags_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'name', name=op.f('pk_document_tags'))
    )
    with op.batch_alter_table('document_tags', schema=None) as batch_op:
        batch_op.create_index('ix_document_tags_name', ['name'], unique=False)

    for table, items in EVIDENCE:
        op.create_table(table,
        sa.Column('item_id', sa.Uuid(), nullable=False),
        sa.Column('document_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f(f'fk_{table}_document_id_documents'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['item_id'], [f'{items}.id'], name=op.f(f'fk_{table}_item_id_{items}'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('item_id', 'document_id', name=op.f(f'pk_{table}'))
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_document_id'), ['document_id'], unique=False)


def downgrade():
    for table, _items in EVIDENCE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_document_id'))
        op.drop_table(table)
    with op.batch_alter_table('document_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_document_tags_name')
    op.drop_table('document_tags')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_portfolio_created')
    op.drop_table('documents')
