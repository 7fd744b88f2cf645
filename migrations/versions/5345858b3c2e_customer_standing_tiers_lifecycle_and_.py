"""Customer standing: value tier, lifecycle stage and follow-up due date move to a table of their own.

The customer file kept placeholder columns for them; they are derived figures, rewritten whenever a purchase or
contact changes, so they live in customer_standing (one row per customer) where rewriting them never bumps the
file's version or writes to the operation log. Existing customers get a row here as potential customers; the
next `flask crm refresh-stats` (run by `flask crm bootstrap`) computes their real standing. Tunable rules live
in `setting`; tier and stage changes are kept in `standing_change`. A partial index of paid purchases serves
the per-customer figures; complaints get an index for the dashboard's satisfaction filter.

Revision ID: 5345858b3c2e
Revises: 57965923857b
Create Date: 2026-11-23 22:44:16.826527

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5345858b3c2e'
down_revision = '57965923857b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('standing_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('before', sa.String(length=16), nullable=True),
    sa.Column('after', sa.String(length=16), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_standing_change_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standing_change'))
    )
    with op.batch_alter_table('standing_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standing_change_changed_at'), ['changed_at'], unique=False)
        batch_op.create_index('ix_standing_change_customer_id_changed_at', ['customer_id', 'changed_at'], unique=False)

    op.create_table('customer_standing',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('first_purchase_at', sa.DateTime(), nullable=True),
    sa.Column('last_purchase_at', sa.DateTime(), nullable=True),
    sa.Column('purchase_count', sa.Integer(), nullable=False),
    sa.Column('window_count', sa.Integer(), nullable=False),
    sa.Column('window_amount', sa.BigInteger(), nullable=False),
    sa.Column('recent_amount', sa.BigInteger(), nullable=False),
    sa.Column('previous_amount', sa.BigInteger(), nullable=False),
    sa.Column('tier', sa.Enum('high', 'medium', 'low', name='value_tier', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('tier_since', sa.Date(), nullable=True),
    sa.Column('stage', sa.Enum('potential', 'new', 'active', 'loyal', 'at_risk', 'churned', name='lifecycle_stage', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('stage_since', sa.Date(), nullable=True),
    sa.Column('last_contact_at', sa.DateTime(), nullable=True),
    sa.Column('last_interaction_id', sa.Integer(), nullable=True),
    sa.Column('next_follow_up_on', sa.Date(), nullable=True),
    sa.Column('due_set_by_contact', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_standing_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['last_interaction_id'], ['interaction.id'], name=op.f('fk_customer_standing_last_interaction_id_interaction'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_customer_standing_owner_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_standing'))
    )
    with op.batch_alter_table('customer_standing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_standing_last_interaction_id'), ['last_interaction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_standing_last_purchase_at'), ['last_purchase_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_standing_next_follow_up_on'), ['next_follow_up_on'], unique=False)
        batch_op.create_index('ix_customer_standing_owner_id_next_follow_up_on', ['owner_id', 'next_follow_up_on'], unique=False)
        batch_op.create_index('ix_customer_standing_owner_id_stage_window_amount', ['owner_id', 'stage', 'window_amount'], unique=False)
        batch_op.create_index('ix_customer_standing_owner_id_tier_window_amount', ['owner_id', 'tier', 'window_amount'], unique=False)
        batch_op.create_index('ix_customer_standing_stage_window_amount', ['stage', 'window_amount'], unique=False)
        batch_op.create_index('ix_customer_standing_tier_window_amount', ['tier', 'window_amount'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_standing_window_amount'), ['window_amount'], unique=False)

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_satisfaction_score'), ['satisfaction_score'], unique=False)

    op.execute("INSERT INTO customer_standing (customer_id, owner_id, purchase_count, window_count, window_amount, "
               "recent_amount, previous_amount, stage, due_set_by_contact, updated_at) "
               "SELECT id, owner_id, 0, 0, 0, 0, 0, 'potential', false, CURRENT_TIMESTAMP FROM customer")

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_customer_lifecycle_stage'), type_='check')
        batch_op.drop_constraint(op.f('ck_customer_value_tier'), type_='check')
        batch_op.drop_index(batch_op.f('ix_customer_last_contact_at'))
        batch_op.drop_index(batch_op.f('ix_customer_lifecycle_stage'))
        batch_op.drop_index(batch_op.f('ix_customer_next_follow_up_on'))
        batch_op.drop_index(batch_op.f('ix_customer_value_tier'))
        batch_op.drop_column('last_contact_at')
        batch_op.drop_column('lifecycle_stage')
        batch_op.drop_column('value_tier')
        batch_op.drop_column('next_follow_up_on')

    with op.batch_alter_table('transaction', schema=None) as batch_op:
        batch_op.create_index('ix_transaction_paid_customer_id', ['customer_id', 'occurred_at', 'amount'], unique=False, sqlite_where=sa.text("status = 'paid'"), postgresql_where=sa.text("status = 'paid'"))



def downgrade():
    with op.batch_alter_table('transaction', schema=None) as batch_op:
        batch_op.drop_index('ix_transaction_paid_customer_id', sqlite_where=sa.text("status = 'paid'"), postgresql_where=sa.text("status = 'paid'"))

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_follow_up_on', sa.DATE(), nullable=True))
        batch_op.add_column(sa.Column('value_tier', sa.VARCHAR(length=6), nullable=True))
        batch_op.add_column(sa.Column('lifecycle_stage', sa.VARCHAR(length=9), nullable=False,
                                      server_default='potential'))
        batch_op.add_column(sa.Column('last_contact_at', sa.DATETIME(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_value_tier'), ['value_tier'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_next_follow_up_on'), ['next_follow_up_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_lifecycle_stage'), ['lifecycle_stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_last_contact_at'), ['last_contact_at'], unique=False)
        batch_op.create_check_constraint(
            'lifecycle_stage', "lifecycle_stage IN ('potential', 'new', 'active', 'loyal', 'at_risk', 'churned')")
        batch_op.create_check_constraint('value_tier', "value_tier IN ('high', 'medium', 'low')")

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_satisfaction_score'))

    with op.batch_alter_table('customer_standing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_standing_window_amount'))
        batch_op.drop_index('ix_customer_standing_tier_window_amount')
        batch_op.drop_index('ix_customer_standing_stage_window_amount')
        batch_op.drop_index('ix_customer_standing_owner_id_tier_window_amount')
        batch_op.drop_index('ix_customer_standing_owner_id_stage_window_amount')
        batch_op.drop_index('ix_customer_standing_owner_id_next_follow_up_on')
        batch_op.drop_index(batch_op.f('ix_customer_standing_next_follow_up_on'))
        batch_op.drop_index(batch_op.f('ix_customer_standing_last_purchase_at'))
        batch_op.drop_index(batch_op.f('ix_customer_standing_last_interaction_id'))

    op.drop_table('customer_standing')
    with op.batch_alter_table('standing_change', schema=None) as batch_op:
        batch_op.drop_index('ix_standing_change_customer_id_changed_at')
        batch_op.drop_index(batch_op.f('ix_standing_change_changed_at'))

    op.drop_table('standing_change')
    op.drop_table('setting')
