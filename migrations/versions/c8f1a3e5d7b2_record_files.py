"""Files on records (客户资料存档): contracts, ID scans and photos attached to a customer or a complaint, their bytes
in CRM_FILES_DIR or in the row.

Revision ID: c8f1a3e5d7b2
Revises: b4d8f2a6c913
Create Date: 2026-12-09 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8f1a3e5d7b2'
down_revision = 'b4d8f2a6c913'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('record_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=80), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(customer_id IS NULL) <> (complaint_id IS NULL)', name=op.f('ck_record_file_one_record')),
    sa.CheckConstraint('(storage_key IS NULL) <> (content IS NULL)', name=op.f('ck_record_file_one_storage')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_record_file_complaint_id_complaint'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_record_file_customer_id_customer'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_record_file_uploaded_by_id_user'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_file')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_record_file_storage_key'))
    )
    with op.batch_alter_table('record_file', schema=None) as batch_op:
        batch_op.create_index('ix_record_file_customer_id_id', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_record_file_complaint_id_id', ['complaint_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_file_uploaded_by_id'), ['uploaded_by_id'], unique=False)


def downgrade():
    op.drop_table('record_file')
