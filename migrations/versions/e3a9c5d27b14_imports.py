"""Imports: each run of a file import (staged file, counts, batch in the operation log, undo) and each user's
last column mapping per kind.

Revision ID: e3a9c5d27b14
Revises: d5e8a1c7f302
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3a9c5d27b14'
down_revision = 'd5e8a1c7f302'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('valid_only', sa.Boolean(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('mapping', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('batch_id', sa.String(length=36), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('report', sa.LargeBinary(), nullable=True),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['undone_by_id'], ['user.id'], name=op.f('fk_import_run_undone_by_id_user'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_import_run_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_run'))
    )
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_run_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_run_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_run_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_run_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_run_undone_by_id'), ['undone_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_run_user_id'), ['user_id'], unique=False)

    op.create_table('import_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('columns', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_import_mapping_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mapping')),
    sa.UniqueConstraint('user_id', 'kind', name='uq_import_mapping_user_id_kind')
    )


def downgrade():
    op.drop_table('import_mapping')
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        for name in ('user_id', 'undone_by_id', 'status', 'kind', 'created_at', 'batch_id'):
            batch_op.drop_index(batch_op.f(f'ix_import_run_{name}'))
    op.drop_table('import_run')
