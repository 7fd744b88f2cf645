"""Bulk steps (seed-demo, refresh-stats, a large import) leave the tables they filled with planner statistics."""
from sqlalchemy import insert, text

from crmadmin import planner
from crmadmin.extensions import db
from crmadmin.models import (Customer, CustomerMatch, CustomerStanding, Interaction, RevenueMonth, StandingChange,
                             Transaction, utcnow)
from tests.imports import csv_bytes, import_file

FILLED_BY_DEMO = (Customer, Transaction, Interaction, CustomerStanding, StandingChange, CustomerMatch, RevenueMonth)


def _forget_statistics(models) -> None:
    """As after a load where autovacuum is off or behind: the planner knows nothing of these tables."""
    with db.engine.begin() as conn:
        for model in models:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_stat_reset_single_table_counters(CAST(:t AS regclass))"),
                             {"t": f'"{model.__tablename__}"'})
            elif conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
                conn.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = :t"), {"t": model.__tablename__})
    with db.engine.connect() as conn:
        assert not any(planner.has_statistics(conn, m.__table__) for m in models)


def _without_statistics(models) -> list[str]:
    with db.engine.connect() as conn:
        return [m.__tablename__ for m in models if not planner.has_statistics(conn, m.__table__)]


def test_seed_demo_analyzes_every_table_it_filled_the_standing_and_match_keys_included(app, app_ctx):
    """After seed-demo, has the planner statistics of the tables filled last (standing, match keys, history)?"""
    _forget_statistics(FILLED_BY_DEMO)
    result = app.test_cli_runner().invoke(args=["crm", "seed-demo", "--customers", "60"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert _without_statistics(FILLED_BY_DEMO) == []


def test_refresh_stats_analyzes_the_standing_and_keys_of_customers_loaded_in_bulk(app, app_ctx):
    """Customers loaded by SQL outside the panel: does refresh-stats leave their standing and keys analyzed?"""
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(insert(Customer.__table__), [
            {"name": f"批量客户{i}", "kind": "person", "mobile": f"+86138{i:08d}", "version": 1,
             "created_at": now, "updated_at": now} for i in range(40)])
    _forget_statistics((CustomerStanding, StandingChange, CustomerMatch))
    result = app.test_cli_runner().invoke(args=["crm", "refresh-stats"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert _without_statistics((CustomerStanding, CustomerMatch)) == []


def test_an_import_into_tables_never_analyzed_analyzes_them(app, login_as, job_worker):
    """Is a large import (here: into tables with no statistics) followed by ANALYZE of what it grew?"""
    client = login_as("administrator")
    with app.app_context():
        _forget_statistics((Customer, CustomerMatch, CustomerStanding))
    rows = [["姓名", "手机"]] + [[f"导入客户{i}", f"139{i:08d}"] for i in range(30)]
    html = import_file(client, "customers", csv_bytes(rows))
    assert "30 created" in html or "新建 30" in html, html[-2000:]
    with app.app_context():
        assert _without_statistics((Customer, CustomerMatch, CustomerStanding)) == []


def test_a_small_addition_to_an_analyzed_table_is_not_analyzed_again(app, app_ctx):
    """Below a tenth of the rows the planner knows, do the statistics stay (autovacuum's own rule)?"""
    now = utcnow()
    rows = [{"name": f"客户{i}", "kind": "person", "version": 1, "created_at": now, "updated_at": now}
            for i in range(200)]
    with db.engine.begin() as conn:
        conn.execute(insert(Customer.__table__), rows)
        planner.analyze(conn, [Customer])
    with db.engine.begin() as conn:
        assert planner.analyze_grown(conn, {Customer: 19}) == []
        assert planner.analyze_grown(conn, {Customer: 20}) == ["customer"]
        assert planner.analyze_grown(conn, {Customer: 0, CustomerMatch: None}) == []
