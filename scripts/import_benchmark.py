"""Time a 100,000-row customer import through the whole app: upload, map, preview, import (a job, one transaction).

Every step goes through the Import screen's own routes with a signed-in supervisor (Flask's test client: no
network, but routing, CSRF, permissions, templates and the database are real); Import starts a job that a real
worker (Huey's consumer, one thread in this process, on a queue file in the scratch folder) runs while the script
polls the job's status each second, as the page does. Prints a Markdown table for docs/PERFORMANCE.md. It migrates the database it is given and adds rows to it: point it at a scratch database.

    .venv/bin/python scripts/import_benchmark.py --rows 100000                       # SQLite in a temporary directory
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/crm_bench .venv/bin/python scripts/import_benchmark.py
    .venv/bin/python scripts/import_benchmark.py --format xlsx
"""
import argparse
import csv
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REGIONS = ("华东", "华北", "华南", "西南", "东北")
SOURCES = ("官网", "展会", "客户转介绍", "advertising", "walk_in")


def rows(count: int, offset: int) -> list[list]:
    """Believable customers with unique mobiles and e-mails, Chinese headers as a clerk's spreadsheet has them."""
    out = [["姓名", "手机", "邮箱", "性别", "生日", "区域", "公司", "来源", "备注"]]
    for i in range(offset, offset + count):
        out.append([f"客户{i:06d}", f"139{i:08d}", f"customer{i}@example.com", "男" if i % 2 else "女",
                    f"19{70 + i % 30}-{1 + i % 12:02d}-{1 + i % 28:02d}", REGIONS[i % 5], f"公司{i % 997}",
                    SOURCES[i % 5], "导入测试"])
    return out


def as_csv(table: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return out.getvalue().encode("utf-8-sig")


def as_xlsx(table: list[list]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": False})
    sheet = book.add_worksheet()
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return out.getvalue()


def token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--offset", type=int, default=0, help="first customer number (to import into a used database)")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="crm-import-bench-")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{scratch}/bench.sqlite3"
    os.environ.setdefault("CRM_INSTANCE_DIR", scratch)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from crmadmin import create_app
    from crmadmin.auth.passwords import hash_password
    from crmadmin.cli import sync_builtin_roles
    from crmadmin.extensions import db
    from crmadmin.models import AuditEntry, Customer, Role, User

    from crmadmin.jobs.queue import consumer

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url, WTF_CSRF_ENABLED=True,
                     CRM_IMPORT_MAX_BYTES=60 * 1024 * 1024, MAX_CONTENT_LENGTH=64 * 1024 * 1024,
                     CRM_JOBS_URL=f"sqlite:///{scratch}/jobs.sqlite3")
    password = "import benchmark password 2026"
    with app.app_context():
        upgrade()
        sync_builtin_roles()
        user = db.session.scalar(select(User).where(User.username == "bench.import"))
        if user is None:
            admin = db.session.scalar(select(Role).where(Role.name == "supervisor"))  # administrators need 2FA
            db.session.add(User(username="bench.import", password_hash=hash_password(password), roles=[admin]))
        else:
            user.password_hash = hash_password(password)
        db.session.commit()
        customers_before = db.session.scalar(select(func.count()).select_from(Customer))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "bench.import", "password": password, "csrf_token": token(page)})

    table = rows(args.rows, args.offset)
    data = as_csv(table) if args.format == "csv" else as_xlsx(table)
    timings = []

    def timed(label, call):
        started = time.perf_counter()
        response = call()
        timings.append((label, time.perf_counter() - started))
        assert response.status_code in (200, 302), (label, response.status_code)
        return response

    csrf = token(client.get("/admin/imports/").get_data(as_text=True))
    response = timed("upload (limits, type, parse, stage)", lambda: client.post(
        "/admin/imports/upload", data={"csrf_token": csrf, "kind": "customers",
                                       "file": (io.BytesIO(data), f"customers.{args.format}")},
        content_type="multipart/form-data"))
    run_id = int(re.search(r"id=(\d+)", response.headers["Location"]).group(1))
    mapping_page = client.get(f"/admin/imports/map?id={run_id}").get_data(as_text=True)
    chosen = dict(re.findall(r'name="(column-\d+)".*?<option value="(\w+)" selected', mapping_page, re.S))
    timed("map (read, save the mapping)", lambda: client.post(f"/admin/imports/map?id={run_id}",
                                                               data={"csrf_token": csrf, "mode": "create", **chosen}))
    preview = timed("preview (read, check every row)", lambda: client.get(f"/admin/imports/preview?id={run_id}"))
    assert "data-count=\"invalid\" class=\"\">0<" in preview.get_data(as_text=True), "the benchmark file has problems"
    worker = consumer(app, workers=1, periodic=False)
    worker.start()
    try:
        started = time.perf_counter()
        response = timed("import pressed (the job queued; the page answers)", lambda: client.post(
            "/admin/imports/commit", data={"csrf_token": csrf, "id": run_id}))
        job_id = int(re.search(r"id=(\d+)", response.headers["Location"]).group(1))
        while client.get(f"/admin/jobs/status?id={job_id}").get_json()["state"] in ("queued", "running"):
            time.sleep(1)
        timings.append(("the import job (read, check again, store in one transaction)",
                        time.perf_counter() - started - timings[-1][1]))
    finally:
        worker.stop(graceful=True)
    message = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "rejected" in message and "Imported" in message, "the import did not succeed"
    with app.app_context():
        imported = db.session.scalar(select(func.count()).select_from(Customer)) - customers_before
        entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
    print(f"\n{args.rows:,} customer rows, {args.format.upper()} {len(data) / 1024 / 1024:.1f} MB, "
          f"{db.engine.dialect.name if False else url.split(':', 1)[0]}; {imported:,} customers created, "
          f"{entries:,} log entries in the database\n")
    print("| step | seconds |\n| --- | ---: |")
    for label, seconds in timings:
        print(f"| {label} | {seconds:.1f} |")
    total = sum(s for _label, s in timings)
    print(f"| **all steps** | **{total:.1f}** |")


if __name__ == "__main__":
    main()
