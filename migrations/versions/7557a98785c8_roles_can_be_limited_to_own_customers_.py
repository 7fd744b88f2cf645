"""Roles can be limited to their user's own customers; the built-in roles exist from the start.

Revision ID: 7557a98785c8
Revises: 5f654c3f158b
Create Date: 2026-11-23 20:43:38.635198

The role definitions below are a frozen copy of this release's (crmadmin.auth.permissions);
`flask crm sync-roles` brings existing databases up to later definitions.
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '7557a98785c8'
down_revision = '5f654c3f158b'
branch_labels = None
depends_on = None

ACTIONS = ("view", "create", "edit", "delete", "export")
RECORDS = ("customers", "transactions", "interactions", "complaints", "campaigns")
EVERYTHING = RECORDS + ("users", "roles")
ROLES = {
    "administrator": ("Manages accounts and roles; may do everything.",
                      {f"{r}.{a}" for r in EVERYTHING for a in ACTIONS} | {"customers.assign"}, False),
    "supervisor": ("Sees and works all customers of all owners, including delete, export, campaigns and "
                   "reassigning owners.", {f"{r}.{a}" for r in RECORDS for a in ACTIONS} | {"customers.assign"}, False),
    "clerk": ("Enters and updates their own customers' files, transactions, interactions and complaints; "
              "views campaigns.", {f"{r}.{a}" for r in RECORDS[:4] for a in ("view", "create", "edit")}
              | {"campaigns.view"}, True),
    "auditor": ("Reads and exports everything; changes nothing.",
                {f"{r}.{a}" for r in EVERYTHING for a in ("view", "export")} - {"users.export", "roles.export"},
                False),
}


def upgrade():
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.add_column(sa.Column('own_customers_only', sa.Boolean(), server_default=sa.false(), nullable=False))

    role = sa.table("role", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("description", sa.Text),
                    sa.column("builtin", sa.Boolean), sa.column("own_customers_only", sa.Boolean),
                    sa.column("version", sa.Integer), sa.column("created_at", sa.DateTime),
                    sa.column("updated_at", sa.DateTime))
    grant = sa.table("role_permission", sa.column("role_id", sa.Integer), sa.column("permission", sa.String))
    connection = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for name, (description, permissions, own_only) in ROLES.items():
        if connection.execute(sa.select(role.c.id).where(role.c.name == name)).first() is not None:
            continue  # an existing role of that name is left as its administrators made it
        connection.execute(role.insert().values(name=name, description=description, builtin=True,
                                                own_customers_only=own_only, version=1, created_at=now,
                                                updated_at=now))
        role_id = connection.execute(sa.select(role.c.id).where(role.c.name == name)).scalar_one()
        connection.execute(grant.insert(), [{"role_id": role_id, "permission": p} for p in sorted(permissions)])


def downgrade():
    with op.batch_alter_table('role', schema=None) as batch_op:
        batch_op.drop_column('own_customers_only')
