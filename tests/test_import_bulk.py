"""Created customers of an import written in bulk (crmadmin/imports/bulk.py) against the session's own path."""
import json
import re

import pytest
from sqlalchemy import select

from crmadmin import search
from crmadmin.audit.chain import chain_rows, verify
from crmadmin.extensions import db
from crmadmin.imports import apply, store
from crmadmin.imports.mapping import auto_mapping
from crmadmin.imports.reading import Limits, read
from crmadmin.imports.validation import Context, validate
from crmadmin.models import AuditEntry, Customer, CustomerMatch, CustomerStanding, ImportRun, utcnow
from tests import factories
from tests.imports import csv_bytes

HEADERS = ["姓名", "手机", "邮箱", "客户类型", "性别", "生日", "来源", "信用等级", "负责人", "公司", "地址", "备注"]
ROWS = [["张伟", "138 1234 5678", "Zhang.Wei@Example.com", "个人", "男", "1985/3/7", "官网", "AA", "wang.fang",
         "上海 宏达 有限公司", "上海市浦东新区", "=1+2"],
        ["Acme Ltd", "+86 139 8765 4321", "", "company", "Female", "1990-12-01", "referral", "", "", "ACME, Ltd.",
         "", ""],
        ["王晓明", "", "wxm@example.com", "", "", "", "", "", "", "", "", ""],
        ["Wei, Wang", "13900000004", "WANG@example.COM", "", "male", "", "展会", "B", "wang.fang", "", "北京", "备注"],
        ["李娜", "13900000005", "", "", "", "2001-01-31", "", "", "", "宏达", "", ""],
        ["Zoë O'Neil", "13900000006", "zoe@example.com", "", "", "", "", "", "", "", "", "long note " * 20],
        ["赵六", "13900000007", "", "", "", "", "", "", "", "", "", ""]]


def _checked(app, data: bytes):
    """The file staged and checked as the import job does it (in an app context): its run and report."""
    table = read(data, "csv", Limits.from_config(app.config))
    context = Context(kind="customers", mode="create", user_id=None, may_assign_owner=True, scope_owner=None,
                      region=app.config["CRM_PHONE_REGION"], now=utcnow(), currency="CNY")
    report = validate(db.session, table, auto_mapping("customers", table.headers), context)
    assert report.counts["create"] == len(ROWS), report.counts
    run_id = store.stage(db.session.connection(), "customers", "file.csv", "csv", data, None, 24)
    return store.staged(db.session.connection(), run_id, None), report


def _import(app, data: bytes, use_bulk: bool) -> int:
    """Store the file by one path or the other, three rows a flush; the run id."""
    with app.app_context():
        run, report = _checked(app, data)
        apply.run_import(db.session, run, report, valid_only=False, chunk_rows=3, use_bulk=use_bulk)
        return run.id


def _undo(app, run_id: int) -> None:
    with app.app_context():
        run = db.session.get(ImportRun, run_id)
        assert apply.undo_import(db.session, run, factories.user("administrator").id) == len(ROWS)


def _stored(app, run_id: int) -> dict:
    """What the import left, with each customer's id replaced by its place in the file and times left out."""
    with app.app_context():
        batch = db.session.get(ImportRun, run_id).batch_id
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.batch_id == batch)
                                     .order_by(AuditEntry.id)).all()
        ids = [int(e.record_id) for e in entries if e.action == "create"]
        place = {customer_id: n for n, customer_id in enumerate(ids)}

        def same_place(text: str) -> str:
            return re.sub(r"#(\d+)\)", lambda m: f"#place{place[int(m.group(1))]})", text)

        def logged(entry) -> tuple:
            changes = json.loads(entry.changes)
            if entry.action == "create":
                assert changes.pop("id") == [None, int(entry.record_id)]
                assert changes.pop("created_at")[1]  # a time, as the ORM's default gave it
            for key in ("import",):
                changes.pop(key, None)
            return (entry.action, entry.record_type, entry.record_id and place[int(entry.record_id)],
                    entry.record_label and same_place(entry.record_label), changes, entry.actor, entry.source)

        def row(record, *skipped) -> dict:
            values = {c.key: getattr(record, c.key) for c in record.__table__.c if c.key not in skipped}
            return values

        customers = db.session.scalars(select(Customer).where(Customer.id.in_(ids))).all()
        matches = db.session.scalars(select(CustomerMatch).where(CustomerMatch.customer_id.in_(ids))).all()
        standings = db.session.scalars(select(CustomerStanding).where(CustomerStanding.customer_id.in_(ids))).all()
        searched = {term: sorted(place[i] for i in db.session.scalars(search.matching_ids(
            "customer", ("name", "mobile", "email", "company_name", "address"), [term], db.engine.dialect.name))
            if i in place) for term in ("宏达", "Acme", "13900000006", "浦东新区", "李娜")}
        result = {
            "entries": [logged(e) for e in entries],
            "customers": sorted((place[c.id], row(c, "id", "created_at", "updated_at")) for c in customers),
            "matches": sorted((place[m.customer_id], row(m, "customer_id")) for m in matches),
            "standings": sorted((place[s.customer_id], row(s, "customer_id", "updated_at")) for s in standings),
            "searched": searched,
        }
        db.session.expunge_all()
        return result


def _chain_holds(app) -> bool:
    with app.app_context():
        return verify(chain_rows(db.session.connection())).ok


def test_bulk_created_customers_equal_those_the_session_creates(app):
    """Same file by the session's objects and by the bulk path: the same customers, log entries, match keys,
    standing and search hits; the chain verifies and each import undoes to nothing?"""
    with app.app_context():
        factories.user("clerk", username="wang.fang")
    data = csv_bytes([HEADERS, *ROWS])
    orm_run = _import(app, data, use_bulk=False)
    by_orm = _stored(app, orm_run)
    _undo(app, orm_run)
    bulk_run = _import(app, data, use_bulk=True)
    by_bulk = _stored(app, bulk_run)

    assert len(by_orm["customers"]) == len(by_orm["matches"]) == len(by_orm["standings"]) == len(ROWS)
    assert [e[0] for e in by_orm["entries"]] == ["create"] * len(ROWS) + ["import"]
    assert by_orm["searched"] == {"宏达": [0, 4], "Acme": [1], "13900000006": [5], "浦东新区": [0], "李娜": [4]}
    for part in ("entries", "customers", "matches", "standings", "searched"):
        assert by_bulk[part] == by_orm[part], part
    assert _chain_holds(app)

    _undo(app, bulk_run)
    with app.app_context():
        assert db.session.scalars(select(Customer.id)).all() == []
        assert db.session.scalars(select(CustomerMatch.customer_id)).all() == []
        assert db.session.scalars(select(CustomerStanding.customer_id)).all() == []
    assert _chain_holds(app)


def test_a_failing_bulk_chunk_leaves_no_customer_and_no_log_entry(app):
    """A bulk import that fails after its first chunk was written: is nothing of it kept?"""
    data = csv_bytes([HEADERS, *ROWS])
    with app.app_context():
        factories.user("clerk", username="wang.fang")
        before = db.session.scalars(select(AuditEntry.id)).all()
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if done >= 6:
            raise RuntimeError("stop")

    with app.app_context():
        run, report = _checked(app, data)
        with pytest.raises(RuntimeError):
            apply.run_import(db.session, run, report, valid_only=False, progress=progress, chunk_rows=3)
        assert calls == [3, 6]
        assert db.session.scalars(select(Customer.id)).all() == []
        assert db.session.scalars(select(CustomerMatch.customer_id)).all() == []
        assert db.session.scalars(select(AuditEntry.id)).all() == before
