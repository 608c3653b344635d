"""share links: a foreign key from share_links.cv_id to cv_variants

A CV link opens one CV variant; when the variant is deleted its links must go with it (ON DELETE CASCADE),
as a page's links go with the page. The pages branch left the column without a key because the CV table
did not exist yet; both exist now. Any link left pointing at a CV deleted before this migration is
removed first (it opened nothing anyway), so that the key can be created.

Revision ID: a1b2c3d4e001
Revises: f6f7a8b9c906
Create Date: 2026-12-05 19:05:00

"""
from alembic import op


revision = 'a1b2c3d4e001'
down_revision = 'f6f7a8b9c906'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM share_links WHERE cv_id IS NOT NULL "
               "AND cv_id NOT IN (SELECT id FROM cv_variants)")
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_share_links_cv_id_cv_variants'), 'cv_variants',
                                    ['cv_id'], ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_share_links_cv_id_cv_variants'), type_='foreignkey')
