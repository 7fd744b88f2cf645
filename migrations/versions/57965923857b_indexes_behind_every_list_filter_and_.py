"""Indexes behind every list filter and sort that lacked one (found by tests/test_migrations.py).

On a large PostgreSQL table, create them beforehand with CREATE INDEX CONCURRENTLY if downtime matters.

Revision ID: 57965923857b
Revises: 6352d1fc7373
Create Date: 2026-11-23 21:45:22.210517

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '57965923857b'
down_revision = '6352d1fc7373'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_ip'), ['ip'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_record_id'), ['record_id'], unique=False)

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_actual_cost'), ['actual_cost'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_budget'), ['budget'], unique=False)

    with op.batch_alter_table('campaign_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_participant_responded_at'), ['responded_at'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index('ix_customer_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_customer_updated_at', ['updated_at'], unique=False)

    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_builtin'), ['builtin'], unique=False)

    with op.batch_alter_table('transaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transaction_currency'), ['currency'], unique=False)
        batch_op.create_index(batch_op.f('ix_transaction_quantity'), ['quantity'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_display_name'), ['display_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_last_login_at'), ['last_login_at'], unique=False)



def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_last_login_at'))
        batch_op.drop_index(batch_op.f('ix_user_display_name'))

    with op.batch_alter_table('transaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transaction_quantity'))
        batch_op.drop_index(batch_op.f('ix_transaction_currency'))

    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_builtin'))

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_updated_at')
        batch_op.drop_index('ix_customer_created_at')

    with op.batch_alter_table('campaign_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_participant_responded_at'))

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_budget'))
        batch_op.drop_index(batch_op.f('ix_campaign_actual_cost'))

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_record_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_ip'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_actor'))

