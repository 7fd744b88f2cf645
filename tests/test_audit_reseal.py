"""Upgrading an existing operation log to sealed values keeps its history checkable."""
import importlib.util
import json
import uuid
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from crmadmin import create_app
from crmadmin.audit.chain import chain_rows, verify
from crmadmin.extensions import db
from crmadmin.models import AuditEntry, utcnow

BEFORE = "c41a7e2d9b10"
MIGRATION = Path(__file__).parent.parent / "migrations/versions/e2a9c5d7f1b3_operation_log_sealed_values.py"


def _migration():
    spec = importlib.util.spec_from_file_location("reseal_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def scratch_url(database_url, tmp_path):
    """A database of its own, since the test walks the migrations down and up."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'reseal.sqlite3'}"
        return
    name = f"{make_url(database_url).database}_reseal_{uuid.uuid4().hex[:8]}"
    server = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def _old_log(count: int, break_at: int | None = None):
    """Entries as the previous release wrote them: hashed over their values as they are."""
    v1_hash, previous, table = _migration()._v1_hash, "0" * 64, AuditEntry.__table__
    for n in range(count):
        row = {"occurred_at": utcnow(), "batch_id": f"batch-{n}", "actor_id": None, "actor": "cli:wang",
               "source": "cli", "command": "flask crm", "ip": None, "user_agent": None, "request_id": None,
               "action": "update", "record_type": "customer", "record_id": str(n), "record_label": f"张三 (#{n})",
               "changes": json.dumps({"mobile": ["+8613800000000", f"+86139000000{n:02d}"]}), "prev_hash": previous}
        row["hash"] = previous = v1_hash(row)
        if n == break_at:
            row["actor"] = "forged"
        db.session.execute(table.insert().values({k: v for k, v in row.items()}))
    db.session.commit()
    return previous


def _verdict():
    with db.engine.connect() as connection, chain_rows(connection) as rows:
        return verify(rows)


@pytest.mark.parametrize("break_at, told", [(None, "unbroken"), (2, "broken at entry #3")])
def test_an_old_log_is_resealed_and_says_whether_it_held_before(scratch_url, break_at, told):
    """Does the upgrade re-seal every old entry, keep the old head on record and say if the old chain was broken?"""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=scratch_url)
    with app.app_context():
        try:
            upgrade(revision=BEFORE)
            old_head = _old_log(5, break_at)
            upgrade()
            entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
            assert len(entries) == 6 and all(entry.seal for entry in entries)
            resealed = json.loads(entries[-1].changes)
            assert entries[-1].action == "log_resealed"
            assert resealed == {"entries": 5, "old_head": old_head, "old_chain": told}
            assert entries[0].record_label == "张三 (#0)"  # values are kept as they were, only sealed
            verdict = _verdict()
            assert verdict.ok and verdict.checked == 6
            db.session.remove()

            downgrade(revision=BEFORE)  # and back: the old scheme's chain holds again, entry by entry
            v1_hash, previous = _migration()._v1_hash, "0" * 64
            rows = [dict(r._mapping) for r in db.session.execute(text("SELECT * FROM audit_entry ORDER BY id"))]
            for row in rows:
                assert row["prev_hash"] == previous and v1_hash(row) == row["hash"]
                previous = row["hash"]
            db.session.remove()
        finally:
            db.engine.dispose()
