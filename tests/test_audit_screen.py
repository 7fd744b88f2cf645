"""The operation log screen: auditors review who changed what, nobody changes it, scoped readers see their share."""
import csv
import io
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from crmadmin.auth.permissions import BUILTIN_ROLES
from crmadmin.extensions import db
from crmadmin.models import AuditEntry, User, utcnow
from tests import factories
from tests.conftest import log_entries
from tests.exporting import export
from tests.forms import csrf_token, submit

LOG = "/admin/auditentry/"


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def _listed(page: str) -> set[int]:
    """The entry ids a list page shows (each row links to its details)."""
    return {int(i) for i in re.findall(r"/admin/auditentry/details/\?id=(\d+)", page)}


def _filtered(app, **criteria) -> str:
    """The log URL for these criteria, built the way the screen's own links are."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "auditentry")
    with app.test_request_context():
        return view.filter_url(**criteria)


@pytest.fixture
def edited(app, login_as):
    """A clerk who created a customer and then edited it through the forms: two batches of the log."""
    clerk = login_as("clerk")
    assert submit(clerk, "/admin/customer/new/", {"name": "Zhao Lei", "kind": "person",
                                                  "mobile": "13811112222"}).status_code == 302
    [created] = log_entries(app, action="create", record_type="customer")
    time.sleep(1.1)  # the period filter works in whole seconds: the edit falls in a later second
    between = utcnow().replace(microsecond=0)
    assert submit(clerk, f"/admin/customer/edit/?id={created.record_id}",
                  {"name": "Zhao Lei Jr.", "email": "zhao@example.com"}).status_code == 302
    [updated] = log_entries(app, action="update", record_type="customer")
    return {"clerk": clerk, "created": created, "updated": updated, "customer_id": int(created.record_id),
            "between": between}


def test_an_auditor_sees_a_clerks_form_edit_in_the_log(edited, login_as):
    """Does the log list the clerk's create and edit, newest first, with user, action and record?"""
    page = login_as("auditor").get(LOG)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert {edited["created"].id, edited["updated"].id} <= _listed(html)
    assert edited["clerk"].username in html and "Zhao Lei Jr." in html
    assert html.index(f"details/?id={edited['updated'].id}") < html.index(f"details/?id={edited['created'].id}")
    # the record label links to the customer, which an auditor may view
    assert f'/admin/customer/details/?id={edited["customer_id"]}' in html


def test_filters_by_user_record_type_batch_and_period(app, edited, login_as):
    """Do the user, record type, batch and period filters each narrow the list to the right entries?"""
    auditor = login_as("auditor")
    with app.app_context():
        factories.interaction(factories.customer(name="Someone else"))  # made by the system, not the clerk
    created, updated = edited["created"].id, edited["updated"].id
    others = {e.id for e in log_entries(app, source="system")}
    assert others

    by_user = _listed(auditor.get(_filtered(app, actor=edited["clerk"].username)).get_data(as_text=True))
    assert {created, updated} <= by_user and not by_user & others

    by_type = _listed(auditor.get(_filtered(app, record_type="interaction")).get_data(as_text=True))
    assert by_type == {e.id for e in log_entries(app, record_type="interaction")}

    by_batch = _listed(auditor.get(_filtered(app, batch_id=edited["updated"].batch_id)).get_data(as_text=True))
    assert by_batch == {updated}

    later = (edited["between"], utcnow() + timedelta(hours=1))  # stored moments, written in local time
    in_period = _listed(auditor.get(_filtered(app, occurred_at=later)).get_data(as_text=True))
    assert updated in in_period and created not in in_period
    long_ago = _listed(auditor.get(_filtered(app, occurred_at="2000-01-01 00:00:00 to 2000-01-02 00:00:00"))
                       .get_data(as_text=True))
    assert long_ago == set()


def test_the_details_page_shows_the_change_field_by_field(edited, login_as):
    """Does an entry's page show each changed field with its label, before and after, and the entry's hashes?"""
    updated = edited["updated"]
    page = login_as("auditor").get(f"{LOG}details/?id={updated.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    diff = html[html.index('class="table table-sm table-bordered audit-diff"'):]
    name_row = re.search(r'<tr data-field="name">(.*?)</tr>', diff, re.S).group(1)
    assert "Name" in name_row and "Zhao Lei" in name_row and "Zhao Lei Jr." in name_row
    assert re.search(r'<tr data-field="email">.*zhao@example.com', diff, re.S)
    assert updated.hash in html and updated.prev_hash in html
    assert 'id="batch-entries"' in html and 'id="record-entries"' in html


def test_a_changed_password_shows_as_a_secret(app, login_as):
    """Does the diff of a password change show "(secret)" instead of any hash?"""
    with app.app_context():
        target = factories.user("clerk")
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "user",
                                                            AuditEntry.record_id == str(target.id))).one()
        stored = target.password_hash
    html = login_as("administrator").get(f"{LOG}details/?id={entry.id}").get_data(as_text=True)
    row = re.search(r'<tr data-field="password_hash">(.*?)</tr>', html, re.S).group(1)
    assert "audit-secret" in row and "(secret)" in row and stored not in html


def test_the_csv_export_carries_the_filtered_rows_and_needs_the_export_permission(app, edited, login_as, snapshot,
                                                                                   job_worker):
    """Does an auditor's export (its job's file) hold exactly the filtered entries, and is a supervisor (view only)
    refused at the Export link, no job started?"""
    url = _filtered(app, batch_id=edited["updated"].batch_id).replace(LOG, f"{LOG}export/csv/")
    response = export(login_as("auditor"), url)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [int(r["ID"]) for r in rows] == [edited["updated"].id]
    assert rows[0]["Action"] == "update" and rows[0]["Hash"] == edited["updated"].hash
    assert '"name": ["Zhao Lei", "Zhao Lei Jr."]' in rows[0]["Changes"]
    supervisor = login_as("supervisor")
    rows = snapshot()
    assert supervisor.get(url).status_code == 403
    assert snapshot() == rows


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
def test_no_role_can_create_edit_delete_or_bulk_delete_an_entry(app, login_as, snapshot, role):
    """Can any built-in role, administrators included, add, change or remove a log entry by any route?"""
    client = login_as(role)
    with app.app_context():
        factories.customer()
    entry = log_entries(app)[-1]
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    attempts = [
        client.get(f"{LOG}new/"),
        client.post(f"{LOG}new/", data={"csrf_token": token, "action": "create", "actor": "forger"}),
        client.get(f"{LOG}edit/?id={entry.id}"),
        client.post(f"{LOG}edit/?id={entry.id}", data={"csrf_token": token, "actor": "forger"}),
        client.post(f"{LOG}delete/", data={"csrf_token": token, "id": str(entry.id)}),
        client.post(f"{LOG}action/", data={"csrf_token": token, "action": "delete", "rowid": str(entry.id)}),
        client.post(f"{LOG}ajax/update/", data={"csrf_token": token, "list_form_pk": str(entry.id), "actor": "x"}),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts), role
    assert snapshot() == rows


def test_the_log_offers_no_bulk_delete_nor_edit_buttons(edited, login_as):
    """Does the administrator's log page offer a delete action, a create button or edit links?"""
    html = login_as("administrator").get(LOG).get_data(as_text=True)
    assert f"{LOG}new/" not in html and f"{LOG}edit/" not in html and f"{LOG}delete/" not in html
    assert 'value="delete"' not in html and "action_delete" not in html


def test_a_clerk_cannot_open_the_log_nor_see_history(app, edited):
    """Does a clerk (no audit.view) get 403 on the log and no History on their own customer's page?"""
    clerk = edited["clerk"]
    assert clerk.get(LOG).status_code == 403
    assert clerk.get(f"{LOG}details/?id={edited['updated'].id}").status_code == 403
    page = clerk.get(f"/admin/customer/details/?id={edited['customer_id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="history"' not in html and 'data-kind="change"' not in html


def test_a_supervisor_sees_the_history_of_a_customer_with_the_diff(edited, login_as):
    """Does the customer's page show the supervisor its log entries in the timeline, newest first, with the diff?"""
    page = login_as("supervisor").get(f"/admin/customer/details/?id={edited['customer_id']}&kind=change")
    html = page.get_data(as_text=True)
    history = html[html.index('id="timeline"'):]
    ids = [int(i) for i in re.findall(r'data-kind="change" data-id="\d+" data-entry="(\d+)"', history)]
    assert ids == [edited["updated"].id, edited["created"].id]
    assert '<li data-field="name"><b>Name</b>: Zhao Lei → Zhao Lei Jr.</li>' in history
    assert "/admin/auditentry/?flt0_" in history  # the full, filtered log


def test_other_details_pages_have_a_history_too(app, login_as):
    """Does a complaint's details page show its story from the log?"""
    supervisor = login_as("supervisor")
    with app.app_context():
        complaint = factories.complaint(factories.customer())
    edit = submit(supervisor, f"/admin/complaint/edit/?id={complaint.id}", {"subject": "Very late delivery"})
    assert edit.status_code == 302
    html = supervisor.get(f"/admin/complaint/details/?id={complaint.id}").get_data(as_text=True)
    history = html[html.index('id="history"'):]
    assert "Very late delivery" in history and len(re.findall('class="history-entry"', history)) == 2


def test_a_scoped_log_reader_sees_only_entries_of_their_own_customers(app, login_as):
    """Does a custom role with audit.view limited to own customers read only the entries about its customers?"""
    with app.app_context():
        factories.role("branch auditor", {"audit.view", "customers.view"}, own_customers_only=True)
    reader = login_as("branch auditor")
    reader_id = _user_id(app, reader.username)
    with app.app_context():
        mine = factories.customer(name="Mine Sun", owner_id=reader_id)
        theirs = factories.customer(name="Theirs Zhou", owner_id=factories.user("clerk").id)
        factories.interaction(mine)  # about my customer, but an interaction: not a customer entry
    [my_entry] = log_entries(app, record_type="customer", record_id=str(mine.id))
    [their_entry] = log_entries(app, record_type="customer", record_id=str(theirs.id))

    html = reader.get(LOG).get_data(as_text=True)
    assert _listed(html) == {my_entry.id}
    assert reader.get(f"{LOG}details/?id={my_entry.id}").status_code == 200
    assert reader.get(f"{LOG}details/?id={their_entry.id}").status_code == 404
    assert _listed(reader.get(_filtered(app, record_id=str(theirs.id))).get_data(as_text=True)) == set()
    details = reader.get(f"/admin/customer/details/?id={mine.id}").get_data(as_text=True)
    assert f'data-entry="{my_entry.id}"' in details


def _statements(client, count_queries, url):
    client.get(url)  # warm caches that are built once per process
    with count_queries() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_the_log_list_runs_the_same_statements_for_3_entries_as_for_40(app, login_as, count_queries):
    """Does a longer log cost more statements per page (an N+1 in a column or a link)?"""
    client = login_as("auditor")
    with app.app_context():
        for _ in range(3):
            factories.customer()
    few = _statements(client, count_queries, LOG)
    with app.app_context():
        for _ in range(37):
            factories.customer()
    many = _statements(client, count_queries, LOG)
    assert few == many, f"{few} statements with few entries, {many} with many"


def test_the_history_section_does_not_grow_with_thelog_entries(app, login_as, count_queries):
    """Does a customer edited 30 times cost more statements to open than one edited once?"""
    client = login_as("supervisor")
    with app.app_context():
        small, large = factories.customer(), factories.customer()
        for n in range(30):
            record = db.session.get(type(large), large.id)
            record.notes = f"edit {n}"
            db.session.commit()
    few = _statements(client, count_queries, f"/admin/customer/details/?id={small.id}")
    many = _statements(client, count_queries, f"/admin/customer/details/?id={large.id}")
    assert few == many, f"{few} statements for 1 entry, {many} for 31"
    assert len(log_entries(app, record_type="customer", record_id=str(large.id))) == 31
