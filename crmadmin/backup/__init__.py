"""Backups of the whole database while the panel runs, and bringing one back (`flask crm backup` / `restore`).

SQLite is copied with its online backup API in one step, under one read transaction: a snapshot that writers in
other processes do not wait for (WAL). PostgreSQL is dumped by `pg_dump --format=custom`, which reads one snapshot;
the revision and the operation log's head printed with the backup are read in that same snapshot. Restoring checks
that the file is a backup of this kind of database, made by crmadmin, before it touches anything, and replaces the
database in one transaction. Nothing here writes the operation log: a backup reads, a restore brings back a log.
"""
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine, make_url

from ..audit.chain import GENESIS

SUPPORTED = ("sqlite", "postgresql")
SUFFIX = {"sqlite": ".sqlite3", "postgresql": ".dump"}
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# The tables every crmadmin database has: a file without them is not a backup of this panel.
REQUIRED_TABLES = ("alembic_version", "audit_entry")


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why and what to do, and nothing was replaced."""


@dataclass
class Taken:
    path: Path
    size: int
    revision: str | None
    head: str


@dataclass
class Restored:
    revision: str | None
    notes: list[str]


def dialect_of(url: str | URL) -> str:
    """The database kind behind a SQLAlchemy URL, refused unless we know how to back it up consistently."""
    url = make_url(url)
    name = url.get_backend_name()
    if name not in SUPPORTED:
        raise BackupError(f"Cannot back up or restore a {name} database: only SQLite and PostgreSQL are supported.")
    if name == "sqlite" and url.database in (None, "", ":memory:"):
        raise BackupError("The database is in memory: there is no file to back up or restore.")
    return name


def file_kind(path: Path) -> str | None:
    """'sqlite' or 'postgresql' from the file's first bytes (its name proves nothing), None for anything else."""
    with open(path, "rb") as stream:
        start = stream.read(len(SQLITE_MAGIC))
    if start == SQLITE_MAGIC:
        return "sqlite"
    if start.startswith(PGDUMP_MAGIC):
        return "postgresql"
    return None


def default_path(directory: Path, dialect: str, now: datetime | None = None) -> Path:
    """crmadmin-20261124T054334Z.sqlite3: the UTC time sorts the files and tells when each was taken."""
    now = now or datetime.now(timezone.utc)
    return directory / f"crmadmin-{now.strftime('%Y%m%dT%H%M%SZ')}{SUFFIX[dialect]}"


def read_state(scalar) -> tuple[str | None, str]:
    """The Alembic revision and the operation log's head hash (as `flask crm audit head`); scalar(sql) -> value."""
    revision = scalar("SELECT version_num FROM alembic_version")
    head = scalar("SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1")
    return revision, head or GENESIS


def sqlalchemy_scalar(connection):
    return lambda sql: connection.execute(text(sql)).scalar()


def take(engine: Engine, output: Path | None, directory: Path, pg_bin: str | None = None) -> Taken:
    """Write a consistent backup of the engine's database to `output` (or a new timestamped file in `directory`)."""
    dialect = dialect_of(engine.url)
    if output is None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        output = default_path(directory, dialect)
    output = Path(output).resolve()
    if output.exists():
        raise BackupError(f"{output} exists already; a backup never overwrites a file. Choose another name.")
    if not output.parent.is_dir():
        raise BackupError(f"The folder {output.parent} does not exist.")
    partial = output.with_name(output.name + ".partial")
    # created private before anything is written into it: a backup holds every customer's personal data
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        if dialect == "sqlite":
            from . import sqlite

            revision, head = sqlite.take(engine.url.database, partial)
        else:
            from . import postgres

            revision, head = postgres.take(engine, partial, pg_bin)
        os.chmod(partial, 0o600)
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Taken(output, output.stat().st_size, revision, head)


def check(engine: Engine, path: Path, pg_bin: str | None = None) -> None:
    """Refuse a file that is not a crmadmin backup for this kind of database, before anything is touched."""
    dialect = dialect_of(engine.url)
    kind = file_kind(path)
    if kind is None:
        raise BackupError(f"{path} is not a backup: it is neither a SQLite database nor a pg_dump custom-format file.")
    if kind != dialect:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(f"{path} is a {names[kind]} backup, but the configured database is {names[dialect]}.")
    if dialect == "sqlite":
        from . import sqlite

        sqlite.check(path)
    else:
        from . import postgres

        postgres.check(path, pg_bin)


def restore(engine: Engine, path: Path, pg_bin: str | None = None) -> Restored:
    """Replace the engine's database with the backup in `path`, in one transaction; `check` it first."""
    check(engine, path, pg_bin)
    engine.dispose()  # our own pooled connections must not hold locks or a stale schema across the swap
    if dialect_of(engine.url) == "sqlite":
        from . import sqlite

        notes = sqlite.restore(path, engine.url.database)
    else:
        from . import postgres

        notes = postgres.restore(engine, path, pg_bin)
    with engine.connect() as connection:
        revision, _ = read_state(sqlalchemy_scalar(connection))
    return Restored(revision, notes)


def revision_advice(revision: str | None, heads: tuple[str, ...], known: set[str]) -> str:
    """What the operator must do about the restored schema revision, compared with the code's."""
    if revision in heads:
        return f"Database revision: {revision} (the code's head)."
    if revision in known:
        return (f"Database revision: {revision}, older than the code's head {', '.join(heads)}: "
                "run `flask db upgrade` before starting the panel.")
    return (f"Database revision: {revision}, unknown to this code (written by a newer version?): "
            "run the version of crmadmin that made the backup.")
