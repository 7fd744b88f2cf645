"""Two-factor sign-in: a user's authenticator secret and last accepted step, their recovery codes, and a role's
"two-factor required" setting (on for the built-in administrator and auditor roles).

Revision ID: c5e1a7d3f802
Revises: aba4cfcbd9a2
Create Date: 2026-12-09 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e1a7d3f802'
down_revision = 'aba4cfcbd9a2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.add_column(sa.Column('two_factor_required', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_recovery_code_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)
    role = sa.table('role', sa.column('name', sa.String), sa.column('builtin', sa.Boolean),
                    sa.column('two_factor_required', sa.Boolean))
    op.execute(role.update().where(role.c.builtin.is_(True), role.c.name.in_(('administrator', 'auditor')))
               .values(two_factor_required=True))


def downgrade():
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.drop_column('two_factor_required')
