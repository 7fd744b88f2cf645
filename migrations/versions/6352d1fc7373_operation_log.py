"""Operation log: an append-only, hash-chained table; PostgreSQL refuses UPDATE, DELETE and TRUNCATE on it.

Also grants the built-in roles their rights on the log (frozen copy of this release's definitions).

Revision ID: 6352d1fc7373
Revises: 7557a98785c8
Create Date: 2026-11-23 21:19:00.093683

"""
from alembic import op
import sqlalchemy as sa


REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the operation log is append-only: % refused', TG_OP;
END
$$ LANGUAGE plpgsql
"""
GRANTS = {
    "administrator": ("audit.view", "audit.export"),
    "supervisor": ("audit.view",),
    "auditor": ("audit.view", "audit.export"),
}

# revision identifiers, used by Alembic.
revision = '6352d1fc7373'
down_revision = '7557a98785c8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('command', sa.String(length=255), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=255), nullable=True),
    sa.Column('request_id', sa.String(length=36), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('record_type', sa.String(length=64), nullable=True),
    sa.Column('record_id', sa.String(length=64), nullable=True),
    sa.Column('record_label', sa.String(length=255), nullable=True),
    sa.Column('changes', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_entry_actor_id_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_entry_hash'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_entry_record', ['record_type', 'record_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_source'), ['source'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_FUNCTION)
        op.execute("CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
                   "FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change()")
        op.execute("CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_change()")

    role = sa.table("role", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("builtin", sa.Boolean))
    grant = sa.table("role_permission", sa.column("role_id", sa.Integer), sa.column("permission", sa.String))
    connection = op.get_bind()
    for name, permissions in GRANTS.items():
        role_id = connection.execute(sa.select(role.c.id).where(role.c.name == name, role.c.builtin.is_(True))).scalar()
        if role_id is None:
            continue
        have = set(connection.execute(sa.select(grant.c.permission).where(grant.c.role_id == role_id)).scalars())
        missing = sorted(set(permissions) - have)
        if missing:
            connection.execute(grant.insert(), [{"role_id": role_id, "permission": p} for p in missing])



def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_refuse_change()")
    op.execute("DELETE FROM role_permission WHERE permission LIKE 'audit.%'")
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_source'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_request_id'))
        batch_op.drop_index('ix_audit_entry_record')
        batch_op.drop_index(batch_op.f('ix_audit_entry_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_batch_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))

    op.drop_table('audit_entry')
