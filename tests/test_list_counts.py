"""Do list totals stop counting at a cap, say so, and still follow the search and data scope?"""
import re

import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import User
from tests import factories
from tests.pages import shown_total


@pytest.fixture
def small_cap(app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_COUNT_CAP", 5)


def test_a_total_above_the_cap_is_shown_as_at_least_the_cap(app, login_as, small_cap):
    """With more customers than the cap, does the list say "5+" and still show every row of the page?"""
    client = login_as("supervisor")
    with app.app_context():
        names = [factories.customer().name for _ in range(7)]
    page = client.get("/admin/customer/").get_data(as_text=True)
    assert shown_total(page) == "5+"
    assert all(name in page for name in names), [n for n in names if n not in page]


def test_a_total_below_the_cap_is_exact_and_follows_filters_and_scope(app, login_as, small_cap):
    """Under the cap, is the total the exact count of what the search and the clerk's scope let through?"""
    clerk = login_as("clerk")
    supervisor = login_as("supervisor")
    with app.app_context():
        me = factories.user("clerk", username="owner.x")
        for i in range(7):
            factories.customer(name=f"Zebra {i}" if i < 2 else f"Customer {i}")
    assert shown_total(supervisor.get("/admin/customer/?search=Zebra").get_data(as_text=True)) == "2"
    with app.app_context():
        mine = db.session.scalar(select(User.id).where(User.username == clerk.username))
        for _ in range(3):
            factories.customer(owner_id=mine)
        assert me.id != mine
    assert shown_total(clerk.get("/admin/customer/").get_data(as_text=True)) == "3"


@pytest.mark.parametrize("path", ["/admin/customer/", "/admin/transaction/", "/admin/interaction/"])
def test_no_list_page_counts_a_whole_table(app, login_as, count_queries, path):
    """Is every COUNT a list page sends bounded by a LIMIT, so it never scans ten million rows?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer()
        factories.transaction(customer)
        factories.interaction(customer)
    with count_queries() as statements:
        assert client.get(path).status_code == 200
    counts = [s for s in statements if re.search(r"\bcount\(", s, re.I)]
    assert counts, "the list shows a total"
    for statement in counts:
        assert re.search(r"\bLIMIT\b", statement, re.I), statement


def test_a_search_stops_counting_at_its_own_lower_cap(app, login_as, monkeypatch):
    """Does a search's total stop at CRM_SEARCH_COUNT_CAP ("3+") and still list the page, while the same list, not
    searched, counts on to CRM_COUNT_CAP?"""
    monkeypatch.setitem(app.config, "CRM_COUNT_CAP", 10)
    monkeypatch.setitem(app.config, "CRM_SEARCH_COUNT_CAP", 3)
    client = login_as("supervisor")
    with app.app_context():
        for i in range(5):
            factories.customer(name=f"Zebra {i}")
        factories.customer(name="Okapi")
    assert shown_total(client.get("/admin/customer/").get_data(as_text=True)) == "6"
    page = client.get("/admin/customer/?search=Zebra").get_data(as_text=True)
    assert shown_total(page) == "3+"
    assert all(f"Zebra {i}" in page for i in range(5))
    assert shown_total(client.get("/admin/customer/?search=Okapi").get_data(as_text=True)) == "1"
