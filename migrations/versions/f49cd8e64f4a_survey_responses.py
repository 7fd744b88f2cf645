"""Satisfaction survey responses (NPS 0–10, CSAT 1–5) per customer, optionally about a complaint or a campaign.

Also grants the built-in roles their rights on surveys (frozen copy of this release's definitions; `flask crm
sync-roles` brings roles up to later ones): clerks view, enter and correct their own customers' answers,
supervisors and administrators do everything, auditors view and export.

Revision ID: f49cd8e64f4a
Revises: b7d2e4c1a9f3
Create Date: 2026-11-24 04:14:00.720584

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f49cd8e64f4a'
down_revision = 'b7d2e4c1a9f3'
branch_labels = None
depends_on = None

EVERYTHING = tuple(f"surveys.{action}" for action in ("view", "create", "edit", "delete", "export"))
GRANTS = {
    "administrator": EVERYTHING,
    "supervisor": EVERYTHING,
    "clerk": ("surveys.view", "surveys.create", "surveys.edit"),
    "auditor": ("surveys.view", "surveys.export"),
}


def upgrade():
    op.create_table('survey_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('nps', 'csat', name='survey_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'email', 'visit', 'social_media', 'online_chat', 'event', name='contact_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('answered_on', sa.Date(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind <> 'csat' OR score BETWEEN 1 AND 5", name=op.f('ck_survey_response_csat_score_range')),
    sa.CheckConstraint("kind <> 'nps' OR score BETWEEN 0 AND 10", name=op.f('ck_survey_response_nps_score_range')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_survey_response_campaign_id_campaign'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_survey_response_complaint_id_complaint'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_survey_response_customer_id_customer'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user.id'], name=op.f('fk_survey_response_entered_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_response'))
    )
    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.create_index('ix_survey_response_answered_on_id', ['answered_on', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_response_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_response_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_response_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index('ix_survey_response_customer_id_answered_on', ['customer_id', 'answered_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_response_entered_by_id'), ['entered_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_response_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_response_score'), ['score'], unique=False)

    role = sa.table("role", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("builtin", sa.Boolean))
    grant = sa.table("role_permission", sa.column("role_id", sa.Integer), sa.column("permission", sa.String))
    connection = op.get_bind()
    for name, permissions in GRANTS.items():
        role_id = connection.execute(sa.select(role.c.id).where(role.c.name == name, role.c.builtin.is_(True))).scalar()
        if role_id is None:
            continue
        have = set(connection.execute(sa.select(grant.c.permission).where(grant.c.role_id == role_id)).scalars())
        missing = sorted(set(permissions) - have)
        if missing:
            connection.execute(grant.insert(), [{"role_id": role_id, "permission": p} for p in missing])


def downgrade():
    op.execute("DELETE FROM role_permission WHERE permission LIKE 'surveys.%'")
    with op.batch_alter_table('survey_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_response_score'))
        batch_op.drop_index(batch_op.f('ix_survey_response_kind'))
        batch_op.drop_index(batch_op.f('ix_survey_response_entered_by_id'))
        batch_op.drop_index('ix_survey_response_customer_id_answered_on')
        batch_op.drop_index(batch_op.f('ix_survey_response_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_survey_response_channel'))
        batch_op.drop_index(batch_op.f('ix_survey_response_campaign_id'))
        batch_op.drop_index('ix_survey_response_answered_on_id')

    op.drop_table('survey_response')
