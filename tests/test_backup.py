"""Backups: taken while the panel writes, checked before anything is replaced, restored whole with a sound log.

Restores go into a scratch database of their own: a SQLite file, or `<test database>_restore` on the PostgreSQL
server, made fresh for each test and dropped after it. The test database itself is only read (and written by the
writer process, as the running panel would).
"""
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from crmadmin import create_app, search
from crmadmin.audit.chain import chain_rows, verify
from crmadmin.backup import BackupError, dialect_of
from crmadmin.backup.postgres import libpq
from crmadmin.extensions import db
from crmadmin.models import AuditEntry, Customer, CustomerStanding, Transaction
from tests import factories

HEAD_LINE = re.compile(r"^Operation log head: ([0-9a-f]{64})$", re.M)


def crm(app, *args, **kwargs):
    """Run `flask crm ARGS` against `app`'s database through the app's own Click runner."""
    return app.test_cli_runner().invoke(args=["crm", *map(str, args)], **kwargs)


def is_postgresql(url: str) -> bool:
    return url.startswith("postgresql")


@contextmanager
def server(url: str):
    """An AUTOCOMMIT connection to the server's maintenance database, to create and drop scratch databases."""
    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _recreate_database(url: str, name: str) -> None:
    with server(url) as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))


def _drop_database(url: str, name: str) -> None:
    with server(url) as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def restore_url(database_url, tmp_path):
    """A scratch database to restore into, empty: a new SQLite file, or `<test db>_restore` made afresh."""
    if not is_postgresql(database_url):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_restore"
    _recreate_database(database_url, name)
    yield url.set(database=name).render_as_string(hide_password=False)
    _drop_database(database_url, name)


@pytest.fixture
def target(restore_url):
    """The panel configured on the scratch database: what an operator restores into."""
    scratch = create_app("testing", SQLALCHEMY_DATABASE_URI=restore_url)
    yield scratch
    with scratch.app_context():
        db.session.remove()
        db.engine.dispose()


def tables(app) -> dict:
    """Every row of every table, the operation log and alembic_version included, to compare databases exactly."""
    with app.app_context(), db.engine.connect() as connection:
        names = [t.name for t in db.metadata.sorted_tables] + ["alembic_version"]
        found = {name: sorted(tuple(map(repr, row)) for row in connection.execute(text(f'SELECT * FROM "{name}"')))
                 for name in names}
    with app.app_context():
        db.engine.dispose()  # leave no session on a database that is about to be replaced
    return found


def chain_ok(app) -> bool:
    with app.app_context():
        with db.engine.connect() as connection, chain_rows(connection) as rows:
            verdict = verify(rows)
        db.engine.dispose()
    return verdict.ok


def take_backup(app, path: Path) -> str:
    """Back up `app`'s database to `path`; the operation log head the command printed."""
    result = crm(app, "backup", "--output", path)
    assert result.exit_code == 0, result.output
    return HEAD_LINE.search(result.output).group(1)


def restored(app, path: Path):
    result = crm(app, "restore", path, "--yes")
    assert result.exit_code == 0, result.output
    assert "Operation log OK" in result.output
    return result


# --- a backup while the panel writes ---------------------------------------------------------

WRITER = """
import os, sys, time
from crmadmin import create_app
from crmadmin.extensions import db
from decimal import Decimal
from crmadmin.models import Customer, Transaction, utcnow

app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1])
stop, deadline, n = sys.argv[2], time.monotonic() + 120, 0
with app.app_context():
    while not os.path.exists(stop) and time.monotonic() < deadline:
        customer = Customer(name=f"Writer {n}", kind="person")
        db.session.add(Transaction(customer=customer, product="Kit", quantity=1, amount=Decimal("10.00"),
                                   currency="CNY", occurred_at=utcnow(), channel="store", status="paid"))
        db.session.commit()  # customer, purchase, standing, revenue and their log entries: one transaction
        n += 1
    db.engine.dispose()
"""


def _customers(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Customer))
        db.session.remove()
    return count


def test_a_backup_taken_while_customers_are_being_created_restores_to_a_consistent_database(
        app, database_url, target, tmp_path):
    """While another process keeps creating customers, is the backup one consistent moment that restores whole?"""
    with app.app_context():  # some bulk so the copy takes a while: 1,500 customers, each logged
        db.session.add_all(Customer(name=f"Before {n}", kind="person") for n in range(1500))
        db.session.commit()
        db.engine.dispose()
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, database_url, str(stop)],
                              env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        deadline = time.monotonic() + 60
        while _customers(app) < 1520 and writer.poll() is None and time.monotonic() < deadline:  # it commits
            time.sleep(0.05)
        for attempt in range(5):  # until a commit lands while the backup is being taken (the first one, in practice)
            backup = tmp_path / f"during-writes-{attempt}.backup"
            before = _customers(app)
            head = take_backup(app, backup)
            after = _customers(app)
            if after > before:
                break
    finally:
        stop.touch()
        assert writer.wait(timeout=60) == 0
    assert after > before >= 1520, "the writer must have committed while the backup was being taken"

    result = restored(target, backup)
    with target.app_context():
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
        customers = db.session.scalars(select(Customer.id)).all()
        logged = Counter(db.session.scalars(select(AuditEntry.record_id).where(
            AuditEntry.record_type == "customer", AuditEntry.action == "create")))
        purchases = Counter(db.session.scalars(select(Transaction.customer_id)))
        standings = set(db.session.scalars(select(CustomerStanding.customer_id)))
        last = db.session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
        db.session.remove()
    assert before <= len(customers) <= after
    # no half transaction: each customer exactly once in the log, and each logged creation is there
    assert logged == Counter(str(i) for i in customers)
    preloaded = [i for i in customers if i not in purchases]
    assert len(preloaded) == 1500 and all(n == 1 for n in purchases.values())  # each writer's customer, its purchase
    assert standings == set(customers)
    assert chain_ok(target) and last == head  # the head printed with the backup is the restored log's head
    assert f"Head: {head}" in result.output


# --- what a restore brings back ---------------------------------------------------------------

def test_restoring_brings_back_exactly_the_rows_backed_up_into_an_empty_or_a_changed_database(app, target, tmp_path):
    """Back up, restore into an empty database, change it, restore again: is every table as it was backed up?"""
    with app.app_context():
        kept = factories.customer(name="王小明", company_name="华东贸易")
        factories.transaction(kept)
        factories.interaction(kept)
        gone = factories.customer(name="Leaving Soon")
    backup = tmp_path / "crm.backup"
    head = take_backup(app, backup)
    original = tables(app)

    first = restored(target, backup)  # into an empty database
    assert tables(target) == original
    assert f"Head: {head}" in first.output and "(the code's head)" in first.output
    with target.app_context():
        db.session.get(Customer, kept.id).name = "Changed"
        db.session.delete(db.session.get(Customer, gone.id))
        db.session.add(Customer(name="Added after the backup", kind="person"))
        db.session.commit()
        db.session.remove()
    assert tables(target) != original

    restored(target, backup)  # into a database with data, and a longer log
    assert tables(target) == original
    assert chain_ok(target)
    with target.app_context():  # the search index came back with the rows (FTS5 table, or pg_trgm indexes)
        dialect = db.engine.dialect.name
        found = db.session.scalars(search.matching_ids("customer", ["name"], "王小明", dialect)).all()
        db.session.remove()
    assert found == [kept.id]


def test_a_restored_older_schema_says_to_run_db_upgrade(app, target, tmp_path):
    """If the backup's schema is older than the code's, does the restore tell the operator to upgrade?"""
    take_backup(app, tmp_path / "current.backup")
    restored(target, tmp_path / "current.backup")
    with target.app_context():
        script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
        head = script.get_current_head()
        older = script.get_revision(head).down_revision
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": older})
        db.engine.dispose()
    take_backup(target, tmp_path / "older.backup")
    result = restored(target, tmp_path / "older.backup")
    assert f"Database revision: {older}, older than the code's head {head}: run `flask db upgrade`" in result.output


def test_a_restore_whose_log_was_tampered_with_says_so_and_exits_1(app, target, tmp_path):
    """A backup of a database whose log was edited: does the restore report the broken entry and fail?"""
    with app.app_context():
        for n in range(3):
            factories.customer(name=f"Logged {n}")
    take_backup(app, tmp_path / "sound.backup")
    restored(target, tmp_path / "sound.backup")
    with target.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # past the append-only triggers
        victim = connection.execute(text("SELECT min(id) FROM audit_entry WHERE record_type = 'customer'")).scalar()
        connection.execute(text("UPDATE audit_entry SET record_label = 'forged' WHERE id = :id"), {"id": victim})
    with target.app_context():
        db.engine.dispose()
    take_backup(target, tmp_path / "tampered.backup")
    result = crm(target, "restore", tmp_path / "tampered.backup", "--yes")
    assert result.exit_code == 1
    assert f"Operation log BROKEN at entry #{victim}" in result.output


# --- what a restore refuses -------------------------------------------------------------------

@pytest.fixture
def restored_target(app, target, tmp_path):
    """The scratch database holding a restored backup, and that backup: what a refused restore must leave alone."""
    with app.app_context():
        factories.interaction(factories.customer(name="Stays"))
    backup = tmp_path / "good.backup"
    take_backup(app, backup)
    restored(target, backup)
    return target, backup


def _not_a_backup(kind: str, good: Path, tmp_path: Path, database_url: str) -> tuple[Path, str]:
    """A file that must be refused, and the words of the refusal."""
    path = tmp_path / f"{kind}.backup"
    dialect = "postgresql" if is_postgresql(database_url) else "sqlite"
    if kind == "text":
        path.write_text("name,mobile\n王小明,13812345678\n", encoding="utf-8")
        return path, "is not a backup"
    if kind == "other kind":
        if dialect == "sqlite":
            path.write_bytes(b"PGDMP" + b"\x00" * 200)
            return path, "is a PostgreSQL backup, but the configured database is SQLite"
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("CREATE TABLE t (x)")
        return path, "is a SQLite backup, but the configured database is PostgreSQL"
    if kind == "not crmadmin":
        if dialect == "sqlite":
            with closing(sqlite3.connect(path)) as connection:
                connection.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY)")
            return path, "not a crmadmin backup (no alembic_version, audit_entry table)"
        conninfo, env = libpq(make_url(database_url))
        subprocess.run(["pg_dump", "--format=custom", "--table=customer", f"--file={path}", f"--dbname={conninfo}"],
                       env={**os.environ, **env}, check=True)
        return path, "not a crmadmin backup (no alembic_version, audit_entry table)"
    data = good.read_bytes()  # truncated: a real backup cut off (a dump keeps its table of contents, at the start)
    path.write_bytes(data[: len(data) * 2 // 3] if dialect == "sqlite" else data[:-64])
    return path, ("is not a readable SQLite database" if dialect == "sqlite"
                  else "pg_restore failed and rolled back; the database is as it was")


@pytest.mark.parametrize("kind", ["text", "other kind", "not crmadmin", "truncated"])
def test_restore_refuses_a_file_that_is_not_a_good_backup_and_changes_nothing(restored_target, database_url,
                                                                             tmp_path, kind):
    """A CSV, the other database's backup, another database's dump, a cut-off backup: is each refused, harmlessly?"""
    target, good = restored_target
    bad, reason = _not_a_backup(kind, good, tmp_path, database_url)
    before = tables(target)
    result = crm(target, "restore", bad, "--yes")
    assert result.exit_code == 1
    assert reason in result.output
    assert "Restored" not in result.output
    assert tables(target) == before and chain_ok(target)


@pytest.mark.parametrize("answer", [None, "n\n"])
def test_restore_without_yes_asks_and_a_no_changes_nothing(restored_target, app, tmp_path, answer):
    """Without --yes, does declining the question (or having no one to ask) leave the database as it was?"""
    target, _ = restored_target
    with app.app_context():
        factories.customer(name="Only in the newer backup")
    newer = tmp_path / "newer.backup"
    take_backup(app, newer)
    before = tables(target)
    result = crm(target, "restore", newer, input=answer)
    assert result.exit_code == 1 and "Replace every row of" in result.output and "Aborted" in result.output
    assert tables(target) == before


def test_restore_with_a_yes_answer_replaces_the_database(restored_target, app, tmp_path):
    """And answering yes to that question restores?"""
    target, _ = restored_target
    with app.app_context():
        factories.customer(name="Only in the newer backup")
    newer = tmp_path / "newer.backup"
    take_backup(app, newer)
    result = crm(target, "restore", newer, input="y\n")
    assert result.exit_code == 0, result.output
    assert tables(target) == tables(app)


def test_postgresql_restore_refuses_while_someone_is_connected_or_the_schema_has_more_tables(
        restored_target, database_url):
    """Would the restore wait behind a running panel, or trip over a newer migration's table? Or refuse cleanly?"""
    if not is_postgresql(database_url):
        pytest.skip("sessions and extra tables are PostgreSQL's restore checks")
    target, good = restored_target
    before = tables(target)
    with target.app_context():
        url = db.engine.url
    panel = create_engine(url)
    with panel.connect() as session:  # the panel, still running
        session.execute(text("SELECT 1"))
        result = crm(target, "restore", good, "--yes")
    assert result.exit_code == 1 and "other session(s) are connected" in result.output
    with panel.begin() as connection:
        connection.execute(text("CREATE TABLE added_later (id integer REFERENCES customer (id))"))
    panel.dispose()
    result = crm(target, "restore", good, "--yes")
    assert result.exit_code == 1 and "tables the backup does not: public.added_later" in result.output
    assert {k: v for k, v in tables(target).items()} == before


def test_postgresql_restore_works_for_a_database_owner_who_does_not_own_pg_trgm(app, database_url, tmp_path):
    """As production's role, owner of its database but not of pg_trgm (a superuser's): does a restore go through?

    A plain `pg_restore --clean` would stop at `DROP EXTENSION pg_trgm`: only its owner may drop it.
    """
    if not is_postgresql(database_url):
        pytest.skip("extension ownership is PostgreSQL's")
    base = make_url(database_url)
    with server(database_url) as connection:
        if not connection.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
            pytest.skip("needs a superuser to create the owner role")
        role, name = f"{base.database}_owner", f"{base.database}_restore_owner"
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        connection.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'a secret: with spaces'"))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER "{role}"'))
    as_superuser = create_engine(base.set(database=name))
    with as_superuser.begin() as connection:
        connection.execute(text("CREATE EXTENSION pg_trgm"))
    as_superuser.dispose()
    backup = tmp_path / "crm.backup"
    with app.app_context():
        factories.customer(name="王小明")
    take_backup(app, backup)
    owner_url = base.set(database=name, username=role, password="a secret: with spaces")
    scratch = create_app("testing", SQLALCHEMY_DATABASE_URI=owner_url.render_as_string(hide_password=False))
    try:
        restored(scratch, backup)
        restored(scratch, backup)  # again, over its own tables
        assert tables(scratch) == tables(app)
    finally:
        with scratch.app_context():
            db.engine.dispose()
        with server(database_url) as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))


# --- the backup file ----------------------------------------------------------------------------

def test_a_backup_is_a_private_timestamped_file_that_names_its_revision_and_log_head(app, tmp_path, monkeypatch):
    """Does a backup land in CRM_BACKUP_DIR, readable by its owner only, with the head `audit head` prints?"""
    monkeypatch.setitem(app.config, "CRM_BACKUP_DIR", str(tmp_path / "backups"))
    with app.app_context():
        factories.customer()
    result = crm(app, "backup")
    assert result.exit_code == 0, result.output
    path = Path(re.search(r"^Backup written: (\S+) \(", result.output, re.M).group(1))
    assert path.parent == tmp_path / "backups" and path.is_file()
    assert re.fullmatch(r"crmadmin-\d{8}T\d{6}Z\.(sqlite3|dump)", path.name)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert HEAD_LINE.search(result.output).group(1) == crm(app, "audit", "head").output.strip()
    with app.app_context():
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.session.remove()
    assert f"Database revision: {revision}" in result.output
    size = path.stat().st_size
    again = crm(app, "backup", "--output", path)
    assert again.exit_code == 1 and "never overwrites" in again.output
    assert path.stat().st_size == size and list(path.parent.iterdir()) == [path]


def test_a_database_in_memory_or_of_another_kind_is_refused_with_a_reason():
    """Is a database we cannot back up consistently refused, saying why, rather than half backed up?"""
    with pytest.raises(BackupError, match="only SQLite and PostgreSQL are supported"):
        dialect_of("mysql+pymysql://crm:secret@db/crm")
    in_memory = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://")
    result = crm(in_memory, "backup")
    assert result.exit_code == 1 and "in memory" in result.output


def test_the_postgresql_password_travels_in_the_environment_not_on_the_command_line():
    """Could `ps` show the database password while pg_dump runs?"""
    conninfo, env = libpq(make_url("postgresql+psycopg://crm:p%40ss%20word@db.example:5433/crm?sslmode=require"))
    assert "p@ss" not in conninfo and env == {"PGPASSWORD": "p@ss word"}
    assert conninfo == "host='db.example' port='5433' user='crm' dbname='crm' sslmode='require'"
    assert libpq(make_url("postgresql://crm@/crm?host=/run/postgresql"))[0] == \
        "host='/run/postgresql' user='crm' dbname='crm'"
