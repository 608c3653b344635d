"""skill suggestion dismissals

The writing aid remembers, per experience, the framework concepts its owner dismissed
(app/models/skill_suggestions.py, issue 12).

Revision ID: b1c2d3e4f104
Revises: b1c2d3e4f103
Create Date: 2026-12-05 21:40:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b1c2d3e4f104'
down_revision = 'b1c2d3e4f103'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('skill_suggestion_dismissals',
    sa.Column('experience_id', sa.Uuid(), nullable=False),
    sa.Column('concept_uri', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['experience_id'], ['experiences.id'],
                            name=op.f('fk_skill_suggestion_dismissals_experience_id_experiences'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_suggestion_dismissals')),
    sa.UniqueConstraint('experience_id', 'concept_uri', name='uq_skill_suggestion_dismissals')
    )


def downgrade():
    op.drop_table('skill_suggestion_dismissals')
