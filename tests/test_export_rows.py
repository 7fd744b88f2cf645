"""CSV exports read plain rows (admin/export_rows.py): the same file, byte for byte, as the records gave, on every list
screen whose columns SQL can give, for any viewer, language, zone, search, sort and scope."""
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from flask import session
from flask_login import login_user

from crmadmin.admin import export_rows
from crmadmin.extensions import db
from crmadmin.models import User
from crmadmin.spreadsheet import CsvBatches, CsvLines, write_csv, write_csv_batches, write_csv_lines
from crmadmin.standing.maintain import refresh_all
from tests import factories
from tests.exporting import download, seen_copies, start, wait

TRICKY = ["=1+2", "+86 call me", "-5 discount", "@SUM(A1:A9)", "\tTAB", "逗号,引号\"和\n换行", "", None,
          "回车\r\n结尾\r", "\\.", '"', " 前后空格 ", "NULL"]
SCREENS = ("customer", "transaction", "interaction", "complaint", "overdue_complaints")


def _data(app) -> dict:
    """Customers, purchases, contacts and complaints with every kind of cell: empty, formula-looking, Chinese, money,
    choices, related records present and missing, times across a change of the clocks."""
    with app.app_context():
        named = factories.user("clerk", display_name="王经理")
        unnamed = factories.user("clerk", display_name="")
        campaign = factories.campaign(name="=HYPERLINK(1)")
        made = {"clerk": named.id}
        people = []
        for i, text in enumerate(TRICKY):
            people.append(factories.customer(
                name=text or f"客户{i}", address=text, company_name=text, owner_id=(named, unnamed, None)[i % 3].id
                if i % 3 < 2 else None, kind=("person", "company")[i % 2], gender=(None, "female", "male")[i % 3],
                birthday=date(1980 + i, 1 + i, 2) if i % 2 else None, email=None if i % 2 else f"p{i}@example.com",
                tags=text, credit_rating=(None, "A", "B")[i % 3], source=(None, "website")[i % 2]))
        march = datetime(2026, 3, 8, 6, 30)  # 01:30 in New York, half an hour before the clocks go forward
        november = datetime(2026, 11, 1, 4, 50)  # 00:50 in New York, 70 minutes before they go back
        for i, person in enumerate(people):
            factories.transaction(person, product=TRICKY[i] or "产品", amount=(Decimal("0.07"), Decimal("1234.50"),
                                  Decimal("0"), Decimal("100000.05"))[i % 4],
                                  occurred_at=(march, november)[i % 2] + timedelta(minutes=17 * i, seconds=i),
                                  status=("paid", "pending", "refunded")[i % 3], currency="CNY",
                                  campaign=campaign if i % 2 else None, quantity=1 + i)
            factories.interaction(person, summary=TRICKY[i] or "回访", outcome=TRICKY[i],
                                  handled_by_id=(named.id, unnamed.id, None)[i % 3],
                                  occurred_at=march - timedelta(hours=i, microseconds=i),
                                  next_follow_up_on=date(2026, 12, 1) if i % 2 else None)
            factories.complaint(person, subject=TRICKY[i] or "投诉", department=TRICKY[i],
                                assignee_id=(named.id, unnamed.id, None)[i % 3],
                                satisfaction_score=(None, 5)[i % 2], received_at=march - timedelta(days=i),
                                next_due_at=march - timedelta(days=1) if i % 2 else None,
                                status=("received", "assigned", "closed")[i % 3],
                                closed_at=march if i % 3 == 2 else None)
        refresh_all(db.engine)
        made["customer"] = people[1].id
        return made


def _both(app, screen: str, user_id: int, query: str, language: str) -> tuple[bytes, bytes]:
    """The CSV the records give and the one plain rows give, for this viewer and list address."""
    view = app.extensions["crm_exporters"][screen].__self__
    files = []
    for fast in (False, True):
        with app.test_request_context(f"/admin/{screen}/export/csv/", query_string=query):
            session["language"] = language
            login_user(db.session.get(User, user_id))
            out = io.BytesIO()
            if fast:
                assert export_rows.readable(view), screen
                count, titles, rows = view._export_csv_text()
                # PostgreSQL writes the lines itself (COPY), SQLite gives the cells
                copied = db.session.connection().dialect.name == "postgresql"
                assert isinstance(rows, CsvLines if copied else CsvBatches)
                (write_csv_lines if copied else write_csv_batches)(out, titles, rows)
            else:
                count, titles, rows = view._export_rows()
                write_csv(out, titles, rows)
            db.session.remove()
            files.append(out.getvalue())
    return files[0], files[1]


@pytest.mark.parametrize("screen", SCREENS)
def test_plain_rows_write_the_same_file_as_the_records(app, screen):
    """Does each list screen's CSV read from plain rows equal, byte for byte, the one written from its records: for an
    administrator in Chinese in New York, a scoped clerk in English, under a search, a sort and a customer?"""
    made = _data(app)
    with app.app_context():
        admin = factories.user("administrator", timezone="America/New_York").id
    cases = [(admin, "", "zh_CN"), (admin, "sort=1&desc=1", "en"), (made["clerk"], "", "en"),
             (admin, f"customer_id={made['customer']}", "zh_CN"), (admin, "search=call", "zh_CN"),
             (admin, "sort=2", "zh_CN")]
    for user_id, query, language in cases:
        records, rows = _both(app, screen, user_id, query, language)
        assert rows == records, (screen, query, language)
        assert records.count(b"\r\n") > 1 or "customer_id" in query or "search" in query or user_id != admin


def test_a_column_sql_cannot_give_keeps_the_record_path(app, monkeypatch):
    """A screen whose export column has a formatter of its own: is it still exported, from its records?"""
    view = app.extensions["crm_exporters"]["transaction"].__self__
    monkeypatch.setitem(view.column_formatters_export, "product", lambda v, c, m, n: m.product.upper())
    assert not export_rows.readable(view)
    made = _data(app)
    with app.test_request_context("/admin/transaction/export/csv/"):
        login_user(db.session.get(User, made["clerk"]))
        assert view._export_csv_text() is None


def test_an_export_job_of_purchases_reads_one_streamed_select_of_their_columns(app, job_worker, login_as,
                                                                             count_queries, monkeypatch):
    """Does the purchases' export job read its rows with one select of the file's columns joined to the customer's
    name (no records, no batch re-read; on PostgreSQL inside one COPY), and write every row with the local time and
    the labels?"""
    copies = seen_copies(monkeypatch)
    _data(app)
    client = login_as("administrator", timezone="Asia/Shanghai")
    with count_queries() as statements:
        status = wait(client, start(client, "/admin/transaction/export/csv/"))
    assert (status["state"], status["rows_done"]) == ("done", len(TRICKY))
    reads = [s for s in statements + copies if "occurred_at" in s and "customer_1.name" in s and "product" in s]
    assert len(reads) == 1 and "LIMIT" not in reads[0] and "version" not in reads[0], reads
    with app.app_context():
        assert (reads[0] in copies) == (db.engine.dialect.name == "postgresql")
    body = download(client, status["download"]).get_data().decode("utf-8-sig")
    assert "2026-03-08 14:30:00" in body and "'=1+2 (#" in body and "1234.50" in body and "0.07" in body


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
                                  "Asia/Kathmandu", "UTC"])
def test_an_exports_local_times_equal_format_local_in_every_kind_of_zone(zone):
    """Do the export's times, converted once an hour, read as format_local reads them: whole-hour, half-hour and
    45-minute offsets, clocks going forward and back (half an hour on Lord Howe), every minute of a year's changes?"""
    from zoneinfo import ZoneInfo
    from crmadmin.localtime import SECONDS, seconds_writer, to_local

    write = seconds_writer(ZoneInfo(zone))
    moments = [datetime(2026, 1, 1) + timedelta(minutes=7 * i, seconds=i % 60, microseconds=i) for i in range(76_000)]
    assert [write(m) for m in moments] == [to_local(m, ZoneInfo(zone)).strftime(SECONDS) for m in moments]
    assert write(None) == ""


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
                                  "Asia/Kathmandu", "UTC"])
def test_postgresqls_local_times_equal_format_local_in_every_kind_of_zone(app, zone):
    """Does PostgreSQL's zone database, which writes an export's times there (COPY), read every minute of a year's
    changes of the clocks, and a year before 1000, as format_local reads them?"""
    from zoneinfo import ZoneInfo
    from sqlalchemy import ARRAY, DateTime, bindparam, func, select
    from crmadmin.localtime import SECONDS, to_local

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the database writes the times on PostgreSQL only")
        moments = [datetime(2026, 1, 1) + timedelta(minutes=7 * i, seconds=i % 60, microseconds=i)
                   for i in range(76_000)] + [datetime(999, 6, 1, 12, 0, 1), datetime(1000, 1, 1, 0, 0)]
        table = func.unnest(bindparam("moments", moments, type_=ARRAY(DateTime))).table_valued("moment") \
            .render_derived()
        ready = export_rows._Column(table.c.moment, "moment").ready(zone)
        written = db.session.execute(select(table.c.moment, ready)).all()
        assert [(m, text) for m, text in written] == [(m, to_local(m, ZoneInfo(zone)).strftime(SECONDS))
                                                     for m in moments]


def test_an_exports_filters_select_the_same_rows_through_copy(app):
    """Does the export select the rows its query selects when the values are merged into the statement (PostgreSQL's
    COPY takes no parameters): an IN list, money compared in cents (0.07 as 7, not as a Decimal), a text with a quote
    and a percent sign?"""
    from crmadmin.models import Transaction

    made = _data(app)
    view = app.extensions["crm_exporters"]["transaction"].__self__
    with app.test_request_context("/admin/transaction/export/csv/"):
        login_user(db.session.get(User, made["clerk"]))
        query = db.session.query(Transaction).filter(
            Transaction.amount < Decimal("1.00"), Transaction.status.in_(["paid", "pending"]),
            Transaction.product.notin_(["x'); DROP TABLE job; --", "100%"])).order_by(Transaction.id)
        expected = [str(t.id) for t in query]
        lines = [line if isinstance(line, tuple) else bytes(line).decode().split(",")
                 for batch in export_rows.csv_rows(view, query, 2) for line in batch]
    assert len(expected) > 1 and [str(line[0]) for line in lines] == expected
