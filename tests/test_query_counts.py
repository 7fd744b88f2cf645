"""N+1 guards: the number of SQL statements a page runs does not grow with the rows it shows."""
import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import User
from tests import factories


def _fill(app, kind: str, n: int):
    with app.app_context():
        owner = factories.user("clerk")
        campaign = factories.campaign()
        for _ in range(n):
            customer = factories.customer(owner_id=owner.id)
            if kind == "transaction":
                factories.transaction(customer, campaign_id=campaign.id)
            elif kind == "interaction":
                factories.interaction(customer, handled_by_id=owner.id)
            elif kind == "complaint":
                factories.complaint(customer, assignee_id=owner.id)
            elif kind == "campaignparticipant":
                factories.participant(campaign, customer)
            elif kind == "campaign":
                factories.campaign(owner_id=owner.id)
            elif kind == "user":
                factories.user("auditor")


def _statements(client, count_queries, url):
    client.get(url)  # warm caches that are built once per process
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


@pytest.mark.parametrize("kind", ["customer", "transaction", "interaction", "complaint", "campaign",
                                  "campaignparticipant", "user", "role"])
def test_a_list_page_runs_the_same_statements_for_3_rows_as_for_20(app, login_as, count_queries, kind):
    """Does showing more rows cost more queries (an N+1 in a column or a __str__)?"""
    client = login_as("administrator")
    url = f"/admin/{kind}/?page_size=20"
    _fill(app, kind, 3)
    few = _statements(client, count_queries, url)
    _fill(app, kind, 17)
    many = _statements(client, count_queries, url)
    assert few == many, f"{kind}: {few} statements with 3 rows, {many} with 20"
    assert many <= 8


def test_a_customer_details_page_does_not_grow_with_their_history(app, login_as, count_queries):
    """Does a customer with many purchases and contacts cost more queries to open than one with few?"""
    client = login_as("supervisor")
    with app.app_context():
        small, large = factories.customer(), factories.customer()
        campaign = factories.campaign()
        factories.transaction(small, campaign_id=campaign.id)
        for _ in range(30):
            factories.transaction(large, campaign_id=campaign.id)
            factories.interaction(large)
        factories.complaint(large)
    few = _statements(client, count_queries, f"/admin/customer/details/?id={small.id}")
    many = _statements(client, count_queries, f"/admin/customer/details/?id={large.id}")
    assert many <= few + 2  # only the totals of the sections that are longer than one page are counted


@pytest.mark.parametrize("url", ["/admin/tiers/", "/admin/churn/", "/admin/followups/", "/admin/customer/",
                                 "/admin/transaction/"])
def test_a_clerks_list_reads_their_roles_once_with_their_sign_in(app, login_as, count_queries, url):
    """Do the rows of a clerk's own customers, each naming the clerk as owner, leave the roles read with the user in
    place, instead of loading them again?"""
    client = login_as("clerk")
    with app.app_context():
        clerk = db.session.scalar(select(User).where(User.username == client.username))
        for _ in range(3):
            customer = factories.customer(owner_id=clerk.id)
            factories.transaction(customer)
    client.get(url)
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    reading_roles = [s for s in statements if "FROM role" in s or "role_permission" in s]
    assert len(reading_roles) == 1 and "user_role" in reading_roles[0], reading_roles
