"""One row per signed-in session (user_session): the cookie holds its token, the table its hash; user.session_token,
the one token every session of a user shared, goes. Everyone signs in again once after the upgrade.

Revision ID: aba4cfcbd9a2
Revises: c8f1a3e5d7b2
Create Date: 2026-12-07 14:10:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'aba4cfcbd9a2'
down_revision = 'c8f1a3e5d7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('signed_in_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_session_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_session_token_hash'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_session_last_seen_at'), ['last_seen_at'], unique=False)
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_session_token'), type_='unique')
        batch_op.drop_column('session_token')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    for (user_id,) in connection.execute(sa.select(user.c.id)).all():
        connection.execute(user.update().where(user.c.id == user_id).values(session_token=secrets.token_urlsafe(32)))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_session_token'), ['session_token'])
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_last_seen_at'))
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
    op.drop_table('user_session')
