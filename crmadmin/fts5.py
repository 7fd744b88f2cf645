"""SQLite FTS5 tables kept in step with a table by triggers: the trigram search and the index of pieces share them."""


def trigger_ddl(fts: str, table_name: str, names: str, add: str, remove: str) -> list[str]:
    """The triggers that run `add` (new row) and `remove` (old row) as `table_name`'s rows come, go and change."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table_name} BEGIN {add} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table_name} BEGIN {remove} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {names} ON {table_name} BEGIN {remove} {add} END",
    ]


def drop(conn, fts: str) -> None:
    """The table and its triggers."""
    for suffix in ("insert", "delete", "update"):
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")
