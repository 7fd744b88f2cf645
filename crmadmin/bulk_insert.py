"""Many new rows into one table at the database's bulk speed: PostgreSQL's COPY, and on SQLite, for a table whose
triggers keep a search index, one INSERT … SELECT from a staging table.

Why: an import writes a hundred thousand customers with their log entries, match keys and standing in one
transaction. As an executemany, PostgreSQL takes each row as a statement of its own, and on SQLite each row's
statement makes FTS5 write its pending terms out as a new index segment (it does so at every statement), which cost
more than the rows themselves (docs/PERFORMANCE.md). Values first go through the columns' own bind processing, as an
executemany would send them, so a row reads back the same by either path (tests/test_bulk_insert.py). Imports nothing
of crmadmin.
"""
from datetime import datetime
from itertools import groupby

from sqlalchemy import DateTime, Table, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

BULK_FROM = 100  # fewer rows go in one executemany: a COPY or a staging table is not worth its setup


def insert_rows(connection: Connection, table: Table, rows: list[dict]) -> None:
    """INSERT these rows (dicts of column keys to values; rows may name different columns) into `table`."""
    for _names, same in groupby(rows, key=lambda row: tuple(row)):  # one statement per set of columns given
        same = list(same)
        if len(same) < BULK_FROM:
            connection.execute(insert(table), same)
        elif connection.dialect.name == "postgresql":
            _copy(connection, table, same)
        elif _index_triggers(connection, table):
            _staged(connection, table, same)
        else:
            _many(connection, table, same)


def _processors(connection: Connection, table: Table, keys) -> list:
    """Each column's bind processor (None where the value goes as it is), refusing an aware time for a naive column:
    COPY would drop its offset where a parameter is converted to the session's zone."""
    processors = []
    for key in keys:
        column_type = table.c[key].type
        processor = column_type._cached_bind_processor(connection.dialect)
        if isinstance(column_type, DateTime) and not column_type.timezone:
            processor = _naive(processor)
        processors.append(processor)
    return processors


def _naive(processor):
    def process(value):
        if isinstance(value, datetime) and value.tzinfo is not None:
            raise ValueError("an aware datetime for a column of naive UTC times")
        return processor(value) if processor else value
    return process


def _values(connection: Connection, table: Table, rows: list[dict]):
    keys = list(rows[0])
    processors = _processors(connection, table, keys)
    if not any(processors):
        return keys, ([row[key] for key in keys] for row in rows)
    return keys, ([value if processor is None else processor(value)
                   for processor, value in zip(processors, (row[key] for key in keys))] for row in rows)


def _copy(connection: Connection, table: Table, rows: list[dict]) -> None:
    """PostgreSQL: COPY … FROM STDIN on the transaction's own connection (psycopg writes each value as its text)."""
    keys, values = _values(connection, table, rows)
    columns = ", ".join(f'"{table.c[key].name}"' for key in keys)
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    driver = connection.dialect.loaded_dbapi
    try:
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(statement) as copy:
                for row in values:
                    copy.write_row(row)
    except driver.Error as error:  # raised as an executemany's would be: the callers tell a refusal by its class
        raise DBAPIError.instance(statement, None, error, driver.Error) from error


def _index_triggers(connection: Connection, table: Table) -> bool:
    """SQLite: whether an INSERT into the table fires a trigger (the search index's)."""
    found = connection.execute(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :name"),
                               {"name": table.name}).scalars()
    return any(" INSERT ON " in " ".join((sql or "").upper().split()) for sql in found)


def _many(connection: Connection, table: Table, rows: list[dict]) -> None:
    """SQLite: one executemany of the processed values, without SQLAlchemy's work per row."""
    keys, values = _values(connection, table, rows)
    columns = ", ".join(f'"{table.c[key].name}"' for key in keys)
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({columns}) VALUES ({", ".join("?" * len(keys))})',
                               [tuple(row) for row in values])


def _staged(connection: Connection, table: Table, rows: list[dict]) -> None:
    """SQLite: the rows into an untyped temporary table (its values kept exactly as given), then into the table in
    one statement, so the table's own column affinities apply as to a direct INSERT and its triggers see one
    statement."""
    keys, values = _values(connection, table, rows)
    names = [table.c[key].name for key in keys]
    stage = f"bulk_{table.name}"
    columns = ", ".join(f'"{name}"' for name in names)
    connection.exec_driver_sql(f'DROP TABLE IF EXISTS temp."{stage}"')
    connection.exec_driver_sql(f'CREATE TEMP TABLE "{stage}" ({columns})')
    connection.exec_driver_sql(f'INSERT INTO temp."{stage}" VALUES ({", ".join("?" * len(names))})',
                               [tuple(row) for row in values])
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM temp."{stage}"')
    connection.exec_driver_sql(f'DROP TABLE temp."{stage}"')
