"""The one date and time picker: every date and time box of every form is drawn for it (static/js/pickers.js)."""
import re
from datetime import datetime

from sqlalchemy import Date, DateTime

from crmadmin.extensions import db
from crmadmin.models import Interaction, Transaction
from tests import factories
from tests.forms import read_form, submit

FORBIDDEN = re.compile(r'type="(date|datetime-local|datetime|time)"|data-role="(date|datetime|time)(range)?picker"')
INPUT = re.compile(r"<input\b[^>]*>")
# the date boxes of forms of our own, which no model column names
OWN_DATE_BOXES = {"starts_from", "starts_until"}


def _date_columns() -> set[str]:
    return {column.name for table in db.metadata.tables.values() for column in table.columns
            if isinstance(column.type, (Date, DateTime))} | OWN_DATE_BOXES


def _sample_records(app) -> dict[str, int]:
    """A record of every kind a form edits: its id by the screen's endpoint (the customer's for the rest)."""
    with app.app_context():
        customer = factories.customer(birthday=datetime(1990, 5, 17).date())
        campaign = factories.campaign()
        ids = {"customer": customer.id, "transaction": factories.transaction(customer).id,
               "interaction": factories.interaction(customer).id, "complaint": factories.complaint(customer).id,
               "campaign": campaign.id, "campaignparticipant": factories.participant(campaign, customer).id,
               "survey": factories.survey(customer).id}
    return ids


def test_every_date_and_time_box_of_every_form_is_drawn_for_the_picker(app, login_as):
    """Does any form still offer the browser's own date input or Flask-Admin's English daterangepicker?"""
    ids = _sample_records(app)
    client = login_as("administrator")
    with app.app_context():
        date_names = _date_columns()
    with_boxes = set()
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        if (not rule.rule.startswith("/admin") or "GET" not in rule.methods or "<" in rule.rule
                or endpoint.endswith((".static", ".export")) or "/ajax/" in rule.rule):
            continue
        view = endpoint.split(".")[0]
        record = ids.get(view, ids["customer"])
        response = client.get(f"{rule.rule}?id={record}&customer_id={ids['customer']}")
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        for tag in INPUT.findall(response.get_data(as_text=True)):
            assert not FORBIDDEN.search(tag), (rule.rule, tag)
            name = re.search(r'name="([^"]*)"', tag)
            if name and name.group(1).split("-")[-1] in date_names and 'type="hidden"' not in tag:
                assert re.search(r'data-picker="(date|datetime)"', tag), (rule.rule, tag)
                assert 'type="text"' in tag, (rule.rule, tag)
                with_boxes.add(rule.rule)
    assert {"/admin/customer/new/", "/admin/customer/edit/", "/admin/transaction/new/", "/admin/transaction/edit/",
            "/admin/interaction/new/", "/admin/complaint/new/", "/admin/campaign/new/", "/admin/survey/new/",
            "/admin/personaldata/correct/", "/admin/personaldata/erase/", "/admin/followups/log/",
            "/admin/campaigncomparison/"} <= with_boxes, sorted(with_boxes)


def test_a_time_saved_from_a_generated_form_is_the_minute_typed_and_an_untouched_one_keeps_its_seconds(app, login_as):
    """Does the date-and-time box read "YYYY-MM-DD HH:MM", and does saving a form leave a time nobody touched as it was?"""
    with app.app_context():
        customer = factories.customer()
        typed = factories.transaction(customer)
        untouched = factories.transaction(customer, occurred_at=datetime(2026, 3, 4, 9, 15, 42))
        typed_id, untouched_id = typed.id, untouched.id
    client = login_as("administrator")

    page = client.get(f"/admin/transaction/edit/?id={untouched_id}").get_data(as_text=True)
    # shown at the minute in the viewer's zone (Asia/Shanghai, UTC+8), stored in UTC to the second
    assert read_form(page, "edit_form" if 'id="edit_form"' in page else None)["occurred_at"] == "2026-03-04 17:15"
    response = submit(client, f"/admin/transaction/edit/?id={typed_id}", {"occurred_at": "2026-02-03 08:07"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    response = submit(client, f"/admin/transaction/edit/?id={untouched_id}", {"quantity": "2"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(Transaction, typed_id).occurred_at == datetime(2026, 2, 3, 0, 7)
        kept = db.session.get(Transaction, untouched_id)
        assert (kept.quantity, kept.occurred_at) == (2, datetime(2026, 3, 4, 9, 15, 42))
