"""An index of the one- and two-character pieces of the customers' searched fields and the contacts' summaries: the
words a trigram index cannot answer. A Chinese name is two or three characters, and a two-character word is the
natural search of a Chinese summary (退款, "refund"): such a search read every row, 1.1 to 2.2 s at a million
customers, 5.5 s over three million summaries.

PostgreSQL: a GIN index over an immutable function that cuts the fields into their pieces. SQLite: a contentless FTS5
table of the pieces written as hex (its tokenizers would split pieces such as "@g"), kept in step by triggers that cut
the fields with a table of numbers (a trigger cannot use a recursive CTE). Both lower the fields as their LIKE does, so
a piece is found exactly where a plain substring match finds it. Like the trigram indexes, none of it is in the models
(`search.is_search_object`); an Alembic batch migration that rebuilds an indexed table on SQLite drops the triggers:
run `create(conn)` after it.
"""
from sqlalchemy import Text, bindparam, column, func, select, table
from sqlalchemy.dialects.postgresql import ARRAY, array

from . import fts5

INDEXED = {"customer": ("name", "mobile", "email", "company_name", "address"), "interaction": ("summary",)}
NUMBERS = "search_numbers"  # 1..NUMBERS_UP_TO, to cut a field of up to that many characters on SQLite
NUMBERS_UP_TO = 65536  # the forms take a summary of up to 5,000 characters (a test holds them to it)
FUNCTION = "crm_search_pieces"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fts(table_name: str) -> str:
    return f"search_{table_name}_pieces"


def _gin(table_name: str) -> str:
    return f"ix_search_{table_name}_pieces"


def covers(table_name: str, columns, terms) -> bool:
    """Whether the index holds `terms` (each of one or two characters) in every one of `columns`. A single ASCII
    character is not kept (a search for "a" or "7" finds most rows anyway): it would double the index's entries."""
    return (set(columns) <= set(INDEXED.get(table_name, ()))
            and all(len(term) == 2 or not term.lower().isascii() for term in terms))  # the Kelvin sign lowers to k


def rows_holding(rows, terms):
    """PostgreSQL: `rows` (a table with its indexed columns) hold each of `terms` (one or two characters) among their
    fields' pieces: exactly where an ILIKE on all those fields matches (PostgreSQL's ILIKE compares lower() too)."""
    pieces = getattr(func, FUNCTION)(*(rows.c[name] for name in INDEXED[rows.name]), type_=ARRAY(Text))
    return pieces.contains(array([func.lower(bindparam(None, term, Text)) for term in terms]))


def matching_rowids(table_name: str, columns, terms):
    """SQLite: a select of the ids of the rows where each of `terms` is in one of `columns`: exactly for a term of one
    or two characters; a longer one as the pieces that cover it (every other pair and the last), which rows holding it
    hold too, so those rows must be checked for it. FTS5 intersects the pieces' entries itself, where a trigram match
    of the longer word beside them gathered all its rows first (科技 有限公司: 360,000 ids, 600 ms)."""
    fts = table(_fts(table_name), column("rowid"), column(_fts(table_name)))
    wanted = " ".join(columns)
    tokens = {piece.translate(_ASCII_LOWER).encode().hex()  # SQLite's lower() is ASCII's
              for term in terms for piece in _covering(term)}
    return select(fts.c.rowid).where(fts.c[_fts(table_name)].match(
        " AND ".join(f'{{{wanted}}} : "{token}"' for token in sorted(tokens))))


def _covering(term: str) -> list[str]:
    """The fewest pieces that take in every character of `term`: each one more is another entry list to intersect."""
    if len(term) <= 2:
        return [term]
    return [term[i:i + 2] for i in range(0, len(term) - 2, 2)] + [term[-2:]]


def _cut_sql(value: str) -> str:
    """SQLite: the hex of every piece of `value`, lowered as LIKE lowers, space-separated (NULL for NULL)."""
    low = f"lower({value})"
    return (f"(SELECT group_concat(CASE WHEN unicode(substr({low}, n, 1)) > 127 THEN hex(substr({low}, n, 1)) "
            f"ELSE '' END || ' ' || CASE WHEN n < length({value}) THEN hex(substr({low}, n, 2)) ELSE '' END, ' ') "
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
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, content='', detail='column', columnsize=0, "
        "tokenize='ascii')",
        *fts5.trigger_ddl(fts, table_name, names, add, remove),
        f"INSERT INTO {fts}({fts}) VALUES ('delete-all')",  # a contentless table cannot 'rebuild': filled afresh
        f"INSERT INTO {fts}(rowid, {names}) SELECT id, {every} FROM {table_name}",
    ]


def _postgresql_ddl(table_name: str, columns) -> list[str]:
    fields = ", ".join(columns)
    return [
        f"CREATE OR REPLACE FUNCTION {FUNCTION}(VARIADIC fields text[]) RETURNS text[] "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
        "SELECT ARRAY(SELECT substr(field, i, size) FROM unnest(fields) AS raw, lower(raw) AS field, "
        "generate_series(1, length(field)) AS i, (VALUES (1), (2)) AS sizes(size) "
        "WHERE size = 2 AND i < length(field) OR size = 1 AND ascii(substr(field, i, 1)) > 127) $$",  # GIN drops twins
        f"CREATE INDEX IF NOT EXISTS {_gin(table_name)} ON {table_name} USING gin ({FUNCTION}({fields}))",
    ]


def create(conn, indexed: dict = INDEXED) -> None:
    """Build the index of pieces from the rows there are (idempotent); the migration and bulk loads call it."""
    for table_name, columns in indexed.items():
        ddl = {"sqlite": _sqlite_ddl, "postgresql": _postgresql_ddl}.get(conn.dialect.name)
        for statement in ddl(table_name, columns) if ddl else ():
            conn.exec_driver_sql(statement)


def drop(conn, indexed: dict = INDEXED) -> None:
    """Remove the index of pieces: before a bulk load, which `create` follows (one build instead of a row at a time).
    The numbers (SQLite) and the function (PostgreSQL) go with the last table's."""
    for table_name in indexed:
        if conn.dialect.name == "sqlite":
            fts5.drop(conn, _fts(table_name))
        elif conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_gin(table_name)}")
    if conn.dialect.name == "sqlite" and not conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name GLOB 'search_*_pieces'").first():
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {NUMBERS}")
    if conn.dialect.name == "postgresql" and not conn.exec_driver_sql(
            "SELECT 1 FROM pg_indexes WHERE indexname ~ '^ix_search_.*_pieces$'").first():
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {FUNCTION}(text[])")
