"""No silent lost update: a save made from a stale form is refused and shows what changed meanwhile."""
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories
from tests.forms import read_form


def _open_edit_form(client, customer_id):
    page = client.get(f"/admin/customer/edit/?id={customer_id}")
    assert page.status_code == 200
    return read_form(page.get_data(as_text=True))


def test_the_second_of_two_editors_is_refused_and_the_first_save_survives(app, login_as):
    """Two supervisors open the same customer; the second save would overwrite the first: is it refused?"""
    with app.app_context():
        customer = factories.customer(name="Original", region="华东", email="orig@example.com")
    alice, bob = login_as("supervisor"), login_as("supervisor")
    alice_form, bob_form = _open_edit_form(alice, customer.id), _open_edit_form(bob, customer.id)
    assert alice_form["row_version"] == bob_form["row_version"] == "1"

    first = alice.post(f"/admin/customer/edit/?id={customer.id}", data={**alice_form, "name": "Alice's name"})
    assert first.status_code == 302

    second = bob.post(f"/admin/customer/edit/?id={customer.id}", data={**bob_form, "name": "Bob's name",
                                                                           "region": "华南"})
    page = second.get_data(as_text=True)
    assert second.status_code == 200
    assert "Someone else saved this record while you were editing it" in page
    assert "Alice&#39;s name" in page or "Alice's name" in page  # what changed meanwhile is shown
    with app.app_context():
        stored = db.session.get(Customer, customer.id)
        assert (stored.name, stored.region, stored.version) == ("Alice's name", "华东", 2)


def test_a_form_without_a_version_is_refused(app, login_as):
    """Can a client skip the version check by leaving the hidden version out?"""
    with app.app_context():
        customer = factories.customer(name="Kept")
    client = login_as("supervisor")
    form = _open_edit_form(client, customer.id)
    del form["row_version"]
    response = client.post(f"/admin/customer/edit/?id={customer.id}", data={**form, "name": "Sneaky"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Customer.name).where(Customer.id == customer.id)) == "Kept"


def test_a_concurrent_write_between_check_and_save_is_caught_by_the_database(app):
    """If another transaction commits after our form check, does the versioned UPDATE still refuse ours?"""
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError
    import pytest

    with app.app_context():
        customer = factories.customer(name="Race")
        with Session(db.engine) as mine, Session(db.engine) as theirs:
            a = mine.get(Customer, customer.id)
            b = theirs.get(Customer, customer.id)
            b.name = "Theirs"
            theirs.commit()
            a.name = "Mine"
            with pytest.raises(StaleDataError):
                mine.commit()
        assert db.session.scalar(select(Customer.name).where(Customer.id == customer.id)) == "Theirs"


def test_reloading_after_a_conflict_lets_the_user_save(app, login_as):
    """After a refused save, can the user reload and save on top of the current version?"""
    with app.app_context():
        customer = factories.customer(name="Start")
    alice, bob = login_as("supervisor"), login_as("supervisor")
    bob_form = _open_edit_form(bob, customer.id)
    alice_form = _open_edit_form(alice, customer.id)
    alice.post(f"/admin/customer/edit/?id={customer.id}", data={**alice_form, "name": "Alice"})
    bob.post(f"/admin/customer/edit/?id={customer.id}", data={**bob_form, "name": "Bob"})
    fresh = _open_edit_form(bob, customer.id)
    assert fresh["name"] == "Alice" and fresh["row_version"] == "2"
    assert bob.post(f"/admin/customer/edit/?id={customer.id}", data={**fresh, "name": "Bob"}).status_code == 302
    with app.app_context():
        assert db.session.get(Customer, customer.id).version == 3
