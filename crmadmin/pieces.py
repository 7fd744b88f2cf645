"""An index of every one- and two-character piece of the customers' searched fields: the words a trigram index cannot
answer (a Chinese name is two or three characters: 吴军, or a rare surname alone, read all million customers, 1.4 s).

PostgreSQL: a GIN index over an immutable function that cuts the fields into their pieces. SQLite: a contentless FTS5
table of the pieces written as hex (its tokenizers would split pieces such as "@g"), kept in step by triggers that cut
the fields with a table of numbers (a trigger cannot use a recursive CTE). Both lower the fields as their LIKE does, so
a piece is found exactly where a plain substring match finds it. Like the trigram indexes, none of it is in the models
(`search.is_search_object`); an Alembic batch migration that rebuilds `customer` on SQLite drops the triggers: run
`create(conn)` after it.
"""
from sqlalchemy import Text, bindparam, column, func, select, table
from sqlalchemy.dialects.postgresql import ARRAY, array

INDEXED = {"customer": ("name", "mobile", "email", "company_name")}
NUMBERS = "search_numbers"  # 1..NUMBERS_UP_TO, to cut a field of up to that many characters on SQLite
NUMBERS_UP_TO = 1024  # the longest field indexed holds 254 (a test holds the models to it)
FUNCTION = "crm_search_pieces"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fts(table_name: str) -> str:
    return f"search_{table_name}_pieces"


def _gin(table_name: str) -> str:
    return f"ix_search_{table_name}_pieces"


def covers(table_name: str, columns) -> bool:
    """Whether the pieces of every one of `columns` are indexed."""
    return set(columns) <= set(INDEXED.get(table_name, ()))


def rows_holding(rows, terms):
    """PostgreSQL: `rows` (a table with its indexed columns) hold each of `terms` (one or two characters) among their
    fields' pieces: exactly where an ILIKE on all those fields matches (PostgreSQL's ILIKE compares lower() too)."""
    pieces = getattr(func, FUNCTION)(*(rows.c[name] for name in INDEXED[rows.name]), type_=ARRAY(Text))
    return pieces.contains(array([func.lower(bindparam(None, term, Text)) for term in terms]))


def matching_rowids(table_name: str, columns, terms):
    """SQLite: a select of the ids of the rows where each of `terms` (one or two characters) is in one of `columns`."""
    fts = table(_fts(table_name), column("rowid"), column(_fts(table_name)))
    wanted = " ".join(columns)
    tokens = (term.translate(_ASCII_LOWER).encode().hex() for term in terms)  # SQLite's lower() is ASCII's
    return select(fts.c.rowid).where(fts.c[_fts(table_name)].match(
        " AND ".join(f'{{{wanted}}} : "{token}"' for token in tokens)))


def _cut_sql(value: str) -> str:
    """SQLite: the hex of every piece of `value`, lowered as LIKE lowers, space-separated (NULL for NULL)."""
    low = f"lower({value})"
    return (f"(SELECT group_concat(hex(substr({low}, n, 1)) || ' ' || hex(substr({low}, n, 2)), ' ') "
            f"FROM {NUMBERS} WHERE n <= length({value}))")


def _sqlite_ddl(table_name: str, columns) -> list[str]:
    fts, names = _fts(table_name), ", ".join(columns)
    new = ", ".join(_cut_sql(f"new.{c}") for c in columns)
    old = ", ".join(_cut_sql(f"old.{c}") for c in columns)
    every = ", ".join(_cut_sql(f"{table_name}.{c}") for c in columns)
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    return [
        f"CREATE TABLE IF NOT EXISTS {NUMBERS} (n INTEGER PRIMARY KEY)",
        f"INSERT OR IGNORE INTO {NUMBERS}(n) WITH RECURSIVE up(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM up "
        f"WHERE n < {NUMBERS_UP_TO}) SELECT n FROM up",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, content='', detail='column', tokenize='ascii')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table_name} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table_name} BEGIN {remove} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {names} ON {table_name} BEGIN {remove} {add} END",
        f"INSERT INTO {fts}({fts}) VALUES ('delete-all')",  # a contentless table cannot 'rebuild': filled afresh
        f"INSERT INTO {fts}(rowid, {names}) SELECT id, {every} FROM {table_name}",
    ]


def _postgresql_ddl(table_name: str, columns) -> list[str]:
    fields = ", ".join(columns)
    return [
        f"CREATE OR REPLACE FUNCTION {FUNCTION}(VARIADIC fields text[]) RETURNS text[] "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
        "SELECT coalesce(array_agg(DISTINCT substr(field, i, size)), '{}') FROM unnest(fields) AS raw, "
        "lower(raw) AS field, generate_series(1, length(field)) AS i, (VALUES (1), (2)) AS sizes(size) $$",
        f"CREATE INDEX IF NOT EXISTS {_gin(table_name)} ON {table_name} USING gin ({FUNCTION}({fields}))",
    ]


def create(conn, indexed: dict = INDEXED) -> None:
    """Build the index of pieces from the rows there are (idempotent); the migration and bulk loads call it."""
    for table_name, columns in indexed.items():
        ddl = {"sqlite": _sqlite_ddl, "postgresql": _postgresql_ddl}.get(conn.dialect.name)
        for statement in ddl(table_name, columns) if ddl else ():
            conn.exec_driver_sql(statement)


def drop(conn, indexed: dict = INDEXED) -> None:
    """Remove the index of pieces: before a bulk load, which `create` follows (one build instead of a row at a time)."""
    for table_name in indexed:
        if conn.dialect.name == "sqlite":
            fts = _fts(table_name)
            for suffix in ("insert", "delete", "update"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {NUMBERS}")
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_gin(table_name)}")
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {FUNCTION}(text[])")
