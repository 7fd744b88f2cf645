"""Does the monthly revenue table stay equal to the sum of paid purchases through every kind of change?"""
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Customer, RevenueMonth, Transaction
from crmadmin.standing import revenue, today
from crmadmin.standing.maintain import zone
from tests import factories


def kept() -> set[tuple]:
    """The live table, without cells that went back to nothing."""
    return {(r.owner_id, r.month, r.campaign_id, r.currency, r.amount, r.purchases)
            for r in db.session.scalars(select(RevenueMonth)) if r.amount or r.purchases}


def rebuilt() -> set[tuple]:
    """What a rebuild from every paid purchase gives (rolled back, so the live table stays as it was)."""
    connection = db.engine.connect()
    transaction = connection.begin()
    try:
        revenue.rebuild(connection, zone().key, today())
        return {(r.owner_id, r.month, r.campaign_id, r.currency, r.amount, r.purchases)
                for r in connection.execute(select(RevenueMonth.__table__))}
    finally:
        transaction.rollback()
        connection.close()


def local_first(day: date, seconds: float = 0) -> datetime:
    start = datetime.combine(day.replace(day=1), time(), tzinfo=zone())
    return (start + timedelta(seconds=seconds)).astimezone(timezone.utc).replace(tzinfo=None)


@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "America/New_York"])
def test_every_change_to_purchases_and_owners_keeps_the_sums_exact(app, zone_name, monkeypatch):
    """Add, edit, refund, move, re-date, re-credit, delete, change owners: is the table always what a rebuild gives?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", zone_name)
    with app.app_context():
        ann, bob = factories.user("clerk"), factories.user("clerk")
        campaign = factories.campaign()
        first, second = factories.customer(owner_id=ann.id), factories.customer(owner_id=bob.id)
        nobody = factories.customer(owner_id=None)
        month = today().replace(day=1)
        steps = []

        def step(name):
            db.session.commit()
            assert kept() == rebuilt(), name
            steps.append(name)

        a = Transaction(customer_id=first.id, product="Kit", quantity=1, amount=Decimal("100.005"), currency="CNY",
                        occurred_at=local_first(month), channel="store", status="paid")
        b = Transaction(customer_id=second.id, product="Kit", quantity=1, amount=Decimal("50.00"), currency="USD",
                        occurred_at=local_first(month, -1), channel="store", status="paid", campaign_id=campaign.id)
        c = Transaction(customer_id=nobody.id, product="Kit", quantity=1, amount=Decimal("7.00"), currency="CNY",
                        occurred_at=local_first(month, 3600), channel="store", status="pending")
        db.session.add_all([a, b, c])
        step("added: the first instant of a month and the last of the month before")
        a.amount = Decimal("120.00")
        step("amount edited")
        c.status = "paid"
        step("pending became paid")
        b.status = "refunded"
        step("refunded")
        b.status = "paid"
        b.customer_id = first.id
        step("moved to another customer and paid again")
        a.occurred_at = local_first(month, -7200)
        a.campaign_id = campaign.id
        step("re-dated into the month before and credited to a campaign")
        db.session.get(Customer, first.id).owner_id = bob.id
        a.amount = Decimal("130.00")
        step("customer given to another owner while a purchase changes, in one flush")
        db.session.get(Customer, first.id).owner_id = None
        db.session.delete(db.session.get(Transaction, a.id))
        step("owner removed while a purchase is deleted")
        db.session.delete(db.session.get(Transaction, b.id))
        step("deleted")
        assert len(steps) == 9
        assert kept() == {(0, month, 0, "CNY", Decimal("7.00"), 1)}


def test_a_rebuild_fills_the_table_after_a_bulk_load(app):
    """After purchases loaded outside the session, does refresh-stats fill the missing monthly sums?"""
    with app.app_context():
        customer = factories.customer()
        with db.engine.begin() as connection:
            connection.execute(Transaction.__table__.insert().values(
                customer_id=customer.id, product="Kit", quantity=1, amount=Decimal("99.00"), currency="CNY",
                occurred_at=datetime(2026, 1, 15, 12), channel="store", status="paid", version=1,
                created_at=datetime(2026, 1, 15, 12), updated_at=datetime(2026, 1, 15, 12)))
        assert kept() == set()
    result = app.test_cli_runner().invoke(args=["crm", "refresh-stats"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert kept() == {(0, date(2026, 1, 1), 0, "CNY", Decimal("99.00"), 1)}
