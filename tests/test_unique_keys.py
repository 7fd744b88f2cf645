"""Every unique key of the schema, swept from the metadata: can a form break one? Each clash, whether the form's own
check finds it or the database does (another save came first), is a message on the form in the user's language,
never a 500, and nothing is stored: not the record, not an operation log entry."""
import contextlib
import re

import pytest
from sqlalchemy import UniqueConstraint, event, func, insert, select

from crmadmin.extensions import db
from crmadmin.models import Campaign, CampaignParticipant, ImportMapping, Role, Setting, User, utcnow
from tests import factories
from tests.conftest import log_entries
from tests.forms import read_form, submit
from tests.imports import csv_bytes, run_id_of, upload

ZH = {"Accept-Language": "zh-CN"}
ON_THE_LIST = "该客户已在此活动的目标名单中"
TAKEN = "已经存在。"  # Flask-Admin's own check of a single unique column, in its catalogue
TAKEN_MEANWHILE = "已有其他记录使用此"  # the database's net, on the field
SAVED_MEANWHILE = "有人在同一时刻保存了相同的内容"

# Keys no form or panel POST writes, each with the reason. A new key fails test_every_unique_key_is_decided until
# someone puts it here, with its reason, or writes its case below.
NOT_FROM_FORMS = {
    "uq_user_session_token_hash": "the hash of a random token the app makes at sign-in, never typed into a form",
    "uq_record_file_storage_key": "a random name the app gives a stored file, never typed into a form",
    "uq_saved_view_user_id_endpoint_name": "the save-view dialog answers a taken name after its redirect, with a "
                                           "message (test_saved_views asks it)",
    "uq_list_columns_user_id_endpoint": "one row per user and list, written by the app; a racing tab's insert is "
                                        "taken as the later choice (test_list_columns asks it)",
    "uq_job_dedupe_key": "the app's key of a running job (user, screen, format, arguments), so a second click joins it",
    "uq_audit_entry_hash": "the operation log's own hash chain, computed by the app",
    "pk_revenue_month": "derived totals, rebuilt by the revenue refresh, never edited",
    "pk_customer_standing": "one row per customer, kept by the standing refresh; its screens edit no key",
    "pk_customer_match": "one row per customer, kept by the duplicates' match keys; no screen writes it",
}


def swept_keys() -> set[str]:
    """Every unique constraint, unique index and natural primary key (not a lone surrogate id) in the metadata."""
    names = set()
    for table in db.metadata.sorted_tables:
        names |= {c.name for c in table.constraints if isinstance(c, UniqueConstraint)}
        names |= {i.name for i in table.indexes if i.unique}
        pk = list(table.primary_key.columns)
        if [c.name for c in pk] != ["id"]:
            names.add(table.primary_key.name)
    return names


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@contextlib.contextmanager
def saved_first(app, table, **values):
    """Another session commits `values` into `table` just before this request's own INSERT there: a race lost after
    the form's check passed."""
    with app.app_context():
        engine = db.engine
    fired = []
    pattern = re.compile(rf'^\s*INSERT INTO "?{table.name}"?\s', re.IGNORECASE)

    def before(conn, cursor, statement, parameters, context, executemany):
        if not fired and pattern.match(statement):
            fired.append(statement)
            with engine.begin() as other:
                other.execute(insert(table).values(**values))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield fired
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert fired, f"no INSERT INTO {table.name}: the race was not run"


# --- one case per key: post the duplicate as an administrator, return (response, the message expected) -------------
def participant_added_twice(app, client, ready=lambda: None):
    with app.app_context():
        campaign, customer = factories.campaign(), factories.customer()
        factories.participant(campaign, customer)
        ids = str(campaign.id), str(customer.id)
    ready()
    return submit(client, "/admin/campaignparticipant/new/", {"campaign": ids[0], "customer": ids[1]},
                  headers=ZH), ON_THE_LIST


def participant_moved_onto_a_listed_customer(app, client, ready=lambda: None):
    with app.app_context():
        campaign, customer = factories.campaign(), factories.customer()
        factories.participant(campaign, customer)
        other = factories.participant(campaign, factories.customer())
        ids = str(customer.id), other.id
    ready()
    return submit(client, f"/admin/campaignparticipant/edit/?id={ids[1]}", {"customer": ids[0]}, headers=ZH), \
        ON_THE_LIST


def participant_added_while_someone_adds_them(app, client, ready=lambda: None):
    with app.app_context():
        campaign, customer = factories.campaign(), factories.customer()
        ids = campaign.id, customer.id
    ready()
    now = utcnow()
    with saved_first(app, CampaignParticipant.__table__, campaign_id=ids[0], customer_id=ids[1], response="invited",
                     version=1, created_at=now, updated_at=now):
        response = submit(client, "/admin/campaignparticipant/new/", {"campaign": str(ids[0]), "customer": str(ids[1])},
                          headers=ZH)
    return response, ON_THE_LIST


def campaign_name_taken(app, client, ready=lambda: None):
    with app.app_context():
        factories.campaign(name="客户答谢会 2026")
    ready()
    return submit(client, "/admin/campaign/new/", {"name": "客户答谢会 2026", "type": "product_launch",
                                                   "channel": "event", "status": "planned",
                                                   "starts_on": "2026-03-01"}, headers=ZH), TAKEN


def campaign_name_taken_meanwhile(app, client, ready=lambda: None):
    ready()
    today = utcnow().date()
    with saved_first(app, Campaign.__table__, name="客户答谢会 2026", type="product_launch", channel="event",
                     status="planned", starts_on=today, version=1, created_at=utcnow(), updated_at=utcnow()):
        response = submit(client, "/admin/campaign/new/", {"name": "客户答谢会 2026", "type": "product_launch",
                                                           "channel": "event", "status": "planned",
                                                           "starts_on": "2026-03-01"}, headers=ZH)
    return response, TAKEN_MEANWHILE + "名称"


def role_name_taken(app, client, ready=lambda: None):
    with app.app_context():
        factories.role("regional lead", {"customers.view"})
    ready()
    return submit(client, "/admin/role/new/", {"name": "regional lead"}, headers=ZH), TAKEN


def username_taken(app, client, ready=lambda: None):
    with app.app_context():
        factories.user("clerk", username="li.lei")
        clerk = str(db.session.scalar(select(Role.id).where(Role.name == "clerk")))
    ready()
    return submit(client, "/admin/user/new/", {"username": "li.lei", "new_password": "a long enough passphrase",
                                               "roles": [clerk]}, headers=ZH), TAKEN


def role_granted_twice(app, client, ready=lambda: None):
    """The permission grid posting a permission twice grants it once: nothing to refuse, nothing changed."""
    with app.app_context():
        role = factories.role("regional lead", {"customers.view"})
        role_id = role.id
    ready()
    return submit(client, f"/admin/role/edit/?id={role_id}", {"permissions": ["customers.view", "customers.view"]},
                  headers=ZH), None


def user_given_a_role_twice(app, client, ready=lambda: None):
    """The roles picker posting a role twice gives it once: nothing to refuse, nothing changed."""
    with app.app_context():
        user = factories.user("clerk")
        clerk = str(db.session.scalar(select(Role.id).where(Role.name == "clerk")))
        user_id = user.id
    ready()
    return submit(client, f"/admin/user/edit/?id={user_id}", {"roles": [clerk, clerk]}, headers=ZH), None


def setting_saved_meanwhile(app, client, ready=lambda: None):
    """Two administrators saving the rules for the first time at once: both insert the same keys."""
    page = client.get("/admin/settings/")
    ready()
    with saved_first(app, Setting.__table__, key="high_min_amount", value="1"):
        response = client.post("/admin/settings/", data=read_form(page.get_data(as_text=True)), headers=ZH)
    return response, SAVED_MEANWHILE


def due_time_saved_meanwhile(app, client, ready=lambda: None):
    page = client.get("/admin/complaint_deadlines/")
    ready()
    with saved_first(app, Setting.__table__, key="complaint_respond_hours_urgent", value="1"):
        response = client.post("/admin/complaint_deadlines/", data=read_form(page.get_data(as_text=True)),
                               headers=ZH)
    return response, SAVED_MEANWHILE


def import_mapping_saved_meanwhile(app, client, ready=lambda: None):
    """The same user mapping two files of one kind in two tabs at once: both insert their remembered mapping."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            pytest.skip("SQLite has one writer at a time: the import run's update locks out the other tab's insert")
        user_id = db.session.scalar(select(User.id).where(User.username == client.username))
    run_id = run_id_of(upload(client, "customers", csv_bytes([["姓名", "手机"], ["王小明", "13812345678"]])))
    page = client.get(f"/admin/imports/map?id={run_id}")
    ready()
    with saved_first(app, ImportMapping.__table__, user_id=user_id, kind="customers", columns="{}",
                     updated_at=utcnow()):
        response = client.post(f"/admin/imports/map?id={run_id}", headers=ZH, data={
            **read_form(page.get_data(as_text=True), "import-map"), "column-0": "name", "column-1": "mobile"})
    return response, SAVED_MEANWHILE


CASES = {
    "uq_campaign_participant_campaign_customer": [participant_added_twice, participant_moved_onto_a_listed_customer,
                                                  participant_added_while_someone_adds_them],
    "uq_campaign_name": [campaign_name_taken, campaign_name_taken_meanwhile],
    "uq_role_name": [role_name_taken],
    "uq_user_username": [username_taken],
    "pk_role_permission": [role_granted_twice],
    "pk_user_role": [user_given_a_role_twice],
    "pk_setting": [setting_saved_meanwhile, due_time_saved_meanwhile],
    "uq_import_mapping_user_id_kind": [import_mapping_saved_meanwhile],
}


def test_every_unique_key_is_decided(app_ctx):
    """Is every unique key of the schema either posted twice below or listed, with its reason, as out of reach?"""
    swept = swept_keys()
    assert swept == set(CASES) | set(NOT_FROM_FORMS), (
        f"undecided: {sorted(swept - set(CASES) - set(NOT_FROM_FORMS))}; "
        f"gone: {sorted((set(CASES) | set(NOT_FROM_FORMS)) - swept)}")
    assert not set(CASES) & set(NOT_FROM_FORMS)


@pytest.mark.parametrize("case", [c for cases in CASES.values() for c in cases], ids=lambda c: c.__name__)
def test_a_duplicate_from_a_form_is_told_in_the_users_language_and_stores_nothing(app, login_as, snapshot, case):
    """Posting what a unique key already holds: is the answer the form again with a message in Chinese (never a 500),
    the database as it was (but for a racing save that came first) and no operation log entry?"""
    client = login_as("administrator")
    taken = {}

    def ready():  # the case's own rows are in: what the POST must leave as it is
        taken.update(before=snapshot(), logged=len(log_entries(app)))

    response, message = case(app, client, ready)
    assert response.status_code != 500
    before, logged, after = taken["before"], taken["logged"], snapshot()
    if message is None:  # the duplicate was folded into one value: saved as it was
        assert response.status_code == 302
        assert after == before
        return
    assert response.status_code == 200, response.headers.get("Location")
    page = text_of(response)
    assert message in page, page[:3000]
    assert "IntegrityError" not in page and "UNIQUE constraint" not in page and "duplicate key" not in page
    changed = {name for name in after if after[name] != before[name]}
    assert changed <= {"campaign_participant", "campaign", "setting", "import_mapping"}
    for name in changed:  # only the racing save's one row
        assert len(after[name]) - len(before[name]) == 1 and set(before[name]) <= set(after[name]), name
    assert len(log_entries(app)) == logged


def test_the_form_comes_back_with_the_users_input_and_the_message_on_the_customer(app, login_as):
    """After a clash, is the customer still chosen and the message under the customer field, so one change fixes it?"""
    client = login_as("administrator")
    response, _message = participant_added_twice(app, client)
    page = response.get_data(as_text=True)
    with app.app_context():
        customer_id = db.session.scalar(select(func.max(CampaignParticipant.customer_id)))
    field = re.search(r'<input[^>]*name="customer"[^>]*>', page).group(0)
    assert f'value="{customer_id}"' in field
    after_field = page[page.index(field):]
    assert after_field.index(ON_THE_LIST) < after_field.index('name="segment"')
