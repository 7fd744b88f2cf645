"""An import's created customers written with Core inserts, beside the session's unit of work: the one, explicit
exception to "every write goes through the session and its listeners" (crmadmin/audit/recorder.py).

Why an exception: an import creates up to 100,000 customers in one transaction, and the ORM's per-object work
(building objects, the unit of work, each listener walking the flush's objects and their attribute history) is
bookkeeping a row that is only being created does not need. Its log entry, match keys and standing depend only on its
own values, so the import writes them itself, in the same transaction, by the functions those listeners call (one
definition of each): recorder.created_entries, chain_head and chained for the log (same entries, same chain, the
run's batch), matching.keys_for, maintain.refresh_customers; the rows go in by crmadmin/bulk_insert.py (COPY, or one
statement per chunk). The search index follows from the database itself (SQLite's FTS5 triggers, PostgreSQL's
trigram indexes). Updates, the other kinds and every ordinary save still go through the
session and its listeners; tests/test_import_bulk.py holds both paths to the same result.
"""
import contextvars
from concurrent.futures import ThreadPoolExecutor, wait

from sqlalchemy.engine import Connection

from .. import matching
from ..audit.recorder import chain_head, chained, created_entries
from ..bulk_insert import insert_rows
from ..models import AuditEntry, Customer
from ..standing.maintain import refresh_customers

MODELS = {"customers": Customer}  # the kinds whose created rows take this path


def _as_inserted(table, record: dict) -> dict:
    """The row the ORM would insert and then hold in the object's state.dict: the given values, and the Python-side
    default of each column not given (SQL-side defaults stay the database's, as with the ORM)."""
    row = dict(record)
    for column in table.columns:
        default = column.default
        if column.key in row or default is None:
            continue
        if default.is_scalar:
            row[column.key] = default.arg
        elif default.is_callable:
            row[column.key] = default.arg(None)  # SQLAlchemy's wrapper of a no-argument callable ignores its context
    return row


class Creator:
    """Writes new records of `kind` (a key of MODELS) chunk by chunk with their reserved ids, and what the flush
    listeners would add for them: log entries, match keys, standing.

    A chunk's writes run on the import's connection in a thread of their own while the caller's thread prepares the
    next chunk: hashing the log entries is most of an import's Python time and the writes most of the database's,
    so on two cores they overlap. One chunk is in flight at a time and the caller's thread does not touch the
    connection meanwhile; a write's error is raised by the next `add` or by `finish`. Use as a context manager:
    leaving it waits for the chunk in flight, so a rollback never meets a statement still running."""

    def __init__(self, connection: Connection, kind: str):
        self.connection, self.model = connection, MODELS[kind]
        self.previous = chain_head(connection)  # on PostgreSQL the chain is ours from here until the commit
        self.region = matching.region()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        self._in_flight, self._in_flight_rows = None, 0

    def add(self, records: list[dict], ids) -> int:
        """Prepare these records and hand them to the writer; how many rows of the chunk before are now stored."""
        table = self.model.__table__
        unknown = set().union(*records) - set(table.columns.keys())
        if unknown:
            raise ValueError(f"not columns of {table.name}: {sorted(unknown)}")
        rows = [_as_inserted(table, {**record, "id": record_id}) for record_id, record in zip(ids, records)]
        entries, self.previous = chained(created_entries(self.model, rows), self.previous)
        keys = [matching.keys_for(row["id"], row.get("name"), row.get("mobile"), row.get("email"),
                                  row.get("company_name"), row.get("address"), self.region) for row in rows]
        stored = self.finish()
        # the writer sees this thread's context (the app, the actor), as the caller's own statements would
        self._in_flight = self._writer.submit(contextvars.copy_context().run, self._write, rows, entries, keys)
        self._in_flight_rows = len(rows)
        return stored

    def _write(self, rows: list[dict], entries: list[dict], keys: list[dict]) -> None:
        insert_rows(self.connection, self.model.__table__, rows)
        insert_rows(self.connection, AuditEntry.__table__, entries)
        insert_rows(self.connection, matching.MATCH, keys)  # new customers: no keys of theirs to replace
        refresh_customers(self.connection, [row["id"] for row in rows], created=True)

    def finish(self) -> int:
        """Wait for the chunk in flight (raising its error); how many rows it stored."""
        in_flight, rows = self._in_flight, self._in_flight_rows
        self._in_flight, self._in_flight_rows = None, 0
        if in_flight is not None:
            in_flight.result()
        return rows

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._in_flight is not None:
                wait([self._in_flight])  # its error, if any, is the caller's to see through finish()
        finally:
            self._writer.shutdown(wait=True)
