"""Does every path that changes purchases, contacts or customers keep their standing current, in the same transaction?"""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from crmadmin.extensions import db
from crmadmin.models import Customer, CustomerStanding, StandingChange, Transaction, utcnow
from crmadmin.standing import refresh_all, today
from crmadmin.standing.maintain import compute, load_rules, local, write
from crmadmin.standing import figures as q
from tests import factories
from tests.forms import csrf_token, submit

NOW = utcnow().replace(microsecond=0)


def _fmt(moment: datetime) -> str:
    """A stored (UTC) moment as a form takes it: the business zone's local time."""
    return local(moment).strftime("%Y-%m-%d %H:%M:%S")


def day_of(app, moment: datetime) -> date:
    """The business day (CRM_TIMEZONE) a stored UTC moment falls on."""
    with app.app_context():
        return local(moment).date()


def business_today(app) -> date:
    with app.app_context():
        return today()


def standing_of(app, customer_id: int) -> CustomerStanding:
    with app.app_context():
        row = db.session.get(CustomerStanding, customer_id)
        db.session.expunge_all()
        return row


def changes_of(app, customer_id: int) -> list[tuple]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(StandingChange.kind, StandingChange.before, StandingChange.after)
            .where(StandingChange.customer_id == customer_id).order_by(StandingChange.id))]


@pytest.fixture
def shop(app, login_as):
    """A supervisor's client and a customer registered 30 days ago with no purchase yet."""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(created_at=NOW - timedelta(days=30))
    return client, customer.id


def buy(client, customer_id: int, amount: str, days_ago: int = 1, status: str = "paid"):
    response = submit(client, "/admin/transaction/new/", {
        "customer": str(customer_id), "product": "年度服务套餐", "quantity": "1", "amount": amount, "currency": "CNY",
        "occurred_at": _fmt(NOW - timedelta(days=days_ago)), "channel": "online", "status": status, "campaign": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]


def test_a_new_customer_is_potential_and_due_a_cadence_after_registration(app, shop):
    """Does a newly registered customer get a standing row: potential, no tier, due 14 days after registration?"""
    _, customer_id = shop
    s = standing_of(app, customer_id)
    assert (s.tier, s.stage, s.purchase_count) == (None, "potential", 0)
    assert s.next_follow_up_on == day_of(app, NOW - timedelta(days=30)) + timedelta(days=14)


def test_purchases_through_the_form_raise_the_tier_and_are_kept_in_the_history(app, shop):
    """Do paid purchases entered through the form update R, F, M, the tier and the stage at once?"""
    client, customer_id = shop
    buy(client, customer_id, "3000.00", days_ago=20)
    s = standing_of(app, customer_id)
    assert (s.purchase_count, s.window_count, s.window_amount, s.tier, s.stage) == (1, 1, Decimal("3000.00"), "low", "new")
    buy(client, customer_id, "2000.00", days_ago=2)
    s = standing_of(app, customer_id)
    assert (s.window_count, s.window_amount, s.tier) == (2, Decimal("5000.00"), "medium")
    assert s.tier_since == business_today(app)
    assert changes_of(app, customer_id) == [("tier", None, "low"), ("stage", "potential", "new"),
                                           ("tier", "low", "medium")]


def test_editing_refunding_and_deleting_a_purchase_update_the_figures(app, shop):
    """Do an edited amount, a refund and a bulk delete each take the purchase's effect back out?"""
    client, customer_id = shop
    buy(client, customer_id, "3000.00", days_ago=20)
    buy(client, customer_id, "2000.00", days_ago=2)
    with app.app_context():
        first, second = db.session.scalars(select(Transaction.id).where(Transaction.customer_id == customer_id)
                                           .order_by(Transaction.id)).all()
    assert submit(client, f"/admin/transaction/edit/?id={first}", {"amount": "30000.00"}).status_code == 302
    assert standing_of(app, customer_id).window_amount == Decimal("32000.00")
    assert submit(client, f"/admin/transaction/edit/?id={first}", {"status": "refunded"}).status_code == 302
    s = standing_of(app, customer_id)
    assert (s.purchase_count, s.window_amount, s.tier) == (1, Decimal("2000.00"), "low")
    token = csrf_token(client.get("/admin/transaction/").get_data(as_text=True))
    response = client.post("/admin/transaction/action/", data={"action": "delete", "rowid": [str(second)],
                                                               "csrf_token": token})
    assert response.status_code == 302
    s = standing_of(app, customer_id)
    assert (s.purchase_count, s.window_amount, s.tier, s.stage) == (0, Decimal("0.00"), None, "potential")


def test_moving_a_purchase_to_another_customer_updates_both(app, shop):
    """When a purchase is corrected to belong to someone else, do both customers' figures follow?"""
    client, customer_id = shop
    with app.app_context():
        other = factories.customer().id
    buy(client, customer_id, "6000.00", days_ago=5)
    with app.app_context():
        tx = db.session.scalar(select(Transaction.id).where(Transaction.customer_id == customer_id))
    assert submit(client, f"/admin/transaction/edit/?id={tx}", {"customer": str(other)}).status_code == 302
    assert standing_of(app, customer_id).purchase_count == 0
    assert standing_of(app, other).purchase_count == 1


def test_logging_a_contact_sets_the_last_contact_and_the_next_date(app, shop):
    """Does a logged call set the last contact, and the due date to the cadence after it or to the date chosen?"""
    client, customer_id = shop
    called = NOW - timedelta(days=1)
    response = submit(client, "/admin/interaction/new/", {
        "customer": str(customer_id), "channel": "phone", "direction": "outbound", "summary": "回访", "outcome": "",
        "occurred_at": _fmt(called), "next_follow_up_on": ""})
    assert response.status_code == 302
    s = standing_of(app, customer_id)
    assert s.last_contact_at == called and s.due_set_by_contact is False
    assert s.next_follow_up_on == day_of(app, called) + timedelta(days=14)
    chosen = date.today() + timedelta(days=40)
    response = submit(client, "/admin/interaction/new/", {
        "customer": str(customer_id), "channel": "visit", "direction": "outbound", "summary": "上门", "outcome": "",
        "occurred_at": _fmt(NOW), "next_follow_up_on": chosen.isoformat()})
    assert response.status_code == 302
    s = standing_of(app, customer_id)
    assert (s.last_contact_at, s.next_follow_up_on, s.due_set_by_contact) == (NOW, chosen, True)


def test_the_customers_own_cadence_and_owner_are_followed(app, shop, login_as):
    """Does changing a customer's cadence move their due date, and changing the owner move their follow-ups?"""
    client, customer_id = shop
    with app.app_context():
        clerk = factories.user("clerk").id
    assert submit(client, f"/admin/customer/edit/?id={customer_id}",
                  {"follow_up_days": "3", "owner": str(clerk)}).status_code == 302
    s = standing_of(app, customer_id)
    assert s.next_follow_up_on == day_of(app, NOW - timedelta(days=30)) + timedelta(days=3)
    assert s.owner_id == clerk


def test_a_failed_save_leaves_the_standing_as_it_was(app, shop):
    """When a purchase is refused, is the standing untouched too (one transaction)?"""
    client, customer_id = shop
    before = standing_of(app, customer_id)
    response = submit(client, "/admin/transaction/new/", {
        "customer": str(customer_id), "product": "x", "quantity": "0", "amount": "100.00", "currency": "CNY",
        "occurred_at": _fmt(NOW), "channel": "online", "status": "paid", "campaign": ""})
    assert response.status_code == 200
    after = standing_of(app, customer_id)
    assert (after.purchase_count, after.updated_at) == (before.purchase_count, before.updated_at)


def test_changes_made_by_code_outside_the_panel_update_the_standing(app, app_ctx):
    """Does a purchase added through the session by a script or command count as one added in the panel?"""
    customer = Customer(name="脚本客户", kind="person", source="website")
    db.session.add(customer)
    db.session.flush()
    db.session.add(Transaction(customer_id=customer.id, product="p", quantity=1, amount=Decimal("25000"),
                               currency="CNY", occurred_at=NOW - timedelta(days=3), channel="store", status="paid"))
    db.session.add(Transaction(customer_id=customer.id, product="p", quantity=1, amount=Decimal("100"),
                               currency="CNY", occurred_at=NOW - timedelta(days=200), channel="store", status="paid"))
    db.session.commit()
    s = db.session.get(CustomerStanding, customer.id)
    assert (s.purchase_count, s.window_count, s.window_amount, s.stage) == (2, 2, Decimal("25100.00"), "active")


def test_refresh_stats_catches_up_with_time_and_bulk_loads(app, shop):
    """When purchases age or rows arrive in bulk, does `flask crm refresh-stats` bring every standing up to date?"""
    client, customer_id = shop
    buy(client, customer_id, "9000.00", days_ago=3)
    buy(client, customer_id, "9000.00", days_ago=4)
    assert standing_of(app, customer_id).stage == "new"
    with app.app_context(), db.engine.begin() as connection:  # what a year without purchases looks like
        connection.execute(text('UPDATE "transaction" SET occurred_at = :at'), {"at": NOW - timedelta(days=400)})
    assert standing_of(app, customer_id).stage == "new"  # raw SQL bypasses the session: stale until refreshed
    result = app.test_cli_runner().invoke(args=["crm", "refresh-stats"])
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output
    s = standing_of(app, customer_id)
    assert (s.stage, s.tier, s.window_count, s.window_amount) == ("churned", "low", 0, Decimal("0.00"))
    assert ("stage", "new", "churned") in changes_of(app, customer_id)


def test_a_refresh_never_overwrites_a_row_the_live_path_rewrote_meanwhile(app, shop):
    """If a purchase lands while the refresh is computing, is the refresh's stale result dropped for that row?"""
    client, customer_id = shop
    with app.app_context():
        with db.engine.connect() as connection:
            stale = compute(connection, q.id_in([customer_id]), load_rules(connection), today())
        buy(client, customer_id, "7000.00", days_ago=1)  # the live path rewrites the row meanwhile
        with db.engine.begin() as connection:
            assert write(connection, stale, today(), check_unchanged=True) in (0, 1)
    assert standing_of(app, customer_id).purchase_count == 1
