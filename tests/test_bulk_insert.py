"""Rows written by crmadmin/bulk_insert.py (COPY on PostgreSQL, a staging table on SQLite) against one INSERT each."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from crmadmin import search
from crmadmin.bulk_insert import BULK_FROM, insert_rows
from crmadmin.extensions import db
from crmadmin.models import Customer, CustomerStanding

CUSTOMER, STANDING = Customer.__table__, CustomerStanding.__table__
# Text that COPY's format escapes and SQLite could take for a number or a date.
AWKWARD = ["tab\there", "line\nbreak\r\nand CR\r", "back\\slash \\N \\.", "\\N", "", "NULL", " spaced ",
           "quote \" and ' both", "逗号，中文；全角", "Zoë 👩‍💼", "=1+2", "00123", "1e5", "2026-12-07"]


def _customers(first_id: int, count: int) -> list[dict]:
    now = datetime(2026, 3, 29, 1, 30, 15, 123456)
    return [{"id": first_id + i, "name": AWKWARD[i % len(AWKWARD)] or "名", "kind": "company" if i % 3 else "person",
             "gender": None if i % 4 else "female", "birthday": date(1970, 1, 1) + timedelta(days=97 * i),
             "mobile": f"+86139{i:08d}", "email": None if i % 5 == 0 else f"bulk{i}@example.com",
             "address": AWKWARD[(i + 3) % len(AWKWARD)], "company_name": f"宏达{i}号 有限公司",
             "notes": AWKWARD[(i + 7) % len(AWKWARD)] * (i % 3), "follow_up_days": None if i % 2 else 30,
             "created_at": now + timedelta(microseconds=i), "updated_at": now, "version": 1}
            for i in range(count)]


def _read(table, ids) -> list[dict]:
    rows = db.session.execute(select(table).where(table.c[list(table.primary_key)[0].name].in_(ids))
                              .order_by(*table.primary_key)).mappings()
    return [{key: value for key, value in row.items() if key not in ("id", "customer_id")} for row in rows]


def test_does_a_customer_written_in_bulk_read_back_as_one_inserted_alone(app_ctx):
    count = BULK_FROM + 17
    by_one, in_bulk = _customers(10_000, count), _customers(20_000, count)
    for row in by_one:
        db.session.execute(insert(CUSTOMER), [row])
    insert_rows(db.session.connection(), CUSTOMER, in_bulk)
    db.session.commit()
    alone, bulk = _read(CUSTOMER, [r["id"] for r in by_one]), _read(CUSTOMER, [r["id"] for r in in_bulk])
    assert len(bulk) == count and bulk == alone
    assert bulk[1]["address"] == AWKWARD[4] and bulk[2]["notes"] == AWKWARD[9] * 2


def test_does_standing_written_in_bulk_keep_its_money_times_and_flags(app_ctx):
    count = BULK_FROM + 3
    rows = []
    for start in (30_000, 40_000):
        customers = _customers(start, count)
        insert_rows(db.session.connection(), CUSTOMER, customers)
        rows.append([{"customer_id": c["id"], "window_amount": Decimal("1234567.89") + i, "recent_amount": Decimal("0.01"),
                      "previous_amount": Decimal("-5.50"), "purchase_count": i, "window_count": i % 7,
                      "tier": ("high", "medium", "low", None)[i % 4], "stage": "active", "due_set_by_contact": i % 2 == 0,
                      "last_purchase_at": datetime(2026, 10, 25, 1, 59, 59, 999999), "next_follow_up_on": date(2027, 1, i % 28 + 1),
                      "updated_at": datetime(2026, 12, 7, 23, 0)} for i, c in enumerate(customers)])
    for row in rows[0]:
        db.session.execute(insert(STANDING), [row])
    insert_rows(db.session.connection(), STANDING, rows[1])
    db.session.commit()
    alone, bulk = _read(STANDING, [r["customer_id"] for r in rows[0]]), _read(STANDING, [r["customer_id"] for r in rows[1]])
    assert len(bulk) == count and bulk == alone
    assert bulk[0]["window_amount"] == Decimal("1234567.89") and bulk[1]["due_set_by_contact"] is False


def test_does_the_search_find_customers_written_in_bulk(app_ctx):
    rows = _customers(50_000, BULK_FROM + 1)
    rows[42].update(name="欧阳修远", company_name="青松 贸易 公司", email="ouyang.xiuyuan@example.com")
    insert_rows(db.session.connection(), CUSTOMER, rows)
    db.session.commit()
    dialect = db.engine.dialect.name
    for terms in (["欧阳"], ["ouyang.xiuyuan"], ["青松", "贸易"], ["修"]):
        found = db.session.scalars(search.matching_ids("customer", search.INDEXED["customer"], terms, dialect)).all()
        assert found == [50_042], terms


def test_are_rows_naming_different_columns_each_written_with_their_own(app_ctx):
    rows = _customers(60_000, BULK_FROM * 2)
    for row in rows[BULK_FROM:]:
        del row["follow_up_days"], row["gender"]
    insert_rows(db.session.connection(), CUSTOMER, rows)
    db.session.commit()
    stored = db.session.execute(select(CUSTOMER.c.id, CUSTOMER.c.follow_up_days).where(CUSTOMER.c.id >= 60_000)
                                .order_by(CUSTOMER.c.id)).all()
    assert len(stored) == BULK_FROM * 2
    assert stored[0].follow_up_days == 30 and {r.follow_up_days for r in stored[BULK_FROM:]} == {None}


def test_is_an_aware_time_refused_and_nothing_written(app_ctx):
    rows = _customers(70_000, BULK_FROM)
    rows[-1]["created_at"] = datetime(2026, 12, 7, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    with pytest.raises(ValueError):
        insert_rows(db.session.connection(), CUSTOMER, rows)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CUSTOMER).where(CUSTOMER.c.id >= 70_000)) == 0
