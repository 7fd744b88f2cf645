"""Complaints through their process: which moves each role may make from each state, and what a move records."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Complaint, ComplaintStep, User, utcnow
from tests import factories
from tests.conftest import log_entries
from tests.forms import csrf_token, read_form

STATES = ("received", "assessed", "assigned", "solution_drafted", "in_progress", "result_reported", "closed",
          "rejected", "reopened")
OPEN_BUT_NEW = ("assessed", "assigned", "solution_drafted", "in_progress", "result_reported", "reopened")
# The handbooks' process, written out by hand: (move, from state) -> the state it leads to.
PROCESS = {
    ("assess", "received"): "assessed",
    **{("reject", s): "rejected" for s in ("received", "assessed", "reopened")},
    **{("assign", s): "assigned" for s in ("assessed", "reopened")},
    **{("reassign", s): s for s in ("assigned", "solution_drafted", "in_progress")},
    **{("reclassify", s): s for s in OPEN_BUT_NEW},
    ("draft", "assigned"): "solution_drafted",
    ("start", "solution_drafted"): "in_progress",
    ("report", "in_progress"): "result_reported",
    ("close", "result_reported"): "closed",
    **{("reopen", s): "reopened" for s in ("closed", "rejected")},
}
MOVES = ("assess", "reject", "assign", "reassign", "reclassify", "draft", "start", "report", "close", "reopen")
# Who may make which move (a major complaint is closed or rejected only by a supervisor or an administrator).
CLERK_MOVES = {"assess", "reject", "reclassify", "draft", "start", "report", "close"}
MAY = {"administrator": set(MOVES), "supervisor": set(MOVES), "clerk": CLERK_MOVES, "auditor": set()}
SUPERVISOR_ONLY_WHEN_MAJOR = {"close", "reject"}


def values_for(move: str, assignee_id: int) -> dict:
    """What a user fills in for each move (classification left as it is)."""
    return {
        "assess": {"type": "service", "urgency": "normal", "note": "Founded: the parcel was late."},
        "reject": {"note": "The delivery was on the promised day."},
        "assign": {"assignee": str(assignee_id), "department": "Logistics"},
        "reassign": {"assignee": str(assignee_id), "note": "Back from leave"},
        "reclassify": {"type": "price", "urgency": "urgent", "note": "Customer threatens to cancel"},
        "draft": {"solution": "Refund the delivery fee"},
        "start": {"note": "Refund requested from finance"},
        "report": {"action_taken": "Fee refunded on the 3rd", "customer_feedback": "Accepted"},
        "close": {"customer_feedback": "Satisfied with the refund", "satisfaction_score": "4"},
        "reopen": {"note": "The refund never arrived"},
    }[move]


def move_url(move: str, *ids) -> str:
    return f"/admin/complaint/move/?move={move}&ids={','.join(str(i) for i in ids)}"


def post_move(client, move: str, ids, values: dict, severity: str | None = None):
    """Post a move's form as the page offers it, with `values` filled in (or only a CSRF token when refused)."""
    page = client.get(move_url(move, *ids))
    form = read_form(page.get_data(as_text=True)) if page.status_code == 200 else {
        "csrf_token": csrf_token(client.get("/admin/").get_data(as_text=True))}
    if severity is not None:
        values = {**values, "severity": severity}
    return client.post(move_url(move, *ids), data={**form, **values})


def complaint_in(app, state: str, severity: str, owner: str) -> int:
    with app.app_context():
        owner_id = db.session.scalar(select(User.id).where(User.username == owner))
        customer = factories.customer(owner_id=owner_id)
        return factories.complaint(customer, status=state, severity=severity).id


def stored(app, complaint_id: int) -> Complaint:
    with app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        db.session.expunge(complaint)
        return complaint


def steps_of(app, complaint_id: int) -> list[tuple]:
    with app.app_context():
        return [(s.move, s.from_status, s.to_status, s.actor_id, s.note) for s in db.session.scalars(
            select(ComplaintStep).where(ComplaintStep.complaint_id == complaint_id).order_by(ComplaintStep.id))]


@pytest.mark.parametrize("role", ["administrator", "supervisor", "clerk", "auditor"])
def test_every_move_from_every_state_is_accepted_exactly_for_the_roles_allowed_to_make_it(app, login_as, snapshot,
                                                                                        role):
    """For each (move, state, severity): does the role's move succeed when the process allows it, and otherwise
    get refused with nothing changed?"""
    client = login_as(role)
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.username == client.username))
    accepted = refused = 0
    for severity in ("general", "major"):
        for state in STATES:
            for move in MOVES:
                complaint_id = complaint_in(app, state, severity, client.username)
                target = PROCESS.get((move, state))
                may = move in MAY[role] and not (
                    severity == "major" and move in SUPERVISOR_ONLY_WHEN_MAJOR and role == "clerk")
                before = snapshot()
                response = post_move(client, move, [complaint_id], values_for(move, me))
                case = (role, severity, state, move, response.status_code)
                if target is not None and may:
                    assert response.status_code == 302, case
                    after = stored(app, complaint_id)
                    assert after.status == target, case
                    assert steps_of(app, complaint_id)[-1][:4] == (move, state, target, me), case
                    accepted += 1
                else:
                    assert response.status_code in (403, 409), case
                    assert snapshot() == before, case
                    refused += 1
    assert accepted == {"administrator": 42, "supervisor": 42, "clerk": 24, "auditor": 0}[role]
    assert accepted + refused == 2 * len(STATES) * len(MOVES)


def test_a_move_records_its_fields_note_and_times(app, login_as):
    """Does each step store what the user entered, set the first response and closing times, and keep a timeline?"""
    client = login_as("supervisor")
    complaint_id = complaint_in(app, "received", "general", client.username)
    with app.app_context():
        worker = factories.user("clerk", display_name="Li Na").id
    for move in ("assess", "assign", "draft", "start", "report", "close"):
        assert post_move(client, move, [complaint_id], values_for(move, worker)).status_code == 302, move
    done = stored(app, complaint_id)
    assert (done.status, done.assignee_id, done.department) == ("closed", worker, "Logistics")
    assert (done.solution, done.action_taken) == ("Refund the delivery fee", "Fee refunded on the 3rd")
    assert (done.customer_feedback, done.satisfaction_score) == ("Satisfied with the refund", 4)
    assert done.responded_at is not None and done.closed_at is not None and done.closed_at >= done.responded_at
    assert done.next_due_at is None
    timeline = steps_of(app, complaint_id)
    assert [s[0] for s in timeline] == ["register", "assess", "assign", "draft", "start", "report", "close"]
    assert timeline[1][4] == "Founded: the parcel was late."
    details = client.get(f"/admin/complaint/details/?id={complaint_id}").get_data(as_text=True)
    assert details.index("Refund requested from finance") > details.index("Founded: the parcel was late.")
    assert 'data-move="reopen"' in details  # the one step left: a supervisor may reopen it


def test_a_step_missing_its_required_field_is_refused_with_a_message_and_changes_nothing(app, login_as, snapshot):
    """Does rejecting without a reason, or assigning without a person, leave the complaint as it was?"""
    client = login_as("supervisor")
    complaint_id = complaint_in(app, "assessed", "general", client.username)
    before = snapshot()
    response = post_move(client, "reject", [complaint_id], {"note": "  "})
    assert response.status_code == 400
    assert "This step needs this field." in response.get_data(as_text=True)
    response = post_move(client, "assign", [complaint_id], {"assignee": ""})
    assert "Choose the responsible person." in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_clerk_may_not_close_a_major_complaint_and_is_told_why(app, login_as, snapshot):
    """Is closing a major complaint left to a supervisor, with a message saying so?"""
    clerk = login_as("clerk")
    complaint_id = complaint_in(app, "result_reported", "major", clerk.username)
    details = clerk.get(f"/admin/complaint/details/?id={complaint_id}").get_data(as_text=True)
    assert 'data-move="close"' not in details
    before = snapshot()
    response = post_move(clerk, "close", [complaint_id], values_for("close", 0))
    assert response.status_code == 409
    assert "only a supervisor may take the step" in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_clerk_may_not_downgrade_a_major_complaint(app, login_as, snapshot):
    """Could a clerk make a major complaint general, and then close it themselves? (No.)"""
    clerk = login_as("clerk")
    complaint_id = complaint_in(app, "assessed", "major", clerk.username)
    before = snapshot()
    response = post_move(clerk, "reclassify", [complaint_id], values_for("reclassify", 0), severity="general")
    assert response.status_code == 409
    assert snapshot() == before
    supervisor = login_as("supervisor")
    assert post_move(supervisor, "reclassify", [complaint_id], values_for("reclassify", 0),
                     severity="general").status_code == 302
    assert stored(app, complaint_id).severity == "general"


def test_a_clerk_moves_only_complaints_of_their_own_customers(app, login_as, snapshot):
    """Is another owner's complaint simply not found for a clerk's move?"""
    clerk = login_as("clerk")
    other = login_as("clerk")
    theirs = complaint_in(app, "received", "general", other.username)
    before = snapshot()
    assert post_move(clerk, "assess", [theirs], values_for("assess", 0)).status_code == 404
    assert snapshot() == before


def test_a_bulk_move_changes_all_selected_complaints_or_none(app, login_as, snapshot):
    """From the list's bulk actions: are all selected complaints moved together, and none when one cannot move?"""
    client = login_as("supervisor")
    with app.app_context():
        worker = factories.user("clerk").id
    first, second = (complaint_in(app, "assessed", "general", client.username) for _ in range(2))
    closed = complaint_in(app, "closed", "general", client.username)
    token = csrf_token(client.get("/admin/complaint/").get_data(as_text=True))
    response = client.post("/admin/complaint/action/", data={"csrf_token": token, "action": "move_assign",
                                                             "rowid": [str(first), str(closed)]})
    assert response.status_code == 302 and "/admin/complaint/move/" in response.headers["Location"]
    before = snapshot()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "not possible from “Closed”" in page
    refused = client.post(response.headers["Location"], data={**read_form(page), "assignee": str(worker)})
    assert refused.status_code == 409
    assert snapshot() == before
    assert post_move(client, "assign", [first, second], {"assignee": str(worker)}).status_code == 302
    assert {stored(app, i).status for i in (first, second)} == {"assigned"}
    assert {stored(app, i).assignee_id for i in (first, second)} == {worker}


def test_a_bulk_reclassification_leaves_unchosen_fields_as_they_were(app, login_as):
    """When several complaints are reclassified by urgency only, do they keep their own types?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer()
        ids = [factories.complaint(customer, status="assessed", type=kind).id for kind in ("price", "contract")]
    form = read_form(client.get(move_url("reclassify", *ids)).get_data(as_text=True))
    assert form["type"] == "" and form["urgency"] == ""
    response = client.post(move_url("reclassify", *ids), data={**form, "urgency": "urgent", "note": "Escalated"})
    assert response.status_code == 302
    assert [(stored(app, i).type, stored(app, i).urgency) for i in ids] == [("price", "urgent"), ("contract", "urgent")]


def test_the_state_and_classification_change_only_through_moves(app, login_as):
    """Are status, severity and scores posted to the create or edit form ignored?"""
    client = login_as("clerk")
    with app.app_context():
        owner = db.session.scalar(select(User.id).where(User.username == client.username))
        customer_id = factories.customer(owner_id=owner).id
    page = client.get("/admin/complaint/new/").get_data(as_text=True)
    form = {**read_form(page), "customer": str(customer_id), "subject": "Broken seal", "description": "Opened box",
            "channel": "phone", "received_at": (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"),
            "type": "product_quality", "severity": "major", "urgency": "urgent", "status": "closed",
            "satisfaction_score": "5"}
    assert client.post("/admin/complaint/new/", data=form).status_code == 302
    with app.app_context():
        complaint = db.session.scalars(select(Complaint).where(Complaint.subject == "Broken seal")).one()
        complaint_id = complaint.id
        assert (complaint.status, complaint.satisfaction_score) == ("received", None)
    assert steps_of(app, complaint_id)[0][:4] == ("register", None, "received", owner)
    edit = f"/admin/complaint/edit/?id={complaint_id}"
    form = {**read_form(client.get(edit).get_data(as_text=True)), "severity": "general", "status": "closed",
            "subject": "Broken seal on delivery"}
    assert client.post(edit, data=form).status_code == 302
    after = stored(app, complaint_id)
    assert (after.subject, after.severity, after.status) == ("Broken seal on delivery", "major", "received")


def test_each_move_is_in_the_operation_log_with_before_and_after(app, login_as):
    """Does the log show who moved the complaint, and its state before and after?"""
    client = login_as("supervisor")
    complaint_id = complaint_in(app, "received", "general", client.username)
    post_move(client, "assess", [complaint_id], values_for("assess", 0))
    updates = [e for e in log_entries(app, record_type="complaint", record_id=str(complaint_id), action="update")]
    assert updates and updates[-1].actor == client.username
    assert '"status"' in updates[-1].changes and "assessed" in updates[-1].changes
    assert log_entries(app, record_type="complaint_step", action="create")
