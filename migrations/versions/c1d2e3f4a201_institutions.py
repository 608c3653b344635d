"""institutions: groups, group staff, enrolments, activation codes; users.birth_date; group grants

Staff roles (head, teacher, counsellor) are new values of ``memberships.role`` (no DDL). See
app/models/institutions.py, app/models/sharing.py (``grants.group_id``, ``grants.group_role``) and
app/models/user.py (``users.birth_date``).

Revision ID: c1d2e3f4a201
Revises: c1d2e3f4a131
Create Date: 2026-12-05 22:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'c1d2e3f4a201'
down_revision = 'c1d2e3f4a131'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('groups',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_groups_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('organisation_id', 'name', 'year', name=op.f('uq_groups_organisation_id'))
    )
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_groups_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('group_staff',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_staff_group_id_groups'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_staff_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_staff')),
    sa.UniqueConstraint('group_id', 'user_id', name=op.f('uq_group_staff_group_id'))
    )
    with op.batch_alter_table('group_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_staff_user_id'), ['user_id'], unique=False)

    op.create_table('enrolments',
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=True),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('ine', sa.String(length=11), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('guardian_emails', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('invited_user_id', sa.Uuid(), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                            name=op.f('fk_enrolments_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_enrolments_group_id_groups'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enrolments_user_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invited_user_id'], ['users.id'],
                            name=op.f('fk_enrolments_invited_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments')),
    sa.UniqueConstraint('organisation_id', 'ine', name='uq_enrolments_org_ine'),
    sa.UniqueConstraint('organisation_id', 'user_id', name='uq_enrolments_org_user')
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_group_id'), ['group_id'], unique=False)
        batch_op.create_index('ix_enrolments_org_email', ['organisation_id', 'email'], unique=False)
        batch_op.create_index('ix_enrolments_org_name', ['organisation_id', 'family_name', 'given_name'],
                              unique=False)

    op.create_table('activation_codes',
    sa.Column('enrolment_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'],
                            name=op.f('fk_activation_codes_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_activation_codes_code_hash'))
    )
    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activation_codes_enrolment_id'), ['enrolment_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))

    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('group_role', sa.String(length=12), nullable=True))
        batch_op.create_index(batch_op.f('ix_grants_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_grants_group_id_groups'), 'groups', ['group_id'], ['id'],
                                    ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_grants_group_id_groups'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_grants_group_id'))
        batch_op.drop_column('group_role')
        batch_op.drop_column('group_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('birth_date')
    op.drop_table('activation_codes')
    op.drop_table('enrolments')
    op.drop_table('group_staff')
    op.drop_table('groups')
