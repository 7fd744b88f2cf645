"""Rights to import files, merge duplicate customers and erase a customer's personal data.

Grants them to the built-in administrator and supervisor roles (frozen copy of this release's definitions;
`flask crm sync-roles` brings roles up to later ones). Clerks and auditors get none of them.

Revision ID: c41a7e2d9b10
Revises: b7d2e4f19a60
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41a7e2d9b10'
down_revision = 'b7d2e4f19a60'
branch_labels = None
depends_on = None

RIGHTS = ("records.import", "customers.merge", "customers.erase")
GRANTS = {"administrator": RIGHTS, "supervisor": RIGHTS}


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
    op.execute(grant.delete().where(grant.c.permission.in_(RIGHTS)))
