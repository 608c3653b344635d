"""collab: comments on items, message threads per grant, contributors' proposals

app/models/collab.py. Messages and proposals reference ``grants`` (issue 9, the grants branch's
migration ``f5e6f7a8b905``), so this one comes after it.

Revision ID: f7a8b9c0d907
Revises: f5e6f7a8b905
Create Date: 2026-12-05 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f7a8b9c0d907'
down_revision = 'f5e6f7a8b905'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('comments',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('item_type', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_comments_author_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_id'], ['comments.id'], name=op.f('fk_comments_parent_id_comments'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_comments_portfolio_id_portfolios'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comments'))
    )
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.create_index('ix_comments_item', ['item_type', 'item_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_comments_portfolio_id'), ['portfolio_id'], unique=False)

    op.create_table('messages',
    sa.Column('grant_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_messages_author_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_messages_grant_id_grants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_grant_created', ['grant_id', 'created_at'], unique=False)

    op.create_table('proposals',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('grant_id', sa.Uuid(), nullable=True),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('blob_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decline_reason', sa.String(length=1000), nullable=False),
    sa.Column('created_item_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_proposals_author_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_proposals_grant_id_grants'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_proposals_portfolio_id_portfolios'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index('ix_proposals_portfolio_status', ['portfolio_id', 'status', 'created_at'],
                              unique=False)


def downgrade():
    op.drop_table('proposals')
    op.drop_table('messages')
    op.drop_table('comments')
