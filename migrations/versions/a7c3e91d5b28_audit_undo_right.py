"""The right to undo changes from the operation log (audit.undo), granted to the built-in administrator role.

Undo from the log used to follow from view, create, edit and delete on the record's kind, so supervisors could revert
anyone's change; it is a right of its own now. Only the built-in administrator role gets it here (frozen copy of this
release's definition; `flask crm sync-roles` brings roles up to later ones); an administrator grants it to other
roles in the role grid. Undoing an import or a merge on its own screen keeps needing records.import or
customers.merge, not this.

Revision ID: a7c3e91d5b28
Revises: 9e4b2d7a1c30
Create Date: 2026-12-07 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91d5b28'
down_revision = '9e4b2d7a1c30'
branch_labels = None
depends_on = None

RIGHT = "audit.undo"
GRANTS = {"administrator": (RIGHT,)}


def upgrade():
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
    grant = sa.table("role_permission", sa.column("permission", sa.String))
    op.execute(grant.delete().where(grant.c.permission == RIGHT))
