"""Complaint due times: from urgency and severity, shown as time left or overdue, and the Overdue Complaints screen."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crmadmin.admin.complaints import due_state
from crmadmin.extensions import db
from crmadmin.models import Complaint, Setting, User, utcnow
from tests import factories
from tests.forms import read_form
from tests.pages import listed_ids, listed_in_order
from tests.test_complaint_workflow import post_move, stored, values_for
from tests.test_dashboard import figures, number

RECEIVED = datetime(2026, 3, 2, 9, 30)


def register(app, **kw) -> int:
    """A complaint registered through the ORM with no deadlines given, as the forms and moves save it."""
    with app.app_context():
        customer = factories.customer()
        values = dict(customer_id=customer.id, subject="Late", description="Late parcel", channel="phone",
                      received_at=RECEIVED, type="service", severity="general", urgency="normal")
        values.update(kw)
        complaint = Complaint(**values)
        db.session.add(complaint)
        db.session.commit()
        return complaint.id


@pytest.mark.parametrize("urgency,severity,respond_hours,resolve_hours", [
    ("urgent", "general", 4, 24),
    ("normal", "general", 24, 72),
    ("common_question", "general", 48, 120),
    ("urgent", "major", 4, 24),            # the urgency's 24 h is sooner than the major complaints' 48 h
    ("normal", "major", 24, 48),
    ("common_question", "major", 48, 48),
])
def test_a_new_complaint_is_due_by_its_urgency_and_severity(app, urgency, severity, respond_hours, resolve_hours):
    """Are the first-response and resolution deadlines the handbook's hours after the complaint was received?"""
    complaint = stored(app, register(app, urgency=urgency, severity=severity))
    assert complaint.respond_due_at == RECEIVED + timedelta(hours=respond_hours)
    assert complaint.due_at == RECEIVED + timedelta(hours=resolve_hours)
    assert complaint.next_due_at == complaint.respond_due_at


def test_after_the_first_response_the_resolution_deadline_applies_and_a_closed_complaint_has_none(app, login_as):
    """Does assessing switch the deadline that applies now to resolution, and closing clear it?"""
    client = login_as("supervisor")
    complaint_id = register(app, received_at=utcnow() - timedelta(hours=1))
    post_move(client, "assess", [complaint_id], values_for("assess", 0))
    assessed = stored(app, complaint_id)
    assert assessed.next_due_at == assessed.due_at
    assert post_move(client, "reject", [complaint_id], {"note": "Unfounded"}).status_code == 302
    assert stored(app, complaint_id).next_due_at is None


def test_reclassifying_moves_the_deadlines_and_an_edit_cannot(app, login_as):
    """Does making a normal complaint urgent bring its deadline forward (and is received_at not editable)?"""
    client = login_as("supervisor")
    complaint_id = register(app, received_at=utcnow() - timedelta(hours=2), status="assessed",
                            responded_at=utcnow() - timedelta(hours=1))
    before = stored(app, complaint_id)
    assert before.due_at - before.received_at == timedelta(hours=72)
    post_move(client, "reclassify", [complaint_id], {"urgency": "urgent", "note": "Escalated by phone"})
    after = stored(app, complaint_id)
    assert after.due_at - after.received_at == timedelta(hours=24)
    assert after.next_due_at == after.due_at
    assert "received_at" not in read_form(client.get(f"/admin/complaint/edit/?id={complaint_id}")
                                          .get_data(as_text=True))


def test_due_times_are_shown_as_time_left_then_time_overdue_at_the_boundary():
    """At its deadline a complaint still has no time left to lose; one second later it is overdue."""
    deadline = datetime(2026, 3, 2, 13, 30)
    complaint = Complaint(status="received", next_due_at=deadline, respond_due_at=deadline, due_at=deadline)
    assert due_state(complaint, deadline - timedelta(hours=26, minutes=5))[1] == "response: 1 d 2 h left"
    assert due_state(complaint, deadline - timedelta(minutes=90))[1] == "response: 1 h 30 min left"
    assert due_state(complaint, deadline)[1] == "response: 0 min left"
    assert due_state(complaint, deadline + timedelta(seconds=1))[0] == "badge-danger"
    assert due_state(complaint, deadline + timedelta(hours=3))[1] == "response 3 h 0 min overdue"
    complaint.responded_at = deadline
    assert due_state(complaint, deadline + timedelta(days=2))[1] == "resolution 2 d 0 h overdue"
    finished = Complaint(status="closed", due_at=deadline, closed_at=deadline + timedelta(hours=5))
    assert due_state(finished, deadline + timedelta(days=9))[1] == "finished 5 h 0 min late"
    assert due_state(Complaint(status="closed", due_at=deadline, closed_at=deadline), deadline) is None


def test_the_overdue_screen_lists_open_complaints_past_due_urgent_first(app, login_as):
    """Which complaints does the Overdue Complaints screen list, and in what order?"""
    now = utcnow()
    with app.app_context():
        customer = factories.customer()

        def make(urgency, minutes_past, **kw):
            return factories.complaint(customer, urgency=urgency, received_at=now - timedelta(days=10),
                                       due_at=now - timedelta(minutes=minutes_past), **kw).id

        normal_long_ago = make("normal", 600)
        urgent_just_now = make("urgent", 1)
        urgent_long_ago = make("urgent", 300)
        make("urgent", -5)                                   # due in five minutes: not yet
        make("urgent", 300, status="closed")                 # finished: no deadline applies
        question = make("common_question", 900)
    client = login_as("supervisor")
    assert listed_in_order(client, "/admin/overdue_complaints/") == [urgent_long_ago, urgent_just_now, normal_long_ago,
                                                                question]
    page = client.get("/admin/overdue_complaints/").get_data(as_text=True)
    assert "overdue" in page and "/admin/overdue_complaints/new/" not in page


def test_a_clerk_sees_only_their_own_customers_overdue_complaints(app, login_as):
    """Is the overdue screen limited to the clerk's data scope?"""
    clerk = login_as("clerk")
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.username == clerk.username))
        late = utcnow() - timedelta(hours=1)
        mine = factories.complaint(factories.customer(owner_id=me), due_at=late).id
        factories.complaint(factories.customer(), due_at=late)
    assert listed_ids(clerk, "/admin/overdue_complaints/") == {mine}


def test_an_administrator_sets_the_due_times_and_new_complaints_follow_them(app, login_as, snapshot):
    """Do edited due times apply to complaints registered afterwards, and is a contradictory setting refused?"""
    admin = login_as("administrator")
    page = admin.get("/admin/complaint_deadlines/").get_data(as_text=True)
    form = read_form(page)
    assert form["respond_hours_urgent"] == "4" and form["resolve_hours_urgent"] == "24"
    before = snapshot()
    refused = admin.post("/admin/complaint_deadlines/", data={**form, "respond_hours_urgent": "30"})
    assert "Resolution cannot be due before the first response." in refused.get_data(as_text=True)
    assert snapshot() == before
    earlier = register(app, urgency="urgent")
    assert admin.post("/admin/complaint_deadlines/", data={**form, "respond_hours_urgent": "2",
                                                           "resolve_hours_urgent": "8"}).status_code == 302
    with app.app_context():
        assert db.session.get(Setting, "complaint_respond_hours_urgent").value == "2"
    later = stored(app, register(app, urgency="urgent"))
    assert (later.respond_due_at - RECEIVED, later.due_at - RECEIVED) == (timedelta(hours=2), timedelta(hours=8))
    assert stored(app, earlier).due_at - RECEIVED == timedelta(hours=24)  # a deadline once given stays


def test_the_complaint_rate_is_complaints_per_100_active_customers_and_blank_without_any(app, login_as):
    """With 8 buying customers and 2 complaints this month, is the rate 25.00; with no buyer, '—' (no division)?"""
    client = login_as("supervisor")
    assert figures(client)["complaints:rate_this_month"][0] == "—"
    with app.app_context():
        buyers = [factories.customer() for _ in range(8)]
        for customer in buyers:
            factories.transaction(customer, occurred_at=utcnow() - timedelta(days=2))  # a recent first purchase: new
        factories.customer()  # never bought: potential, not in the base
        for customer in buyers[:2]:
            factories.complaint(customer, received_at=utcnow() - timedelta(seconds=30))
    shown, href = figures(client)["complaints:rate_this_month"]
    assert number(shown) == 25
    assert listed_ids(client, href) == {i for i in listed_ids(client, "/admin/complaint/")}
    assert figures(client)["complaints:open_urgent"][0] == "0"
