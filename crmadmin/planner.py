"""Planner statistics after bulk writes: the last step of every bulk step analyzes the tables it filled.

Autovacuum may be off, behind, or (on SQLite) absent; a table filled in bulk and never analyzed is then
misjudged by the planner many times over (docs/PERFORMANCE.md). Imports nothing of crmadmin.
"""
from sqlalchemy import Table, text
from sqlalchemy.engine import Connection

# A table that grew by this share of the rows the planner believes it has is analyzed again (autovacuum's own
# analyze_scale_factor); below it the old statistics still describe the table.
GROWTH_SHARE = 0.1


def analyze(connection: Connection, tables) -> None:
    """ANALYZE each table now, in the connection's transaction (both databases allow it there)."""
    for table in _unique(tables):
        connection.execute(text(f'ANALYZE "{table.name}"'))


def analyze_grown(connection: Connection, added: dict) -> list[str]:
    """ANALYZE the tables (table or model -> rows just added) never analyzed or grown by GROWTH_SHARE; their names."""
    grown = []
    for table, rows in added.items():
        table = getattr(table, "__table__", table)  # a model or its table
        if rows:
            known = known_rows(connection, table)
            if known is None or rows >= GROWTH_SHARE * known:
                grown.append(table)
    analyze(connection, grown)
    return [table.name for table in _unique(grown)]


def has_statistics(connection: Connection, table: Table) -> bool:
    """Whether the planner has ever analyzed the table (what the tests of the bulk steps ask)."""
    return known_rows(connection, table) is not None


def known_rows(connection: Connection, table: Table) -> float | None:
    """The rows the planner's statistics give the table, or None when it was never analyzed."""
    if connection.dialect.name == "postgresql":
        # CREATE INDEX sets reltuples too, without statistics: only an ANALYZE counts
        return connection.execute(text(
            "SELECT CASE WHEN s.last_analyze IS NULL AND s.last_autoanalyze IS NULL THEN NULL "
            "ELSE greatest(c.reltuples, 0) END "
            "FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = CAST(:name AS regclass)"),
            {"name": f'"{table.name}"'}).scalar()
    if connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first() is None:
        return None  # no table was ever analyzed
    stat = connection.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = :name LIMIT 1"),
                              {"name": table.name}).scalar()
    return float(stat.split()[0]) if stat else None


def _unique(tables):
    seen = set()
    for table in tables:
        table = getattr(table, "__table__", table)
        if table.name not in seen:
            seen.add(table.name)
            yield table
