"""A customer's next follow-up moved by hand before their first contact (customer_standing.rescheduled_to): the
follow-up list could reschedule only customers whose latest contact carried the date. And the campaign page's
timeline of responses, newest first, read from an index of campaign and response time.

Revision ID: a4d2c7e9f1b3
Revises: c8e1f5a3d7b2
Create Date: 2026-12-07 17:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4d2c7e9f1b3'
down_revision = 'c8e1f5a3d7b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customer_standing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rescheduled_to', sa.Date(), nullable=True))
    with op.batch_alter_table('campaign_participant', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_participant_campaign_id_responded_at_id',
                              ['campaign_id', 'responded_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('campaign_participant', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_participant_campaign_id_responded_at_id')
    with op.batch_alter_table('customer_standing', schema=None) as batch_op:
        batch_op.drop_column('rescheduled_to')
