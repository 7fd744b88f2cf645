"""Rows per second of the Transactions export job against the database's own COPY:
python scripts/export_speed.py --url URL [--seed --customers 1000000 --transactions 10000000] [--limit N]

--seed fills an empty, migrated database set-based (generate_series on PostgreSQL, a recursive CTE on SQLite):
customers and purchases only, without the secondary indexes the export does not read (a scratch database for this
benchmark, not a demo: run `flask db upgrade` on it first). Then, in this process, the export job of the whole
Transactions list (its producer and the CSV writer, progress stored per batch, as a worker runs it, with the
customer's name joined) is timed, and so is the database writing the same rows itself: PostgreSQL's
`COPY (SELECT ... JOIN customer ...) TO STDOUT (FORMAT csv)` read through psycopg and thrown away, SQLite's CLI
`.mode csv` of the same select into /dev/null (and Python's sqlite3 cursor over it). Both in the same run, so their
ratio holds better than the absolute figures on a busy machine; each is also given in rows per CPU second (this
process, its children and the database's backends), which the neighbours disturb less.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

USER = "bench.export"
PASSWORD = "bench export password 12345"
# what the export writes, as the database itself would: the same rows, joined to the customer's name, same order
SELECT = ('SELECT t.id, t.occurred_at, c.name, t.product, t.quantity, t.amount, t.currency, t.channel, t.status, '
          't.campaign_id FROM "transaction" t JOIN customer c ON c.id = t.customer_id '
          'ORDER BY t.occurred_at DESC, t.id DESC')

PG_SEED = """
ALTER TABLE "transaction" DISABLE TRIGGER ALL;
INSERT INTO customer (id, name, kind, mobile, region, version, created_at, updated_at)
SELECT g, '客户' || g, CASE WHEN g % 7 = 0 THEN 'company' ELSE 'person' END,
       '+86138' || lpad((g % 100000000)::text, 8, '0'), (ARRAY['北京', '上海', '广州', '深圳'])[1 + g % 4], 1,
       timestamp '2023-01-01' + g * interval '1 minute', timestamp '2023-01-01' + g * interval '1 minute'
FROM generate_series(1, :customers) g;
INSERT INTO "transaction" (id, customer_id, product, quantity, amount, currency, occurred_at, channel, status,
                           version, created_at, updated_at)
SELECT g, 1 + (g::bigint * 7919) % :customers, '产品 ' || (g % 500), 1 + g % 5, (g % 100000) * 7, 'CNY',
       timestamp '2024-01-01' + g * interval '6 seconds',
       (ARRAY['store', 'online', 'phone', 'sales_rep', 'partner'])[1 + g % 5],
       (ARRAY['pending', 'paid', 'refunded'])[1 + g % 3], 1,
       timestamp '2024-01-01' + g * interval '6 seconds', timestamp '2024-01-01' + g * interval '6 seconds'
FROM generate_series(1, :transactions) g;
ALTER TABLE "transaction" ENABLE TRIGGER ALL;
SELECT setval('customer_id_seq', :customers);
SELECT setval('transaction_id_seq', :transactions);
"""

SQLITE_SEED = """
PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA foreign_keys=OFF;
BEGIN;
INSERT INTO customer (id, name, kind, mobile, region, version, created_at, updated_at)
WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < {customers})
SELECT g, '客户' || g, CASE WHEN g % 7 = 0 THEN 'company' ELSE 'person' END,
       '+86138' || substr('00000000' || (g % 100000000), -8), CASE g % 4 WHEN 0 THEN '北京' WHEN 1 THEN '上海'
       WHEN 2 THEN '广州' ELSE '深圳' END, 1,
       datetime('2023-01-01', '+' || g || ' minutes') || '.000000', datetime('2023-01-01', '+' || g || ' minutes') || '.000000'
FROM n;
INSERT INTO "transaction" (id, customer_id, product, quantity, amount, currency, occurred_at, channel, status,
                           version, created_at, updated_at)
WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < {transactions})
SELECT g, 1 + (g * 7919) % {customers}, '产品 ' || (g % 500), 1 + g % 5, (g % 100000) * 7, 'CNY', t, 
       CASE g % 5 WHEN 0 THEN 'store' WHEN 1 THEN 'online' WHEN 2 THEN 'phone' WHEN 3 THEN 'sales_rep' ELSE 'partner' END,
       CASE g % 3 WHEN 0 THEN 'pending' WHEN 1 THEN 'paid' ELSE 'refunded' END, 1, t, t
FROM (SELECT g, datetime('2024-01-01', '+' || (g * 6) || ' seconds') || '.000000' AS t FROM n);
COMMIT;
"""

# the secondary indexes the export does not read: dropped before the load (the export's order keeps its index)
KEPT = {"ix_transaction_occurred_at"}


def backends_cpu(url: str | None) -> dict:
    """CPU seconds so far of each PostgreSQL backend serving the database (the server is on this machine)."""
    if not url or not url.startswith("postgresql"):
        return {}
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
        pids = [pid for (pid,) in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    ticks, found = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


class CpuClock:
    """CPU seconds spent by this process, its finished children and the database's backends between start and stop:
    a measure the neighbours on a shared machine disturb far less than the wall clock."""

    def __init__(self, url: str | None):
        self.url = url

    def __enter__(self):
        import resource

        self.backends = backends_cpu(self.url)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.started = time.process_time() + children.ru_utime + children.ru_stime
        return self

    def __exit__(self, *exc):
        import resource

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = time.process_time() + children.ru_utime + children.ru_stime - self.started
        after = backends_cpu(self.url)
        self.seconds = own + sum(cpu - self.backends.get(pid, 0.0) for pid, cpu in after.items())


def seed(app, url: str, customers: int, transactions: int) -> None:
    from sqlalchemy import inspect, text
    from crmadmin.cli import create_user, sync_builtin_roles
    from crmadmin.extensions import db

    with app.app_context():
        engine = db.engine
        names = [(table, index["name"]) for table in ("customer", "transaction")
                 for index in inspect(engine).get_indexes(table) if index["name"] not in KEPT]
        with engine.begin() as connection:
            for table, name in names:
                connection.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
            if engine.dialect.name == "sqlite":
                for (trigger,) in connection.execute(text(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'customer'")).all():
                    connection.execute(text(f'DROP TRIGGER "{trigger}"'))
            else:
                connection.execute(text('DROP INDEX IF EXISTS "ix_transaction_occurred_at"'))
        engine.dispose()
        started = time.monotonic()
        if engine.dialect.name == "postgresql":
            import psycopg
            with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
                for statement in PG_SEED.replace(":customers", str(customers)) \
                        .replace(":transactions", str(transactions)).split(";\n"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute('CREATE INDEX ix_transaction_occurred_at ON "transaction" (occurred_at)')
                connection.execute("VACUUM ANALYZE customer")
                connection.execute('VACUUM ANALYZE "transaction"')
        else:
            path = engine.url.database
            subprocess.run(["sqlite3", path], input=SQLITE_SEED.format(customers=customers, transactions=transactions),
                           text=True, check=True)
            subprocess.run(["sqlite3", path, "ANALYZE;"], check=True)
        print(f"seeded {customers:,} customers and {transactions:,} purchases in {time.monotonic() - started:.0f} s",
              flush=True)
        sync_builtin_roles()
        create_user(USER, PASSWORD, ["administrator"])
        db.session.commit()


def time_job(app, locale: str) -> tuple[int, int, float]:
    """(rows, bytes, seconds) of the export job of the whole Transactions list, run in this process."""
    from sqlalchemy import select
    from crmadmin.extensions import db
    from crmadmin.jobs import records
    from crmadmin.jobs.exports import run_export
    from crmadmin.models import User

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == USER))
        params = {"screen": "transaction", "format": "csv", "args": {}, "path": "/admin/transaction/",
                  "locale": locale, "filename": "bench.csv", "title": "Transactions"}
        job_id, _ = records.start(db.engine, "export", user_id, params, f"bench-{time.time()}")
        started = time.monotonic()
        with CpuClock(app.config["SQLALCHEMY_DATABASE_URI"]) as cpu:
            outcome = run_export(app, job_id)
        seconds = time.monotonic() - started
        job = records.get(db.engine, job_id)
        assert outcome == "done", (outcome, job.error)
        path = os.path.join(records.files_folder(app), job.result_file)
        size = os.path.getsize(path)
        os.remove(path)
        return job.rows_done, size, seconds, cpu.seconds


def time_records(app, locale: str, limit: int) -> tuple[int, int, float]:
    """(rows, bytes, seconds) of the first `limit` rows the record path (the export before plain rows) writes, for
    comparison: its producer and writer only, no job."""
    from flask import session
    from flask_login import login_user
    from sqlalchemy import select
    from crmadmin.extensions import db
    from crmadmin.models import User
    from crmadmin.spreadsheet import write_csv

    class Counted:
        size = 0

        def write(self, data: bytes) -> None:
            self.size += len(data)

    with app.test_request_context("/admin/transaction/export/csv/"):
        session["language"] = locale
        login_user(db.session.scalar(select(User).where(User.username == USER)))
        view = app.extensions["crm_exporters"]["transaction"].__self__
        out = Counted()
        started = time.monotonic()
        with CpuClock(app.config["SQLALCHEMY_DATABASE_URI"]) as cpu:
            _count, titles, rows = view._export_rows()
            write_csv(out, titles, (row for row, _ in zip(rows, range(limit))))
            db.session.remove()
        return limit, out.size, time.monotonic() - started, cpu.seconds


def time_copy(url: str) -> tuple[int, int, float]:
    """(rows, bytes, seconds) of PostgreSQL's COPY of the same rows, read through psycopg and thrown away."""
    import psycopg

    rows = size = 0
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        started = time.monotonic()
        with CpuClock(url) as cpu:
            with connection.cursor().copy(f"COPY ({SELECT}) TO STDOUT (FORMAT csv)") as copy:
                for block in copy:
                    size += len(block)
                    rows += bytes(block).count(b"\n")
        return rows, size, time.monotonic() - started, cpu.seconds


def time_sqlite_cli(path: str) -> tuple[int, int, float]:
    """(rows, bytes, seconds) of the sqlite3 CLI writing the same select as CSV into /dev/null; rows counted apart."""
    started = time.monotonic()
    with CpuClock(None) as cpu:
        subprocess.run(["sqlite3", "-csv", "-cmd", ".output /dev/null", path, SELECT + ";"], check=True)
    seconds = time.monotonic() - started
    rows = int(subprocess.run(["sqlite3", path, 'SELECT count(*) FROM "transaction";'], capture_output=True,
                              text=True, check=True).stdout)
    return rows, 0, seconds, cpu.seconds


def time_sqlite_cursor(path: str) -> tuple[int, int, float]:
    """(rows, 0, seconds) of Python's sqlite3 cursor reading the same select: what any Python export pays first."""
    import sqlite3

    connection = sqlite3.connect(path)
    started = time.monotonic()
    rows = 0
    with CpuClock(None) as cpu:
        cursor = connection.execute(SELECT)
        while batch := cursor.fetchmany(10000):
            rows += len(batch)
    seconds = time.monotonic() - started
    connection.close()
    return rows, 0, seconds, cpu.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a migrated scratch database (postgresql+psycopg://... or sqlite:///...)")
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--locale", default="zh_CN")
    parser.add_argument("--only", choices=("job", "database"), help="time one side only")
    parser.add_argument("--records", type=int, default=0, help="also time the record path over this many rows")
    args = parser.parse_args()

    from crmadmin import create_app

    folder = tempfile.mkdtemp(prefix="export-speed-")
    app = create_app("development", SQLALCHEMY_DATABASE_URI=args.url, CRM_JOB_FILES=folder)
    try:
        if args.seed:
            seed(app, args.url, args.customers, args.transactions)
        results = []
        if args.only != "database":
            results.append(("export job (producer + CSV writer)", *time_job(app, args.locale)))
        if args.records:
            results.append((f"record path, first {args.records:,} rows", *time_records(app, args.locale, args.records)))
        if args.only != "job":
            if args.url.startswith("postgresql"):
                results.append(("COPY (select ... join customer) TO STDOUT", *time_copy(args.url)))
            else:
                path = args.url.split("sqlite:///", 1)[1]
                if shutil.which("sqlite3"):
                    results.append(("sqlite3 CLI .mode csv > /dev/null", *time_sqlite_cli(path)))
                results.append(("Python sqlite3 cursor, rows read only", *time_sqlite_cursor(path)))
        for label, rows, size, seconds, cpu in results:
            print(f"{label}: {rows:,} rows, {size / 2**20:,.0f} MiB in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; "
                  f"{cpu:.1f} CPU s = {rows / cpu:,.0f} rows per CPU second", flush=True)
        print(json.dumps({label: [round(rows / seconds), round(rows / cpu)] for label, rows, size, seconds, cpu
                          in results}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
