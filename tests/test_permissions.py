"""Each built-in role gets exactly what it is granted on every screen; a refusal is a 403 that changes nothing."""
import csv
import io

import pytest
from sqlalchemy import func, select

from crmadmin.auth.permissions import BUILTIN_ROLES, MERGE_CUSTOMERS, perm
from crmadmin.extensions import db
from crmadmin.models import AuditEntry, Campaign, CampaignParticipant, Complaint, Customer, Interaction, Role, Transaction, User
from crmadmin.jobs import records
from crmadmin.models import Job, SurveyResponse
from tests import factories
from tests.exporting import JOB_ID, download, export, wait
from tests.forms import csrf_token

SCREENS = {  # endpoint -> (permission resource, model)
    "customer": ("customers", Customer), "transaction": ("transactions", Transaction),
    "interaction": ("interactions", Interaction), "complaint": ("complaints", Complaint),
    "campaign": ("campaigns", Campaign), "campaignparticipant": ("campaigns", CampaignParticipant),
    "user": ("users", User), "role": ("roles", Role),
    "auditentry": ("audit", AuditEntry),  # read-only: no role may create, edit or delete an entry
}
SCREENS["survey"] = ("surveys", SurveyResponse)


# Screens over derived figures: seen and exported with the customers permission, never written.
STANDING_SCREENS = ("followups", "tiers", "churn")
# Records written only through their own pages (a request is recorded by the correction or erasure it goes with).
REQUEST_LISTS = ("personaldata",)
ADMIN_ONLY_PAGES = {"settings": "window_months", "complaint_deadlines": "resolve_hours_major"}  # no permission
# Work lists over records, seen and exported with the records' permission; written only through their moves.
WORK_SCREENS = {"overdue_complaints": "complaints"}
FIGURE_PAGES = ("satisfaction",)  # read-only figures, opened as their permission allows (tests/test_satisfaction.py)
REPORT_SCREENS = {"campaigncomparison": "campaigns"}  # read-only figures: view opens them, export exports
MERGE_SCREENS = ("duplicates",)  # customers.view + customers.merge (tests/test_merge.py)
IMPORT_PAGES = ("imports",)  # records.import plus a create right (tests/test_imports.py sweeps its forms per role)
FILE_ROUTES = ("recordfiles",)  # the record's own rights and scope (tests/test_record_files.py)
JOB_PAGES = ("jobs",)  # everyone's own jobs; another's job is 404 (administrators see it, never cancel it)


def _granted(role: str, resource: str, action: str) -> bool:
    return perm(resource, action) in BUILTIN_ROLES[role][1]


def test_every_model_screen_is_covered_by_this_sweep(app):
    """Would a newly added screen escape the role sweep below?"""
    endpoints = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/")}
    assert endpoints - {"admin"} == (set(SCREENS) | set(STANDING_SCREENS) | set(ADMIN_ONLY_PAGES) | set(WORK_SCREENS)
                                     | set(FIGURE_PAGES) | set(REPORT_SCREENS) | set(REQUEST_LISTS)
                                     | set(MERGE_SCREENS) | set(IMPORT_PAGES) | set(FILE_ROUTES) | set(JOB_PAGES))


def _exported(app, client, url: str):
    """What the Export link `url` gives the user: refused at the link (403, no job started), or a job whose file the
    user downloads (the download's status; a failed job's state). Needs `job_worker`."""
    jobs = _count(app, Job)
    response = client.get(url)
    if response.status_code != 302:
        assert _count(app, Job) == jobs, url  # a refused Export link starts no job
        return response.status_code
    status = wait(client, int(JOB_ID.search(response.headers["Location"]).group(1)))
    return download(client, status["download"]).status_code if status["state"] == "done" else status["state"]


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("endpoint", list(REPORT_SCREENS))
def test_a_report_screen_opens_and_exports_exactly_as_granted(app, login_as, role, endpoint, job_worker):
    """Does a figures screen open with its resource's view permission and export (its job's file) with its export
    permission?"""
    resource = REPORT_SCREENS[endpoint]
    client = login_as(role)
    may_view = _granted(role, resource, "view")
    assert client.get(f"/admin/{endpoint}/").status_code == (200 if may_view else 403)
    assert _exported(app, client, f"/admin/{endpoint}/export/") == (
        200 if may_view and _granted(role, resource, "export") else 403)


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("endpoint", STANDING_SCREENS + REQUEST_LISTS)
def test_a_standing_screen_is_read_and_exported_as_granted_and_never_written(app, login_as, snapshot, role, endpoint,
                                                                              job_worker):
    """Does a tiers, churn, follow-ups or requests list open and export (its job's file) as customers.view/export
    allow, never written?"""
    client = login_as(role)
    _one_record(app, "customer", client.username)
    may_view = _granted(role, "customers", "view")
    assert client.get(f"/admin/{endpoint}/").status_code == (200 if may_view else 403)
    export = _exported(app, client, f"/admin/{endpoint}/export/csv/")
    assert export == (200 if may_view and _granted(role, "customers", "export") else 403), (role, endpoint, export)
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    for url in (f"/admin/{endpoint}/new/", f"/admin/{endpoint}/edit/?id=1", f"/admin/{endpoint}/delete/"):
        assert client.post(url, data={"csrf_token": token, "id": "1"}).status_code == 403, (role, url)
    action = client.post(f"/admin/{endpoint}/action/", data={"csrf_token": token, "action": "delete", "rowid": "1"})
    assert action.status_code == 403
    assert snapshot() == rows


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("page", list(ADMIN_ONLY_PAGES))
def test_only_administrators_open_the_rules_settings(app, login_as, snapshot, role, page):
    """Can anyone but an administrator read or change the tier, follow-up or complaint due-time rules?"""
    client = login_as(role)
    allowed = role == "administrator"
    assert client.get(f"/admin/{page}/").status_code == (200 if allowed else 403)
    if not allowed:
        token = csrf_token(client.get("/admin/").get_data(as_text=True))
        rows = snapshot()
        assert client.post(f"/admin/{page}/", data={"csrf_token": token, ADMIN_ONLY_PAGES[page]: "1"}).status_code \
            == 403
        assert snapshot() == rows


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("endpoint", list(WORK_SCREENS))
def test_a_work_list_is_read_and_exported_as_granted_and_never_created_on(app, login_as, snapshot, role, endpoint,
                                                                          job_worker):
    """Does a work list (overdue complaints) open and export (its job's file) as its records' permissions allow, with
    no create?"""
    resource = WORK_SCREENS[endpoint]
    client = login_as(role)
    record_id = _one_record(app, "complaint", client.username)
    for action, url in (("view", f"/admin/{endpoint}/"), ("view", f"/admin/{endpoint}/details/?id={record_id}"),
                        ("export", f"/admin/{endpoint}/export/csv/")):
        allowed = _granted(role, resource, "view") and _granted(role, resource, action)
        status = _exported(app, client, url) if action == "export" else client.get(url).status_code
        assert status == (200 if allowed else 403), (role, url, status)
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    assert client.post(f"/admin/{endpoint}/new/", data={"csrf_token": token, "subject": "x"}).status_code in (302, 403)
    assert snapshot() == rows


def _one_record(app, endpoint, owner: str):
    """A record for the screen, owned by `owner`, with nothing attached that would stop its deletion."""
    with app.app_context():
        owner_id = db.session.scalar(select(User.id).where(User.username == owner))
        mine = lambda: factories.customer(owner_id=owner_id)  # noqa: E731
        makers = {
            "customer": mine,
            "transaction": lambda: factories.transaction(mine()),
            "interaction": lambda: factories.interaction(mine()),
            "complaint": lambda: factories.complaint(mine()),
            "campaign": factories.campaign,
            "campaignparticipant": lambda: factories.participant(factories.campaign(), mine()),
            "user": lambda: factories.user("auditor"),
            "role": lambda: factories.role("regional lead", {"customers.view"}),
            "auditentry": lambda: _entry_about(mine()),
            "survey": lambda: factories.survey(mine()),
        }
        return makers[endpoint]().id


def _entry_about(record):
    """The log entry that recorded the creation of `record`."""
    return db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == record.__table__.name,
                                                       AuditEntry.record_id == str(record.id))).one()


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("endpoint", list(SCREENS))
def test_a_role_may_open_view_create_edit_and_export_exactly_what_it_is_granted(app, login_as, role, endpoint,
                                                                               job_worker):
    """For this role and screen, does each page answer 200 when granted and 403 when not (an export: its job's file
    downloaded, or 403 at the Export link with no job started)?"""
    resource, _ = SCREENS[endpoint]
    client = login_as(role)
    record_id = _one_record(app, endpoint, client.username)
    pages = {"view": [f"/admin/{endpoint}/", f"/admin/{endpoint}/details/?id={record_id}"],
             "create": [f"/admin/{endpoint}/new/"], "edit": [f"/admin/{endpoint}/edit/?id={record_id}"],
             "export": [f"/admin/{endpoint}/export/csv/"]}
    for action, urls in pages.items():
        allowed = _granted(role, resource, "view") and _granted(role, resource, action)
        for url in urls:
            status = _exported(app, client, url) if action == "export" else client.get(url).status_code
            assert status == (200 if allowed else 403), (role, url, status)


def _view(app, endpoint):
    return next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("endpoint", list(SCREENS))
def test_a_refused_write_or_lookup_is_a_403_that_changes_nothing(app, login_as, snapshot, role, endpoint):
    """Posting a create or edit, using an AJAX picker or the inline editor: refused exactly when not granted?"""
    resource, _ = SCREENS[endpoint]
    client = login_as(role)
    record_id = _one_record(app, endpoint, client.username)
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    may = {a: _granted(role, resource, "view") and _granted(role, resource, a) for a in ("view", "create", "edit")}
    for action, url in (("create", f"/admin/{endpoint}/new/"), ("edit", f"/admin/{endpoint}/edit/?id={record_id}")):
        if not may[action]:
            assert client.post(url, data={"csrf_token": token, "name": "x"}).status_code == 403, (role, url)
            assert snapshot() == rows, (role, url)
    for name in _view(app, endpoint).form_ajax_refs or {}:
        status = client.get(f"/admin/{endpoint}/ajax/lookup/", query_string={"name": name, "query": "a"}).status_code
        assert status == (200 if may["view"] else 403), (role, endpoint, name, status)
    inline = client.post(f"/admin/{endpoint}/ajax/update/", data={"csrf_token": token, "list_form_pk": str(record_id),
                                                                 "name": "x"})
    assert inline.status_code in (403, 404)
    assert snapshot() == rows


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("endpoint", list(SCREENS))
def test_a_refused_delete_is_a_403_that_changes_nothing(app, login_as, snapshot, role, endpoint):
    """Can a role without the delete permission remove a record, by button or by bulk action?"""
    resource, model = SCREENS[endpoint]
    client = login_as(role)
    record_id = _one_record(app, endpoint, client.username)
    before, rows = _count(app, model), snapshot()
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    single = client.post(f"/admin/{endpoint}/delete/", data={"id": str(record_id), "csrf_token": token})
    bulk = client.post(f"/admin/{endpoint}/action/", data={"action": "delete", "rowid": str(record_id),
                                                            "csrf_token": token})
    may_delete = endpoint != "user" and _granted(role, resource, "view") and _granted(role, resource, "delete")
    if may_delete:
        assert single.status_code == 302 and _count(app, model) == before - 1
    else:
        assert (single.status_code, bulk.status_code) == (403, 403)
        assert snapshot() == rows


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("endpoint", MERGE_SCREENS)
def test_the_duplicates_screen_opens_exactly_for_those_who_may_merge(app, login_as, role, endpoint):
    """Does the Duplicates screen open with customers.view and customers.merge, and appear in the menu then only?"""
    client = login_as(role)
    granted = BUILTIN_ROLES[role][1]
    may = {perm("customers", "view"), MERGE_CUSTOMERS} <= granted
    assert client.get(f"/admin/{endpoint}/").status_code == (200 if may else 403)
    assert (f"/admin/{endpoint}/" in client.get("/admin/").get_data(as_text=True)) == may


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
def test_the_import_screen_opens_exactly_for_the_import_right(app, login_as, role):
    """Does the Import screen open for records.import holders (with a create right) and answer 403 to others?"""
    client = login_as(role)
    allowed = "records.import" in BUILTIN_ROLES[role][1]
    assert client.get("/admin/imports/").status_code == (200 if allowed else 403)
    assert ("/admin/imports/" in client.get("/admin/").get_data(as_text=True)) == allowed


def test_the_menu_offers_only_what_the_user_may_open(login_as):
    """Does a clerk see the user and role screens in the menu?"""
    page = login_as("clerk").get("/admin/").get_data(as_text=True)
    assert "/admin/customer/" in page and "/admin/user/" not in page and "/admin/role/" not in page


def test_buttons_a_role_may_not_use_are_not_offered(app, login_as):
    """Does an auditor's customer list hide create, edit and delete?"""
    with app.app_context():
        customer = factories.customer()
    page = login_as("auditor").get("/admin/customer/").get_data(as_text=True)
    assert "/admin/customer/new/" not in page
    assert f"/admin/customer/edit/?id={customer.id}" not in page
    assert "/admin/customer/delete/" not in page


def test_the_inline_editor_endpoint_is_closed(app, login_as):
    """Can anyone change a field through Flask-Admin's ajax/update endpoint, which skips can_edit?"""
    with app.app_context():
        customer = factories.customer(name="Unchanged")
    client = login_as("administrator")
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    response = client.post("/admin/customer/ajax/update/", data={"list_form_pk": str(customer.id), "name": "Changed",
                                                                  "csrf_token": token})
    assert response.status_code in (403, 404)
    with app.app_context():
        assert db.session.get(Customer, customer.id).name == "Unchanged"


def test_an_export_cannot_carry_a_spreadsheet_formula(app, login_as, job_worker):
    """Could a customer named =HYPERLINK(...) run as a formula in the exported file (its job's file)?"""
    with app.app_context():
        factories.customer(name='=HYPERLINK("http://evil.example","click")', notes="x", tags="@SUM(A1)")
    body = export(login_as("supervisor"), "/admin/customer/export/csv/").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[0]["Name"] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert rows[0]["Tags"] == "'@SUM(A1)"
    assert all(not value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
@pytest.mark.parametrize("endpoint", JOB_PAGES)
def test_everyone_opens_their_jobs_and_another_users_job_is_404_changing_nothing(app, login_as, snapshot, role,
                                                                                 endpoint):
    """Does every role open its Jobs screen, while another user's job (page, status, file, cancel) answers 404 as if
    it did not exist, administrators alone seeing it but never cancelling it, with nothing changed?"""
    client = login_as(role)
    with app.app_context():
        other = factories.user("clerk")
        job_id, _ = records.start(db.engine, "export", other.id, {"screen": "customer", "format": "csv", "args": {},
                                                                  "title": "Customers"}, f"sweep-{role}")
    assert client.get(f"/admin/{endpoint}/").status_code == 200
    listed = f'data-job="{job_id}"' in client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    everyone = role == "administrator"
    assert listed == everyone
    token = csrf_token(client.get(f"/admin/{endpoint}/").get_data(as_text=True))
    rows = snapshot()
    for url in (f"/admin/{endpoint}/job?id={job_id}", f"/admin/{endpoint}/status?id={job_id}"):
        assert client.get(url).status_code == (200 if everyone else 404), (role, url)
    assert client.get(f"/admin/{endpoint}/download?id={job_id}").status_code == 404  # not done, and not theirs
    assert client.post(f"/admin/{endpoint}/cancel", data={"csrf_token": token, "id": job_id}).status_code == 404
    # Back up now: administrators only (with backups off, as here, it starts nothing either; tests/test_backup_jobs.py)
    backup = client.post(f"/admin/{endpoint}/backup", data={"csrf_token": token})
    assert backup.status_code == (302 if everyone else 403), role
    assert snapshot() == rows
