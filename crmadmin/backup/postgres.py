"""PostgreSQL: `pg_dump --format=custom` from a snapshot we export, `pg_restore` in one transaction.

The dump reads the snapshot of our own REPEATABLE READ transaction (`--snapshot`), so the revision and log head we
print are those of the file. The password travels in PGPASSWORD, never on a command line that `ps` shows.

`pg_restore --clean --if-exists` drops and recreates each object the dump holds, alembic_version included: the
database gets the backup's revision. Extensions are left out of that: dropping pg_trgm needs its owner (often a
superuser, not the panel's role) and would take with it any index the backup does not know; they are created
beforehand if missing instead. Tables the backup does not hold (a newer migration's) would block the drops, so the
restore refuses them up front, as it refuses other sessions on the database, whose locks it would wait behind.
"""
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import exc, text
from sqlalchemy.engine import URL, Engine

from . import REQUIRED_TABLES, BackupError, read_state, sqlalchemy_scalar

TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) (\S+) ", re.M)
EXTENSION = re.compile(r"^\d+; \d+ \d+ EXTENSION - (\S+)", re.M)
EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ (EXTENSION|COMMENT - EXTENSION) ")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The libpq connection string of a SQLAlchemy URL, without the password, and the environment carrying it."""
    params = {"host": url.host, "port": url.port and str(url.port), "user": url.username, "dbname": url.database}
    password = url.password
    for key, value in url.query.items():
        value = ",".join(value) if isinstance(value, tuple) else value
        if key == "password":
            password = value
        else:
            params[key] = value
    conninfo = " ".join(f"{key}={_quote(value)}" for key, value in params.items() if value)
    return conninfo, ({"PGPASSWORD": str(password)} if password else {})


def _tool(name: str, pg_bin: str | None) -> str:
    path = str(Path(pg_bin) / name) if pg_bin else shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        raise BackupError(f"{name} was not found{f' in {pg_bin}' if pg_bin else ''}: install the PostgreSQL client "
                          "of the server's version (postgresql-client), or set CRM_PG_BIN_DIR.")
    return path


def _run(args: list[str], env: dict[str, str], failure: str) -> str:
    result = subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{failure}: {result.stderr.strip()[-2000:]}")
    return result.stdout


def take(engine: Engine, partial: Path, pg_bin: str | None) -> tuple[str | None, str]:
    """Dump the database into `partial` from a snapshot; the revision and head as of that same snapshot."""
    pg_dump = _tool("pg_dump", pg_bin)
    conninfo, env = libpq(engine.url)
    with _connect(engine) as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar()
        revision, head = read_state(sqlalchemy_scalar(connection))
        # the exported snapshot lives as long as this transaction: pg_dump must start while it is open
        _run([pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={partial}",
              f"--dbname={conninfo}"], env, "pg_dump failed; no backup was written")
        connection.rollback()
    return revision, head


def _toc(path: Path, pg_bin: str | None) -> str:
    return _run([_tool("pg_restore", pg_bin), "--list", str(path)], {},
                f"{path} is not a readable pg_dump archive")


def check(path: Path, pg_bin: str | None) -> None:
    """The archive's table of contents reads, and it holds crmadmin's tables."""
    tables = {name for schema, name in TABLE.findall(_toc(path, pg_bin))}
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        raise BackupError(f"{path} is a pg_dump archive but not a crmadmin backup (no {', '.join(missing)} table).")


def _connect(engine: Engine):
    try:
        return engine.connect()
    except exc.OperationalError as error:
        raise BackupError(f"Cannot connect to the database: {str(error.orig).strip()}") from None


def _prepare(engine: Engine, toc: str) -> list[str]:
    """Refuse what would make the restore fail or hang; create the extensions the backup uses but leaves out."""
    notes = []
    with _connect(engine) as connection:
        others = connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'")).scalar()
        if others:
            raise BackupError(f"{others} other session(s) are connected to this database: stop the panel (and any "
                              "other client) first; the restore would wait behind their locks. Nothing was changed.")
        present = set(connection.execute(text(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")).tuples())
        extra = sorted(f"{schema}.{name}" for schema, name in present - set(TABLE.findall(toc)))
        if extra:
            raise BackupError(f"The database has tables the backup does not: {', '.join(extra)} (a newer schema?). "
                              "Restore into an empty database, or drop those tables first. Nothing was changed.")
        for name in EXTENSION.findall(toc):
            if not NAME.match(name):
                raise BackupError(f"The backup names an unexpected extension {name!r}.")
            if connection.execute(text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": name}).first():
                continue
            try:
                connection.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{name}"'))
                connection.commit()
            except exc.DBAPIError as error:
                raise BackupError(f"The backup needs the {name} extension, which this role may not create "
                                  f"({str(error.orig).strip()}): have a superuser run CREATE EXTENSION {name} "
                                  "in this database. Nothing was changed.") from None
            notes.append(f"Created the {name} extension the backup uses.")
    return notes


def restore(engine: Engine, path: Path, pg_bin: str | None) -> list[str]:
    """pg_restore the archive over the configured database in a single transaction: all of it, or nothing."""
    pg_restore = _tool("pg_restore", pg_bin)
    toc = _toc(path, pg_bin)
    notes = _prepare(engine, toc)
    conninfo, env = libpq(engine.url)
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as listing:
        # every entry but the extensions, in the archive's order (';' comments a line out)
        listing.writelines(f";{line}\n" if EXTENSION_ENTRY.match(line) else f"{line}\n" for line in toc.splitlines())
    try:
        _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
              "--no-password", f"--use-list={listing.name}", f"--dbname={conninfo}", str(path)], env,
             "pg_restore failed and rolled back; the database is as it was")
    finally:
        os.unlink(listing.name)
    with engine.connect() as connection:
        # pg_restore brings rows, not the planner's statistics: without them the first queries plan blindly
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return notes + ["Planner statistics refreshed (ANALYZE)."]
