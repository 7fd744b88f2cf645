"""The Tiers and Churn Warning screens, the customer list's tier column and filter, and the rules settings."""
import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import AuditEntry, CustomerStanding, Setting, StandingChange, User, utcnow
from tests import factories
from tests.exporting import export
from tests.test_rules_job import wait_rules
from tests.forms import submit

NOW = utcnow()


def _customer(owner_id, name, amounts, days_ago=(3,)):
    """A customer with one paid purchase per amount, the n-th `days_ago[n]` days ago (last value repeats)."""
    customer = factories.customer(name=name, owner_id=owner_id, created_at=NOW - timedelta(days=800))
    for n, amount in enumerate(amounts):
        days = days_ago[min(n, len(days_ago) - 1)]
        factories.transaction(customer, amount=Decimal(amount), occurred_at=NOW - timedelta(days=days))
    return customer.id


@pytest.fixture
def book(app, login_as):
    """Two clerks' customers in every tier, and two at risk; returns the clerk's client and the clerk's name."""
    clerk = login_as("clerk")
    with app.app_context():
        mine = db.session.scalar(select(User.id).where(User.username == clerk.username))
        other = factories.user("clerk").id
        _customer(mine, "高价值甲", ["9000"] * 4)                          # high: 36,000, 4 orders
        _customer(mine, "高价值乙", ["6000"] * 4)                          # high: 24,000
        _customer(other, "Other High", ["8000"] * 4)                      # high, another owner
        _customer(mine, "中价值", ["3000", "3000"])                         # medium
        _customer(mine, "低价值", ["100"])                                 # low
        _customer(mine, "流失预警", ["5000", "5000", "5000"], days_ago=(300, 200, 100))  # spend halved
        _customer(other, "Other Risk", ["900"], days_ago=(120,))
        factories.customer(name="从未购买", owner_id=mine)                 # never bought: no tier
    return clerk


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/customer/details/\?id=\d+">([^<]+)</a>', html)


def test_the_tiers_screen_lists_a_tier_highest_value_first_with_why(app, login_as, book):
    """Does the high tier list its customers by amount spent, with R, F, M and the reason, and totals per tier?"""
    client = login_as("supervisor")
    page = client.get("/admin/tiers/").get_data(as_text=True)
    high_url = re.search(r'href="([^"]+)" class="tier-link" data-tier="high"', page).group(1).replace("&amp;", "&")
    high = client.get(high_url).get_data(as_text=True)
    assert _names(high) == ["高价值甲", "Other High", "高价值乙"]
    assert "36,000.00" in high and "(≥ 20,000.00)" in high
    totals = re.findall(r'data-tier="(\w+)">([\d,]+)</a>', page)
    assert dict(totals) == {"high": "3", "medium": "2", "low": "2"}


def test_a_clerk_sees_only_their_own_customers_in_tiers_churn_and_totals(app, book):
    """Are another owner's customers absent from a scoped clerk's tiers, churn list, totals and export?"""
    client = book
    tiers = client.get("/admin/tiers/").get_data(as_text=True)
    assert "Other High" not in tiers and "高价值甲" in tiers
    assert dict(re.findall(r'data-tier="(\w+)">([\d,]+)</a>', tiers)) == {"high": "2", "medium": "2", "low": "1"}
    churn = client.get("/admin/churn/").get_data(as_text=True)
    assert _names(churn) == ["流失预警"]


def test_the_churn_warning_lists_at_risk_customers_with_the_reason(app, login_as, book):
    """Does the churn list show every at-risk customer, highest value first, with why and the owner?"""
    page = login_as("supervisor").get("/admin/churn/").get_data(as_text=True)
    assert _names(page) == ["流失预警", "Other Risk"]
    assert "Spend fell 50%: 10,000.00 in the previous half of the window, 5,000.00 in the recent half." in page
    assert "Silent for 120 days since their only purchase" in page


def test_the_tier_export_carries_the_figures_and_the_reason(app, login_as, book, job_worker):
    """Does exporting the tiers list (its job's file) give each customer's R, F, M and reason as text?"""
    body = export(login_as("supervisor"), "/admin/tiers/export/csv/").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    first = rows[0]
    assert first["Customer"] == "高价值甲" and first["Value tier"] == "High value"
    assert first["M: spent in the window"] == "36000.00" and first["F: orders in the window"] == "4"
    assert first["Why"].startswith("36,000.00 spent")


def test_the_customer_list_filters_by_exact_tier_and_shows_it(app, login_as, book):
    """Does the customer list's tier filter return exactly that tier, with the tier shown in its column?"""
    client = login_as("supervisor")
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "customer")
    with app.test_request_context():
        index = next(i for i, f in enumerate(view._filters) if f.column.key == "tier" and type(f).__name__ == "EnumEqualFilter")
        arg = view.get_filter_arg(index, view._filters[index])
    page = client.get(f"/admin/customer/?flt0_{arg}=medium").get_data(as_text=True)
    # each name once, as its cell's text (the cell's title holds it too, whole on hover)
    assert sorted(re.findall(r">(中价值|流失预警|高价值甲|低价值)<", page)) == ["中价值", "流失预警"]
    assert "Medium value" in page


def test_the_details_page_shows_the_figures_and_the_history_of_the_standing(app, login_as, book):
    """Does a customer's page show tier and stage with why, R/F/M and when the standing changed?"""
    client = login_as("supervisor")
    with app.app_context():
        customer_id = db.session.scalar(select(CustomerStanding.customer_id).join(CustomerStanding.customer)
                                        .where(CustomerStanding.tier == "high", CustomerStanding.window_count == 4)
                                        .order_by(CustomerStanding.window_amount.desc()))
    page = client.get(f"/admin/customer/details/?id={customer_id}").get_data(as_text=True)
    assert re.search(r'class="standing-tier">High value<', page)
    assert "36,000.00" in page and "Changes of standing" in page


def test_standing_changes_are_dated_by_the_business_day(app, login_as, monkeypatch):
    """Is a change made at 20:00 UTC shown on the next day in Shanghai, the day the rules counted?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", "Asia/Shanghai")
    client = login_as("supervisor")
    with app.app_context():
        customer_id = factories.customer().id
        with db.engine.begin() as connection:
            connection.execute(StandingChange.__table__.insert().values(
                customer_id=customer_id, kind="tier", before="low", after="medium",
                changed_at=datetime(2026, 1, 1, 20, 0)))
    page = client.get(f"/admin/customer/details/?id={customer_id}").get_data(as_text=True)
    changes = page.split('class="list-unstyled small standing-changes"')[1].split("</ul>")[0]
    assert "2026-01-02" in changes and "2026-01-01" not in changes


def test_changed_rules_take_effect_for_everyone_and_are_logged(app, login_as, book, job_worker):
    """When an administrator raises the high-value minimum, do customers below it drop a tier, with a log entry?"""
    admin = login_as("administrator")
    response = submit(admin, "/admin/settings/", {"high_min_amount": "30000"})
    assert response.status_code == 302
    assert wait_rules(app, admin)["state"] == "done"  # the job applying them (tests/test_rules_job.py)
    with app.app_context():
        tiers = dict(db.session.execute(select(CustomerStanding.window_amount, CustomerStanding.tier)
                                        .where(CustomerStanding.window_count == 4)).all())
        assert tiers == {Decimal("36000.00"): "high", Decimal("24000.00"): "medium", Decimal("32000.00"): "high"}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.record_type == "setting",
                                                          AuditEntry.record_id == "high_min_amount"))
        assert entry is not None and "30000" in entry.changes


def test_contradictory_rules_are_refused_with_a_message_and_change_nothing(app, login_as, book, snapshot):
    """Is a high-value minimum below the medium one refused, in the user's language, with nothing stored?"""
    admin = login_as("administrator")
    rows = snapshot()
    response = submit(admin, "/admin/settings/", {"high_min_amount": "1000"})
    assert response.status_code == 200
    assert "The high value minimum cannot be below the medium value minimum." in response.get_data(as_text=True)
    assert snapshot() == rows
    with app.app_context():
        assert db.session.scalar(select(Setting).where(Setting.key == "high_min_amount")) is None


@pytest.mark.parametrize("endpoint", ["tiers", "churn"])
def test_the_standing_screens_run_the_same_statements_for_3_rows_as_for_20(app, login_as, count_queries, endpoint):
    """Does a longer tiers or churn list cost more queries (an N+1 on customer, owner or reason)?"""
    client = login_as("supervisor")

    def fill(n):
        with app.app_context():
            owner = factories.user("clerk").id
            for i in range(n):
                _customer(owner, f"C{i}", ["9000"] * 4, days_ago=(300, 200, 150, 100))

    def statements():
        client.get(f"/admin/{endpoint}/?page_size=50")
        with count_queries() as seen:
            assert client.get(f"/admin/{endpoint}/?page_size=50").status_code == 200
        return len(seen)

    fill(3)
    few = statements()
    fill(17)
    assert statements() == few
