"""SQLite: copies through the online backup API, whole in one step, so each copy is one snapshot.

Stepping page by page would restart whenever another process writes and could chase a busy panel forever; one step
holds a read transaction for the copy, which WAL lets writers work beside. A restore copies into the live file
through the same API, inside one write transaction: never a file swap, which would leave the old database's
-wal file to be replayed over the new one.
"""
import sqlite3
from pathlib import Path
from urllib.parse import quote

from . import REQUIRED_TABLES, BackupError, read_state

BUSY_MS = 30_000  # how long to wait for a writer's lock before giving up


def _connect(path, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    else:
        connection = sqlite3.connect(str(path))
    connection.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return connection


def _integrity(connection: sqlite3.Connection, what: str) -> None:
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{what} failed SQLite's integrity check: {'; '.join(problems[:5])}")


def _scalar(connection: sqlite3.Connection):
    return lambda sql: (connection.execute(sql).fetchone() or (None,))[0]


def take(database: str, partial: Path) -> tuple[str | None, str]:
    """Copy the database file into `partial` (created empty, 0600) and check the copy; revision and log head."""
    if not Path(database).is_file():
        raise BackupError(f"The database file {database} does not exist.")
    source, copy = _connect(database), _connect(partial)
    try:
        source.backup(copy)  # pages=-1: all in one step, under one read transaction
        # one self-contained file: the copy carries the source's WAL flag, which would need -wal/-shm files beside it
        copy.execute("PRAGMA journal_mode=DELETE")
        _integrity(copy, "The copy")
        return read_state(_scalar(copy))
    finally:
        copy.close()
        source.close()


def check(path: Path) -> None:
    """The file opens as a sound SQLite database holding crmadmin's tables."""
    try:
        connection = _connect(path, read_only=True)
    except sqlite3.Error as error:
        raise BackupError(f"{path} cannot be opened as a SQLite database: {error}.") from None
    try:
        _integrity(connection, str(path))
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as error:
        raise BackupError(f"{path} is not a readable SQLite database: {error}.") from None
    finally:
        connection.close()
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        raise BackupError(f"{path} is a SQLite database but not a crmadmin backup (no {', '.join(missing)} table).")


def restore(path: Path, database: str) -> list[str]:
    """Copy the backup over the configured database file in one write transaction; readers see old or new."""
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    source, target = _connect(path, read_only=True), _connect(database)
    try:
        try:
            source.backup(target)
        except sqlite3.Error as error:
            raise BackupError(f"Could not write {database}: {error}. Is the panel still running? Stop it first.") \
                from None
        _integrity(target, "The restored database")
    finally:
        target.close()
        source.close()
    return []
