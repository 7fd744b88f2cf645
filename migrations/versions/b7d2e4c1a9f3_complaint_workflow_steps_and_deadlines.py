"""Complaint workflow: every move kept as a step; first-response and current deadlines; the rejection reason.

Revision ID: b7d2e4c1a9f3
Revises: 3c1f0e7a9b42
Create Date: 2026-11-24 09:10:00

Existing complaints keep their resolution deadline (due_at); the deadline that applies now (next_due_at) is that
one for every complaint still open, and none for finished ones. They had no first-response deadline, so none is
invented. The new rights (complaints.assign, complaints.supervise) are granted here to the built-in roles that
hold them in this release; roles made by administrators get them only if an administrator grants them.
"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d2e4c1a9f3'
down_revision = '3c1f0e7a9b42'
branch_labels = None
depends_on = None

STATUSES = ('received', 'assessed', 'assigned', 'solution_drafted', 'in_progress', 'result_reported', 'closed',
            'rejected', 'reopened')
GRANTS = {
    "administrator": ("complaints.assign", "complaints.supervise"),
    "supervisor": ("complaints.assign", "complaints.supervise"),
}
MOVES = ('register', 'assess', 'reject', 'assign', 'reassign', 'reclassify', 'draft', 'start', 'report', 'close',
         'reopen')


def upgrade():
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejection_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('respond_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('responded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_due_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_complaint_respond_due_at', ['respond_due_at'], unique=False)
        batch_op.create_index('ix_complaint_next_due_at', ['next_due_at'], unique=False)
        batch_op.create_index('ix_complaint_urgency_next_due_at_id', ['urgency', 'next_due_at', 'id'], unique=False)
    op.execute("UPDATE complaint SET next_due_at = due_at WHERE status NOT IN ('closed', 'rejected')")
    op.execute("UPDATE complaint SET responded_at = received_at WHERE status <> 'received'")

    op.create_table(
        'complaint_step',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('move', sa.Enum(*MOVES, name='complaint_move', native_enum=False, create_constraint=True,
                                  length=10), nullable=False),
        sa.Column('from_status', sa.Enum(*STATUSES, name='complaint_step_from', native_enum=False,
                                         create_constraint=True, length=16), nullable=True),
        sa.Column('to_status', sa.Enum(*STATUSES, name='complaint_step_to', native_enum=False,
                                       create_constraint=True, length=16), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_complaint_step_actor_id_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'],
                                name=op.f('fk_complaint_step_complaint_id_complaint'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_step')),
    )
    with op.batch_alter_table('complaint_step', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_step_actor_id', ['actor_id'], unique=False)
        batch_op.create_index('ix_complaint_step_complaint_id_id', ['complaint_id', 'id'], unique=False)

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
    op.execute("DELETE FROM role_permission WHERE permission IN ('complaints.assign', 'complaints.supervise')")
    op.drop_table('complaint_step')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_urgency_next_due_at_id')
        batch_op.drop_index('ix_complaint_next_due_at')
        batch_op.drop_index('ix_complaint_respond_due_at')
        batch_op.drop_column('next_due_at')
        batch_op.drop_column('responded_at')
        batch_op.drop_column('respond_due_at')
        batch_op.drop_column('rejection_reason')
