"""Does the set-based full refresh (SQL) store exactly what the live path's Python rules store, at every threshold?"""
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, update

from crmadmin.extensions import db
from crmadmin.models import Customer, CustomerStanding, Interaction, StandingChange, Transaction
from crmadmin.standing import bulk, figures as q, refresh_all, today
from crmadmin.standing.maintain import _midnight, _same, compute, load_rules, zone


def at(day: date, seconds: float = 10 * 3600) -> datetime:
    """A stored (naive UTC) instant `seconds` after the start of a business day in the panel's zone."""
    start = datetime.combine(day, time(), tzinfo=zone())
    return (start + timedelta(seconds=seconds)).astimezone(timezone.utc).replace(tzinfo=None)


def ago(days: int, seconds: float = 10 * 3600) -> datetime:
    return at(today() - timedelta(days=days), seconds)


# name: (purchases as (days ago, amount[, status][, seconds after midnight]), expected tier, expected stage)
CASES = {
    "high exactly": ([(90, "5000"), (100, "5000"), (110, "5000"), (120, "5000")], "high", "active"),
    "high one cent short": ([(90, "5000"), (100, "5000"), (110, "5000"), (120, "4999.99")], "medium", "active"),
    "high one day too old": ([(91, "5000"), (100, "5000"), (110, "5000"), (120, "5000")], "medium", "at_risk"),
    "medium exactly": ([(180, "2500"), (190, "2500")], "medium", "at_risk"),
    "medium one day too old": ([(181, "2500"), (190, "2500")], "low", "at_risk"),
    "refunds and pending do not count": ([(10, "9000", "refunded"), (11, "9000", "pending"), (300, "100")],
                                        "low", "at_risk"),
    "churned exactly": ([(365, "100")], "low", "churned"),
    "one day before churned": ([(364, "100")], "low", "at_risk"),
    "single purchase, new": ([(90, "100")], "low", "new"),
    "single purchase, silent": ([(91, "100")], "low", "at_risk"),
    "usual interval, on time": ([(200, "100"), (150, "100"), (100, "100")], "low", "active"),
    "usual interval, one day late": ([(201, "100"), (151, "100"), (101, "100")], "low", "at_risk"),
    "spend halved": ([(300, "1000"), (30, "500")], "low", "at_risk"),
    "spend fell just under half": ([(300, "1000"), (30, "500.01")], "low", "active"),
    "loyal span exactly": ([(200, "100"), (110, "100"), (20, "100")], "low", "loyal"),
    "loyal span one day short": ([(199, "100"), (110, "100"), (20, "100")], "low", "active"),
    "span short by microseconds": ([(200, "100", "paid", 36000.7), (110, "100"), (20, "100", "paid", 36000.5)],
                                   "low", "active"),
    "first second of a business day": ([(91, "100", "paid", 0)], "low", "at_risk"),
    "last microsecond of a business day": ([(91, "100", "paid", 86399.999999)], "low", "at_risk"),
    "new, the day after": ([(90, "100", "paid", 86399.999999)], "low", "new"),
}


def build(cases=CASES, created_days=400) -> dict[str, int]:
    """One customer per case, saved through the session (so the live path stores their standing)."""
    ids = {}
    for name, (purchases, _, _) in cases.items():
        customer = Customer(name=name, kind="person", region="华东", source="website", created_at=ago(created_days))
        db.session.add(customer)
        for purchase in purchases:
            days, amount, status, seconds = [*purchase, *("paid", 36000)[len(purchase) - 2:]]
            db.session.add(Transaction(customer=customer, product="Kit", quantity=1, amount=Decimal(amount),
                                       currency="CNY", occurred_at=ago(days, seconds), channel="store", status=status))
        db.session.flush()
        ids[name] = customer.id
    db.session.commit()
    return ids


def both(ids) -> tuple[dict, dict]:
    """Per customer: the Python rules' row and the SQL rules' row."""
    where = q.id_in(ids)
    with db.engine.connect() as connection:
        rules = load_rules(connection)
        python = {row["customer_id"]: row for row, _ in compute(connection, where, rules, today())}
        sql = {row.customer_id: row._asdict() for row in connection.execute(
            bulk.computed(connection, where, rules, today(), zone().key, _midnight))}
    return python, sql


def assert_same(python: dict, sql: dict) -> None:
    assert python.keys() == sql.keys()
    for customer_id, row in python.items():
        differ = {k: (row[k], sql[customer_id][k]) for k in bulk.DERIVED if not _same(row[k], sql[customer_id][k])}
        assert not differ, (customer_id, differ)


@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"])
def test_sql_and_python_rules_agree_on_every_threshold(app, zone_name, monkeypatch):
    """Whatever the time zone, does the SQL refresh give each hand-built customer the Python rules' tier and stage?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", zone_name)
    with app.app_context():
        ids = build()
        python, sql = both(ids.values())
        assert_same(python, sql)
        for name, (_, expected_tier, expected_stage) in CASES.items():
            row = sql[ids[name]]
            assert (row["tier"], row["stage"]) == (expected_tier, expected_stage), name
        assert refresh_all(db.engine)["written"] == 0  # the live path stored the very same rows


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "America/New_York"])
def test_days_are_counted_in_local_time_across_daylight_saving_changes(app, zone_name, monkeypatch):
    """Are purchases just either side of a clock change counted on the same business day by both rule sets?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", zone_name)
    with app.app_context():
        changes = [moment for moment, _ in bulk.transitions(zone_name, today().year)
                   if today() - timedelta(days=700) < moment.date() < today()]
        assert changes, "the zone changes its clocks twice a year"
        cases = {}
        for n, moment in enumerate(changes):
            for shift in (-1, 0, 1, 3599, 3600):
                instant = moment + timedelta(seconds=shift)
                days = (today() - instant.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone_name)).date()).days
                seconds = (instant - at(today() - timedelta(days=days), 0)).total_seconds()
                cases[f"{n} {shift}"] = ([(days, "100", "paid", seconds), (days + 95, "50")], None, None)
        ids = build(cases, created_days=800)
        assert_same(*both(ids.values()))
        assert refresh_all(db.engine)["written"] == 0


def test_latest_contact_and_cadences_agree(app):
    """Explicit next dates, same-time contacts, own cadences and tier cadences: does SQL pick the same due date?"""
    with app.app_context():
        ids = build({k: CASES[k] for k in ("high exactly", "medium exactly", "single purchase, new")})
        high, medium, single = (db.session.get(Customer, ids[k]) for k in ("high exactly", "medium exactly",
                                                                             "single purchase, new"))
        medium.follow_up_days = 30
        same_time = ago(5, 100)
        db.session.add_all([
            Interaction(customer=single, channel="phone", direction="outbound", summary="a", occurred_at=same_time),
            Interaction(customer=single, channel="phone", direction="outbound", summary="b", occurred_at=same_time,
                        next_follow_up_on=today() + timedelta(days=3)),
            Interaction(customer=high, channel="email", direction="inbound", summary="c", occurred_at=ago(2, 0)),
        ])
        db.session.commit()
        python, sql = both(ids.values())
        assert_same(python, sql)
        assert sql[single.id]["next_follow_up_on"] == today() + timedelta(days=3)  # the later id of a tie
        assert sql[single.id]["due_set_by_contact"]
        assert sql[high.id]["next_follow_up_on"] == today() - timedelta(days=2) + timedelta(days=7)  # high: 7 days
        assert sql[medium.id]["next_follow_up_on"] == ago(400).date() + timedelta(days=30)  # own cadence
        assert refresh_all(db.engine)["written"] == 0


def test_the_refresh_writes_history_and_skips_rows_rewritten_meanwhile(app):
    """Does a refresh record each tier change, and leave alone a row the live path rewrote after it was read?"""
    with app.app_context():
        ids = build({k: CASES[k] for k in ("high exactly", "medium exactly")})
        stale = {"tier": "low", "stage": "churned", "updated_at": datetime(2020, 1, 1)}
        with db.engine.begin() as connection:  # as if computed long ago, under other figures
            connection.execute(update(CustomerStanding.__table__).values(**stale))
        high, medium = ids["high exactly"], ids["medium exactly"]
        with db.engine.begin() as connection:
            rules, day = load_rules(connection), today()
            bulk.compute_into_fresh(connection, q.id_in(ids.values()), rules, day, zone().key, _midnight)
            # the live path rewrites one row after the refresh read it
            connection.execute(update(CustomerStanding.__table__).where(CustomerStanding.customer_id == medium)
                               .values(updated_at=datetime(2021, 1, 1)))
            assert bulk.store_fresh(connection, day) == 1
            bulk.drop_fresh(connection)
        rows = {r.customer_id: r for r in db.session.scalars(select(CustomerStanding))}
        assert (rows[high].tier, rows[high].stage, rows[high].tier_since) == ("high", "active", today())
        assert (rows[medium].tier, rows[medium].stage) == ("low", "churned")  # left for the next refresh
        history = db.session.execute(select(StandingChange.customer_id, StandingChange.kind, StandingChange.before,
                                            StandingChange.after).where(StandingChange.before == "low")).all()
        assert sorted(history) == [(high, "tier", "low", "high")]


def test_on_sqlite_the_writes_read_the_computed_rows_and_look_up_each_stored_one_by_key(app):
    """Does SQLite's UPDATE (and history INSERT) scan the few computed rows, never all of customer_standing?"""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL has statistics for the temporary table")
        ids = build({k: CASES[k] for k in ("high exactly", "medium exactly")})
        with db.engine.begin() as connection:
            connection.execute(update(CustomerStanding.__table__).values(tier="low"))
        plans = []

        def explain(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().startswith(("UPDATE customer_standing", "INSERT INTO standing_change")):
                plans.append(" | ".join(row[3] for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters)))

        with db.engine.begin() as connection:
            rules, day = load_rules(connection), today()
            bulk.compute_into_fresh(connection, q.id_in(ids.values()), rules, day, zone().key, _midnight)
            event.listen(connection, "before_cursor_execute", explain)
            assert bulk.store_fresh(connection, day) == 2
            event.remove(connection, "before_cursor_execute", explain)
            bulk.drop_fresh(connection)
        assert len(plans) == 3
        for plan in plans:
            assert "SCAN standing_refresh" in plan and "SEARCH customer_standing USING INTEGER PRIMARY KEY" in plan, plan
