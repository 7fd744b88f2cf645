"""不得抢客: a clerk limited to their own customers reaches no one else's, by any path."""
import csv
import io

import pyotp
import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Customer, Role, User
from tests import factories
from tests.conftest import sign_in
from tests.exporting import export
from tests.forms import csrf_token, read_form, submit


@pytest.fixture
def book(app, login_as):
    """A signed-in clerk with one customer of their own, and a colleague's customer with history."""
    clerk = login_as("clerk")
    with app.app_context():
        clerk_id = db.session.scalar(select(User.id).where(User.username == clerk.username))
        colleague = factories.user("clerk")
        mine = factories.customer(name="Mine Wang", owner_id=clerk_id)
        theirs = factories.customer(name="Theirs Li", owner_id=colleague.id)
        records = {
            "transaction": factories.transaction(theirs, product="Their purchase").id,
            "interaction": factories.interaction(theirs, summary="Their call").id,
            "complaint": factories.complaint(theirs, subject="Their complaint").id,
            "campaignparticipant": factories.participant(factories.campaign(), theirs).id,
        }
        factories.transaction(mine, product="My purchase")
    return {"client": clerk, "clerk_id": clerk_id, "colleague_id": colleague.id, "mine": mine.id,
            "theirs": theirs.id, "their_records": records}


def test_a_clerk_lists_only_their_own_customers_and_records(book):
    """Does any list show a clerk another owner's customer or that customer's records?"""
    client = book["client"]
    customers = client.get("/admin/customer/").get_data(as_text=True)
    assert "Mine Wang" in customers and "Theirs Li" not in customers
    transactions = client.get("/admin/transaction/").get_data(as_text=True)
    assert "My purchase" in transactions and "Their purchase" not in transactions
    assert "Their call" not in client.get("/admin/interaction/").get_data(as_text=True)
    assert "Their complaint" not in client.get("/admin/complaint/").get_data(as_text=True)
    assert "Theirs Li" not in client.get("/admin/campaignparticipant/").get_data(as_text=True)
    assert "Theirs Li" not in client.get("/admin/customer/?search=Theirs").get_data(as_text=True)


def test_another_owners_customer_is_not_found_by_id(book, snapshot):
    """Can a clerk open, edit or delete a colleague's customer by typing its id in the URL?"""
    client, theirs = book["client"], book["theirs"]
    rows = snapshot()
    assert client.get(f"/admin/customer/details/?id={theirs}").status_code == 404
    assert client.get(f"/admin/customer/edit/?id={theirs}").status_code == 404
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.post(f"/admin/customer/edit/?id={theirs}", data={"csrf_token": token, "name": "Stolen",
                                                                 "kind": "person", "row_version": "1"}).status_code == 404
    for endpoint, record_id in book["their_records"].items():
        assert client.get(f"/admin/{endpoint}/details/?id={record_id}").status_code == 404, endpoint
        assert client.get(f"/admin/{endpoint}/edit/?id={record_id}").status_code in (403, 404), endpoint
    assert snapshot() == rows


def test_the_customer_picker_never_offers_another_owners_customer(book):
    """Does the AJAX customer lookup list a colleague's customer?"""
    found = book["client"].get("/admin/transaction/ajax/lookup/", query_string={"name": "customer", "query": "Li"}).get_json()
    assert found == []
    found = book["client"].get("/admin/transaction/ajax/lookup/", query_string={"name": "customer", "query": "Wang"}).get_json()
    assert [pk for pk, _ in found] == [book["mine"]]


def test_a_clerk_cannot_attach_a_record_to_another_owners_customer(app, book, snapshot):
    """Posting a colleague's customer id in a transaction form: is it refused with nothing stored?"""
    rows = snapshot()
    response = submit(book["client"], "/admin/transaction/new/", {
        "customer": str(book["theirs"]), "product": "Sneaky", "quantity": "1", "amount": "10", "currency": "CNY",
        "occurred_at": "2025-01-02 10:00:00", "channel": "store", "status": "paid"})
    assert response.status_code == 200
    assert "This field is required." in response.get_data(as_text=True)
    assert snapshot() == rows


def test_an_export_carries_only_the_clerks_own_customers(app, job_worker):
    """Could a scoped role with export rights export the whole customer book (through the export's job)?"""
    with app.app_context():
        exporter = Role(name="scoped exporter", own_customers_only=True,
                        permissions={"customers.view", "customers.export"})
        db.session.add(exporter)
        db.session.commit()
        user = factories.user(None)
        db.session.get(User, user.id).roles = [db.session.get(Role, exporter.id)]
        db.session.commit()
        factories.customer(name="Exported", owner_id=user.id)
        factories.customer(name="Not exported")
    client = app.test_client()
    sign_in(client, user.username)
    body = export(client, "/admin/customer/export/csv/").get_data().decode("utf-8-sig")
    names = [row["Name"] for row in csv.DictReader(io.StringIO(body))]
    assert names == ["Exported"]


def test_a_scoped_bulk_delete_cannot_reach_another_owners_customer(app, snapshot):
    """With delete rights but scoped, does a bulk action with a colleague's id change anything?"""
    with app.app_context():
        deleter = Role(name="scoped deleter", own_customers_only=True, permissions={"customers.view", "customers.delete"})
        db.session.add(deleter)
        db.session.commit()
        user = factories.user(None)
        db.session.get(User, user.id).roles = [db.session.get(Role, deleter.id)]
        db.session.commit()
        theirs = factories.customer(name="Not yours")
    client = app.test_client()
    sign_in(client, user.username)
    rows = snapshot()
    token = csrf_token(client.get("/admin/customer/").get_data(as_text=True))
    client.post("/admin/customer/action/", data={"action": "delete", "rowid": str(theirs.id), "csrf_token": token})
    assert client.post("/admin/customer/delete/", data={"id": str(theirs.id), "csrf_token": token}).status_code == 404
    assert snapshot() == rows


def test_a_clerks_new_customer_is_their_own_and_they_cannot_choose_the_owner(app, book):
    """Can a clerk hand a new customer to a colleague (or grab one) through the owner field?"""
    client = book["client"]
    form = read_form(client.get("/admin/customer/new/").get_data(as_text=True))
    assert "owner" not in form
    response = submit(client, "/admin/customer/new/", {"name": "Fresh", "kind": "person",
                                                       "owner": str(book["colleague_id"])})
    assert response.status_code == 302
    with app.app_context():
        fresh = db.session.scalar(select(Customer).where(Customer.name == "Fresh"))
        assert fresh.owner_id == book["clerk_id"]


def test_extra_post_fields_are_not_mass_assigned(app, book):
    """Can a clerk set the owner, version, timestamps or derived figures by adding fields to the POST?"""
    client = book["client"]
    url = f"/admin/customer/edit/?id={book['mine']}"
    with app.app_context():
        derived = (db.session.get(Customer, book["mine"]).standing.tier, db.session.get(Customer, book["mine"]).standing.stage)
    response = submit(client, url, {"owner": str(book["colleague_id"]), "owner_id": str(book["colleague_id"]),
                                    "version": "99", "created_at": "2000-01-01 00:00:00", "value_tier": "high",
                                    "lifecycle_stage": "loyal", "name": "Renamed"})
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Customer, book["mine"])
        assert (stored.name, stored.owner_id, stored.version) == ("Renamed", book["clerk_id"], 2)
        assert (stored.standing.tier, stored.standing.stage) == derived != ("high", "loyal")
        assert stored.created_at.year > 2000


def test_an_administrator_cannot_set_a_password_hash_by_post(app, login_as):
    """Is the password hash out of reach of the user form, even for an administrator?"""
    client = login_as("administrator")
    with app.app_context():
        target = factories.user("clerk")
        original = db.session.get(User, target.id).password_hash
    response = submit(client, f"/admin/user/edit/?id={target.id}", {"password_hash": "$argon2id$forged",
                                                                     "session_token": "forged"})
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(User, target.id)
        assert stored.password_hash == original


def test_a_supervisor_can_reassign_a_customer(app, login_as):
    """Can someone with the assign right move a customer to another owner?"""
    client = login_as("supervisor")
    with app.app_context():
        a, b = factories.user("clerk"), factories.user("clerk")
        customer = factories.customer(owner_id=a.id)
    assert submit(client, f"/admin/customer/edit/?id={customer.id}", {"owner": str(b.id)}).status_code == 302
    with app.app_context():
        assert db.session.get(Customer, customer.id).owner_id == b.id


def test_rights_add_up_an_unscoped_role_lifts_the_limit(app, book):
    """A clerk who is also an auditor: do they see the whole book, as the auditor role allows? (The auditor role
    requires two-factor sign-in: the clerk has set it up and signs in with both steps.)"""
    with app.app_context():
        clerk = db.session.get(User, book["clerk_id"])
        clerk.roles = clerk.roles + [db.session.scalar(select(Role).where(Role.name == "auditor"))]
        clerk.totp_secret = pyotp.random_base32()
        db.session.commit()
        username = clerk.username
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    page = client.get("/admin/customer/").get_data(as_text=True)
    assert "Mine Wang" in page and "Theirs Li" in page
