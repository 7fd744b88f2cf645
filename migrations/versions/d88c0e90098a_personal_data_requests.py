"""Personal data requests (correction, erasure) and when a customer's personal data was erased.

Revision ID: d88c0e90098a
Revises: e2a9c5d7f1b3
Create Date: 2026-11-24 05:46:53.452065

"""
from alembic import op
import sqlalchemy as sa

from crmadmin import search

INDEXED = {"customer": ("name", "mobile", "email", "company_name")}  # as of this revision


# revision identifiers, used by Alembic.
revision = 'd88c0e90098a'
down_revision = 'e2a9c5d7f1b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('personal_data_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('correction', 'erasure', name='personal_data_request_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'email', 'visit', 'social_media', 'online_chat', 'event', name='contact_channel', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('fields', sa.String(length=255), nullable=False),
    sa.Column('performed_by_id', sa.Integer(), nullable=True),
    sa.Column('performed_at', sa.DateTime(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_personal_data_request_customer_id_customer'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['performed_by_id'], ['user.id'], name=op.f('fk_personal_data_request_performed_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_request'))
    )
    with op.batch_alter_table('personal_data_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_data_request_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_request_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_request_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_request_kind'), ['kind'], unique=False)
        batch_op.create_index('ix_personal_data_request_performed_at_id', ['performed_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_request_performed_by_id'), ['performed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_request_received_on'), ['received_on'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    search.create(op.get_bind(), INDEXED)  # SQLite rebuilt `customer` without the triggers that feed its search table

    with op.batch_alter_table('personal_data_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_data_request_received_on'))
        batch_op.drop_index(batch_op.f('ix_personal_data_request_performed_by_id'))
        batch_op.drop_index('ix_personal_data_request_performed_at_id')
        batch_op.drop_index(batch_op.f('ix_personal_data_request_kind'))
        batch_op.drop_index(batch_op.f('ix_personal_data_request_customer_id'))
        batch_op.drop_index(batch_op.f('ix_personal_data_request_channel'))
        batch_op.drop_index(batch_op.f('ix_personal_data_request_batch_id'))

    op.drop_table('personal_data_request')
