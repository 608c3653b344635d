"""Group places waiting for a staff invitation: ``group_staff.membership_id``, ``user_id`` nullable

A head gives a group place to an address: the institution's invitation is sent and the place waits with
it (``membership_id``, no ``user_id``: it reaches nothing) until the person accepts, so that the answer no
longer tells whether the address has an account (review 14, M4). Places given before to a person whose
invitation is still pending become waiting places of that invitation. See app/services/institutions.py.

Revision ID: d2e3f4a5b703
Revises: d2e3f4a5b702
Create Date: 2026-12-06 09:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'd2e3f4a5b703'
down_revision = 'd2e3f4a5b702'
branch_labels = None
depends_on = None

group_staff = sa.table('group_staff', sa.column('id', sa.Uuid()), sa.column('group_id', sa.Uuid()),
                       sa.column('user_id', sa.Uuid()), sa.column('membership_id', sa.Uuid()))
groups = sa.table('groups', sa.column('id', sa.Uuid()), sa.column('organisation_id', sa.Uuid()))
memberships = sa.table('memberships', sa.column('id', sa.Uuid()), sa.column('organisation_id', sa.Uuid()),
                       sa.column('user_id', sa.Uuid()), sa.column('accepted_at', sa.DateTime(timezone=True)))


def upgrade():
    with op.batch_alter_table('group_staff') as batch_op:
        batch_op.add_column(sa.Column('membership_id', sa.Uuid(), nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_group_staff_membership_id_memberships'), 'memberships',
                                    ['membership_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_group_staff_membership_id'), ['membership_id'], unique=False)
        batch_op.create_unique_constraint('uq_group_staff_group_membership', ['group_id', 'membership_id'])
    # A place held by someone whose invitation to the group's institution is pending waits with it.
    bind = op.get_bind()
    waiting = bind.execute(
        sa.select(group_staff.c.id, memberships.c.id)
        .join(groups, groups.c.id == group_staff.c.group_id)
        .join(memberships, (memberships.c.organisation_id == groups.c.organisation_id)
              & (memberships.c.user_id == group_staff.c.user_id))
        .where(memberships.c.accepted_at.is_(None))).all()
    for place_id, membership_id in waiting:
        bind.execute(group_staff.update().where(group_staff.c.id == place_id)
                     .values(user_id=None, membership_id=membership_id))
    with op.batch_alter_table('group_staff') as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_group_staff_one_holder'),
                                         '(user_id IS NULL) <> (membership_id IS NULL)')


def downgrade():
    # A waiting place of an invitation to an account goes back to that account; one of an address without
    # an account cannot be kept (no user to hold it).
    with op.batch_alter_table('group_staff') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_group_staff_one_holder'), type_='check')
    bind = op.get_bind()
    bind.execute(group_staff.update().where(group_staff.c.membership_id.is_not(None))
                 .values(user_id=sa.select(memberships.c.user_id)
                         .where(memberships.c.id == group_staff.c.membership_id).scalar_subquery()))
    bind.execute(group_staff.delete().where(group_staff.c.user_id.is_(None)))
    with op.batch_alter_table('group_staff') as batch_op:
        batch_op.drop_constraint('uq_group_staff_group_membership', type_='unique')
        batch_op.drop_index(batch_op.f('ix_group_staff_membership_id'))
        batch_op.drop_constraint(batch_op.f('fk_group_staff_membership_id_memberships'), type_='foreignkey')
        batch_op.drop_column('membership_id')
        batch_op.alter_column('user_id', existing_type=sa.Uuid(), nullable=False)
