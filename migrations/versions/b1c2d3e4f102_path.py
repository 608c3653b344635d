"""path: career hypotheses, the training catalogue, action plans and their history

app/models/path.py (issue 12). Hypotheses keep an occupation's concept URI, not a foreign key to the
frameworks' tables: this migration needs only the foundation's, issue 7's (organisations) tables. It
comes after the frameworks' (b1c2d3e4f101, merged into this branch) only to keep one head.

Revision ID: b1c2d3e4f102
Revises: b1c2d3e4f101
Create Date: 2026-12-05 21:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b1c2d3e4f102'
down_revision = 'b1c2d3e4f101'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hypotheses',
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('occupation_uri', sa.String(length=500), nullable=False),
    sa.Column('occupation_label', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_hypotheses_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hypotheses'))
    )
    with op.batch_alter_table('hypotheses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hypotheses_occupation_uri'), ['occupation_uri'], unique=False)
        batch_op.create_index('ix_hypotheses_portfolio_created', ['portfolio_id', 'created_at'], unique=False)

    op.create_table('trainings',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('provider', sa.String(length=200), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('skill_uris', sa.JSON(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('imported_by_id', sa.Uuid(), nullable=True),
    sa.Column('import_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('end_date IS NULL OR start_date IS NULL OR end_date >= start_date', name=op.f('ck_trainings_dates_ordered')),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_trainings_imported_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_trainings_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainings'))
    )
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainings_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trainings_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_trainings_publisher_fingerprint', ['organisation_id', 'fingerprint'], unique=False)

    op.create_table('plan_events',
    sa.Column('hypothesis_id', sa.Uuid(), nullable=False),
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('actor_role', sa.String(length=12), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_plan_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hypothesis_id'], ['hypotheses.id'], name=op.f('fk_plan_events_hypothesis_id_hypotheses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_plan_events_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_events'))
    )
    with op.batch_alter_table('plan_events', schema=None) as batch_op:
        batch_op.create_index('ix_plan_events_hypothesis_created', ['hypothesis_id', 'created_at'], unique=False)
        batch_op.create_index('ix_plan_events_portfolio_created', ['portfolio_id', 'created_at'], unique=False)

    op.create_table('plan_items',
    sa.Column('hypothesis_id', sa.Uuid(), nullable=False),
    sa.Column('portfolio_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('happened_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('acceptance', sa.String(length=10), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('author_label', sa.String(length=254), nullable=False),
    sa.Column('author_role', sa.String(length=12), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_plan_items_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hypothesis_id'], ['hypotheses.id'], name=op.f('fk_plan_items_hypothesis_id_hypotheses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['plan_items.id'], name=op.f('fk_plan_items_parent_id_plan_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_plan_items_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_items'))
    )
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.create_index('ix_plan_items_hypothesis_created', ['hypothesis_id', 'created_at'], unique=False)
        batch_op.create_index('ix_plan_items_portfolio_kind_status', ['portfolio_id', 'kind', 'status'], unique=False)

    op.create_table('training_skills',
    sa.Column('training_id', sa.Uuid(), nullable=False),
    sa.Column('concept_uri', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['training_id'], ['trainings.id'], name=op.f('fk_training_skills_training_id_trainings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('training_id', 'concept_uri', name=op.f('pk_training_skills'))
    )
    with op.batch_alter_table('training_skills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_skills_concept_uri'), ['concept_uri'], unique=False)



def downgrade():
    with op.batch_alter_table('training_skills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_skills_concept_uri'))

    op.drop_table('training_skills')
    with op.batch_alter_table('plan_items', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_items_portfolio_kind_status')
        batch_op.drop_index('ix_plan_items_hypothesis_created')

    op.drop_table('plan_items')
    with op.batch_alter_table('plan_events', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_events_portfolio_created')
        batch_op.drop_index('ix_plan_events_hypothesis_created')

    op.drop_table('plan_events')
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.drop_index('ix_trainings_publisher_fingerprint')
        batch_op.drop_index(batch_op.f('ix_trainings_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_trainings_import_id'))

    op.drop_table('trainings')
    with op.batch_alter_table('hypotheses', schema=None) as batch_op:
        batch_op.drop_index('ix_hypotheses_portfolio_created')
        batch_op.drop_index(batch_op.f('ix_hypotheses_occupation_uri'))

    op.drop_table('hypotheses')
