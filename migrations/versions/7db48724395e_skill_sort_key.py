"""skill sort key

Skills were listed by ``name`` as the database compares it, byte by byte: "Zèle" before "anglais",
"Écoute active" after "budget". ``skills.sort_name`` holds a case-folded, accent-free key of the name,
and lists and their keyset pages are ordered by (portfolio_id, sort_name, id), which the new index
serves; it also serves lookups by portfolio_id alone, so it replaces ``ix_skills_portfolio``.

Revision ID: 7db48724395e
Revises: f99cf7be7f99
Create Date: 2026-11-23 03:10:33.816282

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7db48724395e'
down_revision = 'f99cf7be7f99'
branch_labels = None
depends_on = None

BATCH = 1000


def sort_key(text):
    """A frozen copy of ``app.models.portfolio.sort_key`` (migrations never import the app)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(char for char in folded if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", bare)[:200]


def upgrade():
    # The column arrives with a server default so that existing rows satisfy NOT NULL, is filled in
    # Python (no database has NFKD and case folding), then loses the default: the application sets it.
    with op.batch_alter_table('skills', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sort_name', sa.String(length=200), nullable=False, server_default=''))

    skills = sa.table('skills', sa.column('id', sa.Uuid()), sa.column('name', sa.String()),
                      sa.column('sort_name', sa.String()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(skills.c.id, skills.c.name)).all()
    update = (skills.update().where(skills.c.id == sa.bindparam('skill_id'))
              .values(sort_name=sa.bindparam('key')))
    for start in range(0, len(rows), BATCH):
        connection.execute(update, [{'skill_id': skill_id, 'key': sort_key(name)}
                                    for skill_id, name in rows[start:start + BATCH]])

    with op.batch_alter_table('skills', schema=None) as batch_op:
        batch_op.alter_column('sort_name', existing_type=sa.String(length=200), existing_nullable=False,
                              server_default=None)
        batch_op.drop_index('ix_skills_portfolio')
        batch_op.create_index('ix_skills_portfolio_sort', ['portfolio_id', 'sort_name', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('skills', schema=None) as batch_op:
        batch_op.drop_index('ix_skills_portfolio_sort')
        batch_op.create_index('ix_skills_portfolio', ['portfolio_id'], unique=False)
        batch_op.drop_column('sort_name')
