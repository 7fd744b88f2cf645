"""Operation log entries commit to each value under a per-entry seal, so a person's data can be erased from it.

Adds `seal` and `erasure` to audit_entry and re-seals every existing entry: the old chain is checked first, then
every entry gets a seal and its hash under the new scheme (crmadmin/audit/chain.py; that scheme is frozen by
nature: changing it would break every chain already written), and a `log_resealed` entry records how many entries
were re-sealed, the old head (so a head kept outside the database can still be matched) and whether the old chain
held. On PostgreSQL the append-only trigger now lets exactly one kind of update through: an erasure, which sets
`crm.erasing` in its transaction, destroys the seal and changes nothing but the label, the changes and the erasure.

Revision ID: e2a9c5d7f1b3
Revises: c41a7e2d9b10
Create Date: 2026-11-24 09:30:00

"""
import hashlib
import json
import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

from crmadmin.audit.chain import entry_hash


# revision identifiers, used by Alembic.
revision = 'e2a9c5d7f1b3'
down_revision = 'c41a7e2d9b10'
branch_labels = None
depends_on = None

V1_FIELDS = ("occurred_at", "batch_id", "actor_id", "actor", "source", "command", "ip", "user_agent",
             "request_id", "action", "record_type", "record_id", "record_label", "changes", "prev_hash")
GENESIS = "0" * 64
KEPT = ("id", "occurred_at", "batch_id", "actor_id", "actor", "source", "command", "ip", "user_agent", "request_id",
        "action", "record_type", "record_id", "prev_hash", "hash")
REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('crm.erasing', true) = 'on' THEN
        IF NEW.seal IS NULL AND NEW.erasure IS NOT NULL
           AND (%(new)s) IS NOT DISTINCT FROM (%(old)s) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the operation log is append-only: %% refused', TG_OP;
END
$$ LANGUAGE plpgsql
""" % {"new": ", ".join(f"NEW.{c}" for c in KEPT), "old": ", ".join(f"OLD.{c}" for c in KEPT)}
OLD_REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the operation log is append-only: % refused', TG_OP;
END
$$ LANGUAGE plpgsql
"""


def _v1_canonical(value):
    if value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


def _v1_hash(fields: dict) -> str:
    payload = json.dumps([_v1_canonical(fields.get(name)) for name in V1_FIELDS], ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _entries(connection):
    table = sa.Table("audit_entry", sa.MetaData(), autoload_with=connection)
    return table, [dict(row._mapping) for row in connection.execute(sa.select(table).order_by(table.c.id))]


def _rechain(connection, table, rows, hasher, seal) -> None:
    previous = GENESIS
    updates = []
    for row in rows:
        row.update(prev_hash=previous, seal=seal())
        row["hash"] = previous = hasher(row)
        updates.append({"key": row["id"], "new_prev": row["prev_hash"], "new_hash": row["hash"],
                        "new_seal": row["seal"]})
    statement = table.update().where(table.c.id == sa.bindparam("key"))
    for start in range(0, len(updates), 5000):
        connection.execute(statement.values(prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash"),
                                            seal=sa.bindparam("new_seal")), updates[start:start + 5000])


def _old_chain_verdict(rows) -> str:
    previous = GENESIS
    for row in rows:
        if row["prev_hash"] != previous or _v1_hash(row) != row["hash"]:
            return f"broken at entry #{row['id']}"
        previous = row["hash"]
    return "unbroken"


def upgrade():
    connection = op.get_bind()
    postgresql = connection.dialect.name == "postgresql"
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('erasure', sa.Text(), nullable=True))
    if postgresql:
        op.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
    table, rows = _entries(connection)
    verdict = _old_chain_verdict(rows)
    old_head = rows[-1]["hash"] if rows else GENESIS
    _rechain(connection, table, rows, entry_hash, lambda: secrets.token_hex(16))
    if rows:
        event = {"occurred_at": datetime.now(timezone.utc).replace(tzinfo=None), "batch_id": "migration-e2a9c5d7f1b3",
                 "actor_id": None, "actor": "system", "source": "system", "command": "flask db upgrade",
                 "ip": None, "user_agent": None, "request_id": None, "action": "log_resealed", "record_type": None,
                 "record_id": None, "record_label": None, "seal": secrets.token_hex(16), "erasure": None,
                 "changes": json.dumps({"entries": len(rows), "old_head": old_head, "old_chain": verdict},
                                       sort_keys=True),
                 "prev_hash": rows[-1]["hash"]}
        event["hash"] = entry_hash(event)
        connection.execute(table.insert(), event)
    if postgresql:
        op.execute(REFUSE_FUNCTION)
        op.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")


def downgrade():
    connection = op.get_bind()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        op.execute(OLD_REFUSE_FUNCTION)
        op.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
    table, rows = _entries(connection)
    _rechain(connection, table, rows, _v1_hash, lambda: None)  # erased values stay erased under the old scheme
    if postgresql:
        op.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_column('erasure')
        batch_op.drop_column('seal')
