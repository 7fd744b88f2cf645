"""A customer's next follow-up moved by hand before their first contact (customer_standing.rescheduled_to): the
follow-up list could reschedule only customers whose latest contact carried the date.

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


def downgrade():
    with op.batch_alter_table('customer_standing', schema=None) as batch_op:
        batch_op.drop_column('rescheduled_to')
