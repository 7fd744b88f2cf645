"""Undo from the log: a change reverted, a deleted record restored, a batch undone, exactly; never over a later change."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crmadmin.extensions import db
from crmadmin.auth.passwords import hash_password
from crmadmin.models import CampaignParticipant, Customer, Interaction, Role, Transaction, User
from tests import factories
from tests.conftest import log_entries, sign_in
from tests.forms import csrf_token, read_form, submit


def _row(app, model, record_id):
    """Every column of a record, for exact round-trip comparisons (version and updated_at aside)."""
    with app.app_context():
        record = db.session.get(model, record_id)
        if record is None:
            return None
        return {c.key: getattr(record, c.key) for c in model.__table__.c if c.key not in ("version", "updated_at")}


def _undo(client, entry_id, scope="entry"):
    page = client.get(f"/admin/auditentry/details/?id={entry_id}")
    assert page.status_code == 200
    response = client.post("/admin/auditentry/undo/", data={"id": str(entry_id), "scope": scope,
                                                            "csrf_token": csrf_token(page.get_data(as_text=True))})
    return response, client.get(response.headers["Location"]).get_data(as_text=True)


def test_reverting_an_edit_puts_every_field_back_exactly(app, login_as):
    """An administrator edits a customer, then undoes it from the log: is the customer exactly as before?"""
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer(name="Before", region="华东", email="before@example.com", credit_rating="A")
    before = _row(app, Customer, customer.id)
    submit(client, f"/admin/customer/edit/?id={customer.id}", {"name": "After", "email": "after@example.com",
                                                               "credit_rating": "C"})
    [edit] = log_entries(app, action="update", record_type="customer")
    response, page = _undo(client, edit.id)
    assert "1 change was undone." in page
    assert _row(app, Customer, customer.id) == before
    assert len(log_entries(app, action="update", record_type="customer")) == 2  # the undo is logged too


def test_restoring_a_deleted_transaction_brings_it_back_exactly(app, login_as):
    """Is a deleted record restored with its id and every value, money and time included?"""
    client = login_as("administrator")
    with app.app_context():
        sale = factories.transaction(factories.customer(), amount=Decimal("1234.56"), product="Premium membership")
    before = _row(app, Transaction, sale.id)
    token = csrf_token(client.get("/admin/transaction/").get_data(as_text=True))
    client.post("/admin/transaction/delete/", data={"id": str(sale.id), "csrf_token": token})
    assert _row(app, Transaction, sale.id) is None
    [deletion] = log_entries(app, action="delete", record_type="transaction")
    _undo(client, deletion.id)
    assert _row(app, Transaction, sale.id) == before


def test_undoing_a_batch_restores_a_deleted_customer_with_their_history(app, login_as):
    """A customer deleted with their interactions and campaign place: does undoing the batch bring all back?"""
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer(name="Comes back")
        note = factories.interaction(customer, summary="Kept call")
        place = factories.participant(factories.campaign(), customer, response="attended")
    rows = {(Customer, customer.id): _row(app, Customer, customer.id),
            (Interaction, note.id): _row(app, Interaction, note.id),
            (CampaignParticipant, place.id): _row(app, CampaignParticipant, place.id)}
    token = csrf_token(client.get("/admin/customer/").get_data(as_text=True))
    client.post("/admin/customer/delete/", data={"id": str(customer.id), "csrf_token": token})
    deletion = next(e for e in log_entries(app, action="delete") if e.record_type == "customer")
    response, page = _undo(client, deletion.id, scope="batch")
    assert "3 changes were undone." in page
    for (model, record_id), before in rows.items():
        assert _row(app, model, record_id) == before, model


def test_an_undo_that_would_overwrite_a_later_change_is_refused(app, login_as, snapshot):
    """Edit, edit again, then undo the first edit: is it refused with a message, changing nothing?"""
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer(name="One")
    submit(client, f"/admin/customer/edit/?id={customer.id}", {"name": "Two"})
    submit(client, f"/admin/customer/edit/?id={customer.id}", {"name": "Three"})
    first = log_entries(app, action="update", record_type="customer")[0]
    rows = snapshot()
    response, page = _undo(client, first.id)
    assert "Nothing was undone" in page and "changed again after this entry" in page
    assert snapshot() == rows


def test_undoing_a_creation_removes_the_record(app, login_as):
    """Can a mistaken new customer be taken back from the log?"""
    client = login_as("administrator")
    submit(client, "/admin/customer/new/", {"name": "Mistake", "kind": "person"})
    [creation] = log_entries(app, action="create", record_type="customer")
    _undo(client, creation.id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def _edited_customer(app, login_as):
    """A customer renamed by a supervisor: the log entry of the edit, for someone else to try to undo."""
    supervisor = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name="Stays")
    submit(supervisor, f"/admin/customer/edit/?id={customer.id}", {"name": "Changed"})
    [edit] = log_entries(app, action="update", record_type="customer")
    return customer, edit


def _try_undo(client, entry_id, scope):
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    return client.post("/admin/auditentry/undo/", data={"id": str(entry_id), "scope": scope, "csrf_token": token})


@pytest.mark.parametrize("scope", ["entry", "batch"])
@pytest.mark.parametrize("role", ["clerk", "auditor", "supervisor"])
def test_only_those_who_hold_the_undo_right_may_undo(app, login_as, snapshot, role, scope):
    """Can a clerk (no log access), an auditor (reads everything) or a supervisor (every right on customers, but not
    audit.undo) undo a change or its batch? Is the button even offered to those who read the log?"""
    customer, edit = _edited_customer(app, login_as)
    client = login_as(role)
    rows = snapshot()
    assert _try_undo(client, edit.id, scope).status_code == 403
    assert snapshot() == rows
    if role != "clerk":
        page = client.get(f"/admin/auditentry/details/?id={edit.id}").get_data(as_text=True)
        assert "Changed" in page and "undo-entry" not in page and "undo-batch" not in page


def test_a_custom_role_with_every_right_on_customers_may_undo_only_once_granted_the_undo_right(app, login_as, snapshot):
    """A role with all of customers' rights and the log: refused until an administrator ticks audit.undo in its grid,
    then its user sees the button and the undo works?"""
    customer, edit = _edited_customer(app, login_as)
    with app.app_context():
        desk = Role(name="customer desk", permissions={"customers.view", "customers.create", "customers.edit",
                                                      "customers.delete", "customers.export", "audit.view"})
        db.session.add(User(username="desk.li", password_hash=hash_password(factories.PASSWORD), roles=[desk]))
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "desk.li").status_code == 302
    rows = snapshot()
    assert _try_undo(client, edit.id, "entry").status_code == 403
    assert snapshot() == rows
    assert "undo-entry" not in client.get(f"/admin/auditentry/details/?id={edit.id}").get_data(as_text=True)

    admin = login_as("administrator")
    with app.app_context():
        role_id = db.session.scalar(select(Role.id).where(Role.name == "customer desk"))
    url = f"/admin/role/edit/?id={role_id}"
    page = admin.get(url).get_data(as_text=True)
    assert 'value="audit.undo"' in page  # the right is a box of the grid
    form = read_form(page)
    assert admin.post(url, data={**form, "permissions": form["permissions"] + ["audit.undo"]}).status_code == 302

    response, page = _undo(client, edit.id)
    assert "1 change was undone." in page
    with app.app_context():
        assert db.session.get(Customer, customer.id).name == "Stays"


def test_an_administrator_may_undo_anyones_change_and_sees_the_buttons(app, login_as):
    """Does the built-in administrator role carry the undo right, buttons and all?"""
    customer, edit = _edited_customer(app, login_as)
    admin = login_as("administrator")
    page = admin.get(f"/admin/auditentry/details/?id={edit.id}").get_data(as_text=True)
    assert "undo-entry" in page and "undo-batch" in page
    response, page = _undo(admin, edit.id, scope="batch")
    assert "1 change was undone." in page
    with app.app_context():
        assert db.session.get(Customer, customer.id).name == "Stays"
