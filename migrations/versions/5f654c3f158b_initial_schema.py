"""Initial schema: users and roles, customers, transactions, interactions, complaints, campaigns.

Revision ID: 5f654c3f158b
Revises: 
Create Date: 2026-11-23 20:09:57.569179

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f654c3f158b'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # Reviewed: every table, constraint and index of the models at the first release.
    op.create_table('role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role')),
    sa.UniqueConstraint('name', name=op.f('uq_role_name'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('session_token', name=op.f('uq_user_session_token')),
    sa.UniqueConstraint('username', name=op.f('uq_user_username'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_email'), ['email'], unique=False)

    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.Enum('appreciation_event', 'product_launch', 'seminar', 'exhibition', 'promotion', 'email_campaign', 'care_action', name='campaign_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'email', 'visit', 'social_media', 'online_chat', 'event', name='contact_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('planned', 'running', 'finished', 'cancelled', name='campaign_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('budget', sa.BigInteger(), nullable=True),
    sa.Column('actual_cost', sa.BigInteger(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('actual_cost IS NULL OR actual_cost >= 0', name=op.f('ck_campaign_actual_cost_not_negative')),
    sa.CheckConstraint('budget IS NULL OR budget >= 0', name=op.f('ck_campaign_budget_not_negative')),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_campaign_ends_after_start')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_campaign_owner_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign')),
    sa.UniqueConstraint('name', name=op.f('uq_campaign_name'))
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_ends_on'), ['ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_starts_on'), ['starts_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_type'), ['type'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('person', 'company', name='customer_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('gender', sa.Enum('male', 'female', 'other', name='gender', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('mobile', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=True),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('position', sa.String(length=100), nullable=True),
    sa.Column('industry', sa.String(length=64), nullable=True),
    sa.Column('company_size', sa.Enum('micro', 'small', 'medium', 'large', name='company_size', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('source', sa.Enum('exhibition', 'website', 'referral', 'advertising', 'phone_inquiry', 'social_media', 'walk_in', name='customer_source', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('referred_by_id', sa.Integer(), nullable=True),
    sa.Column('preferences', sa.Text(), nullable=True),
    sa.Column('interests', sa.Text(), nullable=True),
    sa.Column('needs', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('tags', sa.String(length=255), nullable=True),
    sa.Column('credit_rating', sa.Enum('AAA', 'AA', 'A', 'B', 'C', name='credit_rating', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('lifecycle_stage', sa.Enum('potential', 'new', 'active', 'loyal', 'at_risk', 'churned', name='lifecycle_stage', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('value_tier', sa.Enum('high', 'medium', 'low', name='value_tier', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('follow_up_days', sa.Integer(), nullable=True),
    sa.Column('last_contact_at', sa.DateTime(), nullable=True),
    sa.Column('next_follow_up_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('follow_up_days IS NULL OR follow_up_days BETWEEN 1 AND 365', name=op.f('ck_customer_follow_up_days_range')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_customer_owner_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['referred_by_id'], ['customer.id'], name=op.f('fk_customer_referred_by_id_customer'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_company_name'), ['company_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_credit_rating'), ['credit_rating'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_industry'), ['industry'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_last_contact_at'), ['last_contact_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_lifecycle_stage'), ['lifecycle_stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_mobile'), ['mobile'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_next_follow_up_on'), ['next_follow_up_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_customer_owner_id_name', ['owner_id', 'name'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_referred_by_id'), ['referred_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_value_tier'), ['value_tier'], unique=False)

    op.create_table('role_permission',
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('permission', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_role_permission_role_id_role'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'permission', name=op.f('pk_role_permission'))
    )
    op.create_table('user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_user_role_role_id_role'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_role_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_id', name=op.f('pk_user_role'))
    )
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_role_role_id'), ['role_id'], unique=False)

    op.create_table('campaign_participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('response', sa.Enum('invited', 'responded', 'attended', 'converted', name='participant_response', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_participant_campaign_id_campaign'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_campaign_participant_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_participant')),
    sa.UniqueConstraint('campaign_id', 'customer_id', name='uq_campaign_participant_campaign_customer')
    )
    with op.batch_alter_table('campaign_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_participant_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_participant_response'), ['response'], unique=False)

    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'email', 'visit', 'social_media', 'online_chat', 'event', name='contact_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('type', sa.Enum('product_quality', 'service', 'price', 'contract', 'policy', name='complaint_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('severity', sa.Enum('general', 'major', name='complaint_severity', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('urgency', sa.Enum('urgent', 'normal', 'common_question', name='complaint_urgency', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('received', 'assessed', 'assigned', 'solution_drafted', 'in_progress', 'result_reported', 'closed', 'rejected', 'reopened', name='complaint_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('solution', sa.Text(), nullable=True),
    sa.Column('action_taken', sa.Text(), nullable=True),
    sa.Column('customer_feedback', sa.Text(), nullable=True),
    sa.Column('satisfaction_score', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('satisfaction_score IS NULL OR satisfaction_score BETWEEN 1 AND 5', name=op.f('ck_complaint_satisfaction_range')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user.id'], name=op.f('fk_complaint_assignee_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_complaint_customer_id_customer'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint'))
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_closed_at'), ['closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_severity'), ['severity'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_type'), ['type'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_urgency'), ['urgency'], unique=False)

    op.create_table('interaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'email', 'visit', 'social_media', 'online_chat', 'event', name='contact_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('direction', sa.Enum('inbound', 'outbound', name='direction', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=255), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('next_follow_up_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_interaction_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['handled_by_id'], ['user.id'], name=op.f('fk_interaction_handled_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction'))
    )
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_channel'), ['channel'], unique=False)
        batch_op.create_index('ix_interaction_customer_id_occurred_at', ['customer_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_direction'), ['direction'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_handled_by_id'), ['handled_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_next_follow_up_on'), ['next_follow_up_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_interaction_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('transaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.Enum('store', 'online', 'phone', 'sales_rep', 'partner', name='sales_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'paid', 'refunded', name='transaction_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_transaction_amount_not_negative')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_transaction_quantity_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_transaction_campaign_id_campaign'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_transaction_customer_id_customer'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transaction'))
    )
    with op.batch_alter_table('transaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transaction_amount'), ['amount'], unique=False)
        batch_op.create_index(batch_op.f('ix_transaction_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transaction_channel'), ['channel'], unique=False)
        batch_op.create_index('ix_transaction_customer_id_occurred_at', ['customer_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transaction_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transaction_product'), ['product'], unique=False)
        batch_op.create_index(batch_op.f('ix_transaction_status'), ['status'], unique=False)




def downgrade():
    # Reviewed: every table, constraint and index of the models at the first release.
    with op.batch_alter_table('transaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transaction_status'))
        batch_op.drop_index(batch_op.f('ix_transaction_product'))
        batch_op.drop_index(batch_op.f('ix_transaction_occurred_at'))
        batch_op.drop_index('ix_transaction_customer_id_occurred_at')
        batch_op.drop_index(batch_op.f('ix_transaction_channel'))
        batch_op.drop_index(batch_op.f('ix_transaction_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_transaction_amount'))

    op.drop_table('transaction')
    with op.batch_alter_table('interaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_interaction_next_follow_up_on'))
        batch_op.drop_index(batch_op.f('ix_interaction_handled_by_id'))
        batch_op.drop_index(batch_op.f('ix_interaction_direction'))
        batch_op.drop_index('ix_interaction_customer_id_occurred_at')
        batch_op.drop_index(batch_op.f('ix_interaction_channel'))

    op.drop_table('interaction')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_urgency'))
        batch_op.drop_index(batch_op.f('ix_complaint_type'))
        batch_op.drop_index(batch_op.f('ix_complaint_status'))
        batch_op.drop_index(batch_op.f('ix_complaint_severity'))
        batch_op.drop_index(batch_op.f('ix_complaint_received_at'))
        batch_op.drop_index(batch_op.f('ix_complaint_due_at'))
        batch_op.drop_index(batch_op.f('ix_complaint_department'))
        batch_op.drop_index(batch_op.f('ix_complaint_customer_id'))
        batch_op.drop_index(batch_op.f('ix_complaint_closed_at'))
        batch_op.drop_index(batch_op.f('ix_complaint_channel'))
        batch_op.drop_index(batch_op.f('ix_complaint_assignee_id'))

    op.drop_table('complaint')
    with op.batch_alter_table('campaign_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_participant_response'))
        batch_op.drop_index(batch_op.f('ix_campaign_participant_customer_id'))

    op.drop_table('campaign_participant')
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_role_role_id'))

    op.drop_table('user_role')
    op.drop_table('role_permission')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_value_tier'))
        batch_op.drop_index(batch_op.f('ix_customer_source'))
        batch_op.drop_index(batch_op.f('ix_customer_region'))
        batch_op.drop_index(batch_op.f('ix_customer_referred_by_id'))
        batch_op.drop_index('ix_customer_owner_id_name')
        batch_op.drop_index(batch_op.f('ix_customer_owner_id'))
        batch_op.drop_index(batch_op.f('ix_customer_next_follow_up_on'))
        batch_op.drop_index(batch_op.f('ix_customer_name'))
        batch_op.drop_index(batch_op.f('ix_customer_mobile'))
        batch_op.drop_index(batch_op.f('ix_customer_lifecycle_stage'))
        batch_op.drop_index(batch_op.f('ix_customer_last_contact_at'))
        batch_op.drop_index(batch_op.f('ix_customer_kind'))
        batch_op.drop_index(batch_op.f('ix_customer_industry'))
        batch_op.drop_index(batch_op.f('ix_customer_email'))
        batch_op.drop_index(batch_op.f('ix_customer_credit_rating'))
        batch_op.drop_index(batch_op.f('ix_customer_company_name'))

    op.drop_table('customer')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_type'))
        batch_op.drop_index(batch_op.f('ix_campaign_status'))
        batch_op.drop_index(batch_op.f('ix_campaign_starts_on'))
        batch_op.drop_index(batch_op.f('ix_campaign_owner_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_ends_on'))
        batch_op.drop_index(batch_op.f('ix_campaign_channel'))

    op.drop_table('campaign')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_email'))
        batch_op.drop_index(batch_op.f('ix_user_active'))

    op.drop_table('user')
    op.drop_table('role')

