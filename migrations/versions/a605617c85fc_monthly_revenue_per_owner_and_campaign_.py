"""Monthly revenue per owner and campaign; owner indexes for the dashboard

The dashboard's revenue by month and campaign return summed every paid purchase on each view (seconds at ten
million purchases); revenue_month keeps those sums per owner, month, campaign and currency, updated by each flush.
It starts empty: the next `flask crm refresh-stats` (run by `flask crm bootstrap`) fills it from the purchases,
since months are counted in the panel's time zone (CRM_TIMEZONE), which only the app knows. Two indexes let a
clerk's dashboard count their customers by region and source from the index alone; a third walks a clerk's
customers of every tier highest value first (the Tiers screen's first page) without sorting them all, and the
follow-up indexes gain the customer id, the list's tie-breaker, so its first page is read in order from them;
likewise for the complaints waiting for feedback to the customer, by status and due time.

Revision ID: a605617c85fc
Revises: 5345858b3c2e
Create Date: 2026-11-24 00:04:56.487315

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a605617c85fc'
down_revision = '5345858b3c2e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('revenue_month',
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),  # Money: integer cents
    sa.Column('purchases', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('owner_id', 'month', 'campaign_id', 'currency', name=op.f('pk_revenue_month'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index('ix_customer_owner_id_region', ['owner_id', 'region'], unique=False)
        batch_op.create_index('ix_customer_owner_id_source', ['owner_id', 'source'], unique=False)
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_status_due_at', ['status', 'due_at', 'received_at', 'id'], unique=False)
    with op.batch_alter_table('customer_standing', schema=None) as batch_op:
        batch_op.create_index('ix_customer_standing_owner_id_window_amount', ['owner_id', 'window_amount'],
                              unique=False)
        batch_op.drop_index('ix_customer_standing_next_follow_up_on')
        batch_op.drop_index('ix_customer_standing_owner_id_next_follow_up_on')
        batch_op.create_index('ix_customer_standing_next_follow_up_on_customer_id',
                              ['next_follow_up_on', 'customer_id'], unique=False)
        batch_op.create_index('ix_customer_standing_owner_id_next_follow_up_on_customer_id',
                              ['owner_id', 'next_follow_up_on', 'customer_id'], unique=False)



def downgrade():
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_status_due_at')
    with op.batch_alter_table('customer_standing', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_standing_owner_id_next_follow_up_on_customer_id')
        batch_op.drop_index('ix_customer_standing_next_follow_up_on_customer_id')
        batch_op.create_index('ix_customer_standing_owner_id_next_follow_up_on', ['owner_id', 'next_follow_up_on'],
                              unique=False)
        batch_op.create_index('ix_customer_standing_next_follow_up_on', ['next_follow_up_on'], unique=False)
        batch_op.drop_index('ix_customer_standing_owner_id_window_amount')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_owner_id_source')
        batch_op.drop_index('ix_customer_owner_id_region')

    op.drop_table('revenue_month')
