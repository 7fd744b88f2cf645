"""An import's created customers written with Core inserts, beside the session's unit of work: the one, explicit
exception to "every write goes through the session and its listeners" (crmadmin/audit/recorder.py).

Why an exception: an import creates up to 100,000 customers in one transaction, and the ORM's per-object work
(building objects, the unit of work, each listener walking the flush's objects and their attribute history) is
bookkeeping a row that is only being created does not need. Its log entry, match keys and standing depend only on its
own values, so the import writes them itself, in the same transaction, by the functions those listeners call (one
definition of each): recorder.created_entries and append for the log (same entries, same chain, the run's batch),
matching.keys_for and store, maintain.refresh_customers. The search index follows from the database itself (SQLite's
FTS5 triggers, PostgreSQL's trigram indexes). Updates, the other kinds and every ordinary save still go through the
session and its listeners; tests/test_import_bulk.py holds both paths to the same result.
"""
from itertools import groupby

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from .. import matching
from ..audit.recorder import append, created_entries
from ..models import Customer
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


def create(connection: Connection, kind: str, records: list[dict], ids) -> None:
    """Insert new records of `kind` (a key of MODELS) with their reserved ids, and what the flush listeners would
    add for them: log entries, match keys, standing."""
    model = MODELS[kind]
    table = model.__table__
    unknown = set().union(*records) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"not columns of {table.name}: {sorted(unknown)}")
    rows = [_as_inserted(table, {**record, "id": record_id}) for record_id, record in zip(ids, records)]
    for _names, same in groupby(rows, key=lambda row: tuple(row)):  # one executemany per set of columns given
        connection.execute(insert(table), list(same))
    append(connection, created_entries(model, rows))
    code = matching.region()
    matching.store(connection, [matching.keys_for(row["id"], row.get("name"), row.get("mobile"), row.get("email"),
                                                  row.get("company_name"), row.get("address"), code) for row in rows])
    refresh_customers(connection, [row["id"] for row in rows], created=True)
