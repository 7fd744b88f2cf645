"""The operation log: every change by every path, in the same transaction, hash-chained against tampering."""
import json
import os
import subprocess
import sys
from datetime import datetime

import pytest
from sqlalchemy import func, select, text, update

from crmadmin.audit.chain import ERASED, GENESIS, HASHED_FIELDS, chain_rows, entry_hash, leaf_key, verify
from crmadmin.audit.recorder import UnloggedWrite
from crmadmin.extensions import db
from crmadmin.models import AuditEntry, Customer, Role, User
from tests import factories
from tests.conftest import log_entries
from tests.forms import csrf_token, read_form, submit


def changes(entry) -> dict:
    return json.loads(entry.changes)


def test_creating_a_customer_through_the_form_logs_who_when_where_and_the_values(app, login_as):
    """Does a create through the web form record the user, address, browser, request and every value set?"""
    client = login_as("clerk")
    response = submit(client, "/admin/customer/new/", {"name": "王小明", "kind": "person", "mobile": "13812345678"},
                      headers={"User-Agent": "audit-test-browser", "X-Request-ID": "req-12345678"},
                      environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 302
    [entry] = log_entries(app, record_type="customer")
    assert (entry.action, entry.actor, entry.source, entry.ip) == ("create", client.username, "web", "198.51.100.7")
    assert entry.user_agent == "audit-test-browser" and entry.request_id == entry.batch_id == "req-12345678"
    assert entry.record_label.startswith("王小明")
    logged = changes(entry)
    assert logged["name"] == [None, "王小明"] and logged["mobile"] == [None, "+8613812345678"]
    assert "version" not in logged and "updated_at" not in logged


def test_an_edit_logs_only_the_fields_that_changed_with_before_and_after(app, login_as):
    """Does an update record exactly the changed fields, each with its old and new value?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name="Old", region="华东", email="a@example.com")
    submit(client, f"/admin/customer/edit/?id={customer.id}", {"name": "New", "email": "b@example.com"})
    [entry] = log_entries(app, action="update", record_type="customer")
    assert changes(entry) == {"name": ["Old", "New"], "email": ["a@example.com", "b@example.com"]}
    assert entry.record_id == str(customer.id)


def test_a_delete_logs_the_values_that_were_lost(app, login_as):
    """Can the log tell what a deleted record contained?"""
    client = login_as("supervisor")
    with app.app_context():
        note = factories.interaction(factories.customer(), summary="Called about the invoice")
    token = csrf_token(client.get("/admin/interaction/").get_data(as_text=True))
    client.post("/admin/interaction/delete/", data={"id": str(note.id), "csrf_token": token})
    [entry] = log_entries(app, action="delete")
    assert entry.record_type == "interaction" and changes(entry)["summary"] == ["Called about the invoice", None]


def test_deleting_a_customer_logs_each_record_that_goes_with_them(app, login_as):
    """When a customer's interactions and campaign places go with them, is each removal logged in that batch?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name="Leaving")
        note = factories.interaction(customer)
        place = factories.participant(factories.campaign(), customer)
    token = csrf_token(client.get("/admin/customer/").get_data(as_text=True))
    assert client.post("/admin/customer/delete/", data={"id": str(customer.id), "csrf_token": token}).status_code == 302
    deleted = {(e.record_type, e.record_id): e.batch_id for e in log_entries(app, action="delete")}
    assert set(deleted) == {("customer", str(customer.id)), ("interaction", str(note.id)),
                            ("campaign_participant", str(place.id))}
    assert len(set(deleted.values())) == 1


def test_a_bulk_action_is_one_batch(app, login_as):
    """Do the deletions of one bulk action share a batch id, apart from other requests?"""
    client = login_as("supervisor")
    with app.app_context():
        ids = [factories.customer().id for _ in range(3)]
    token = csrf_token(client.get("/admin/customer/").get_data(as_text=True))
    client.post("/admin/customer/action/", data={"action": "delete", "rowid": [str(i) for i in ids], "csrf_token": token})
    deleted = log_entries(app, action="delete")
    assert len(deleted) == 3 and len({e.batch_id for e in deleted}) == 1
    assert deleted[0].batch_id not in {e.batch_id for e in log_entries(app, action="create")}


def test_a_refused_or_rolled_back_change_leaves_no_entry(app, login_as):
    """If a save fails validation or is rolled back, is there any trace of it in the log?"""
    client = login_as("supervisor")
    before = len(log_entries(app))
    submit(client, "/admin/customer/new/", {"name": "Bad", "kind": "person", "email": "not-an-email"})
    with app.app_context():
        db.session.add(Customer(name="Rolled back", kind="person"))
        db.session.flush()  # the entry is written here, inside the transaction...
        db.session.rollback()  # ...and goes with it
    assert len(log_entries(app)) == before


def test_the_command_line_is_logged_as_its_operator_without_secrets(app):
    """Does `flask crm create-user` record the operator and command, and never the password hash?"""
    result = app.test_cli_runner().invoke(args=["crm", "create-user", "zhou", "--role", "clerk", "--password-stdin"],
                                          input="a long enough passphrase\n")
    assert result.exit_code == 0, result.output
    [entry] = log_entries(app, record_type="user")
    assert entry.source == "cli" and entry.actor.startswith("cli:") and entry.actor_id is None
    logged = changes(entry)
    assert logged["password_hash"] == [None, "(secret)"] and logged["roles"] == [None, ["clerk"]]
    with app.app_context():
        stored_hash = db.session.scalar(select(User.password_hash).where(User.username == "zhou"))
    assert stored_hash not in entry.changes and "passphrase" not in entry.changes


def test_a_password_reset_is_logged_as_changed_without_the_value(app, login_as):
    """When an administrator resets a password, does the log say so without revealing anything?"""
    admin = login_as("administrator")
    with app.app_context():
        user = factories.user("clerk")
    submit(admin, f"/admin/user/edit/?id={user.id}", {"new_password": "canary-password-0042"})
    [entry] = log_entries(app, action="update", record_type="user")
    assert changes(entry)["password_hash"] == ["(secret)", "(changed)"]
    assert "canary-password-0042" not in entry.changes and "session_token" not in changes(entry)


def test_permission_changes_are_logged_with_the_grants_before_and_after(app, login_as):
    """When a role gains a permission, does the log show the role's permissions before and after?"""
    admin = login_as("administrator")
    with app.app_context():
        clerk_role = db.session.scalar(select(Role).where(Role.name == "clerk"))
        before = sorted(clerk_role.permissions)
    url = f"/admin/role/edit/?id={clerk_role.id}"
    form = read_form(admin.get(url).get_data(as_text=True))
    admin.post(url, data={**form, "permissions": form["permissions"] + ["interactions.delete"]})
    [entry] = log_entries(app, action="update", record_type="role")
    assert changes(entry)["permissions"] == [before, sorted(before + ["interactions.delete"])]


def test_the_chain_verifies_and_the_head_is_the_newest_hash(app):
    """After ordinary work, does `flask crm audit verify` find the chain intact?"""
    with app.app_context():
        for n in range(5):
            factories.customer(name=f"Chain {n}")
    runner = app.test_cli_runner()
    head = runner.invoke(args=["crm", "audit", "head"]).output.strip()
    result = runner.invoke(args=["crm", "audit", "verify", "--head", head])
    assert result.exit_code == 0 and f"OK: {len(log_entries(app))} entries" in result.output
    assert head == log_entries(app)[-1].hash and log_entries(app)[0].prev_hash == GENESIS


def test_an_entrys_hash_is_what_it_was_when_written():
    """Does the hash of a sealed entry, and of one with a value erased, come out as computed when such entries were
    first written? (Every stored log must keep verifying whatever the implementation.)"""
    changes = json.dumps({"name": [None, "张伟"], "birthday": [None, "1985-03-07"], "id": [None, 7]},
                         ensure_ascii=False, sort_keys=True)
    entry = {"occurred_at": datetime(2026, 12, 7, 20, 0, 0, 123456), "batch_id": "b", "actor_id": 3,
             "actor": "wang.fang", "source": "job", "command": "job 1", "ip": None, "user_agent": None,
             "request_id": None, "action": "create", "record_type": "customer", "record_id": "7",
             "record_label": "张伟 (#7)", "changes": changes, "prev_hash": "1" * 64, "seal": "5a" * 16}
    assert entry_hash(entry) == "f13787c9c4dcbfa0b191cadc884d2b20f4952302eaee52091b420b5f2eb4f4a6"
    erased = dict(entry, seal=None, changes=changes.replace("张伟", ERASED), erasure=json.dumps(
        {"keys": {'["label"]': leaf_key("5a" * 16, '["label"]')}, "erased": {'["changes", "name", 1]': "c" * 64}}))
    assert entry_hash(erased) == "21e656bbdfc44395fbf3c621308e4900d98d60c8809c98267e11ad9f7de23f48"


def _tamper(app, *statements):
    """Change the log behind the application's back, as someone with database access could."""
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        for statement, params in statements:
            connection.execute(text(statement), params)


def _verdict(app, head=None):
    with app.app_context(), db.engine.connect() as connection:
        with chain_rows(connection) as rows:  # a stream: close it even when verify stops early
            return verify(rows, head)


@pytest.fixture
def thousand_entries(app):
    """A chain of 1,000 entries, written through the real recorder."""
    with app.app_context():
        db.session.add_all(Customer(name=f"Bulk {n}", kind="person") for n in range(1000))
        db.session.commit()
        ids = db.session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
        head = ids and db.session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    assert len(ids) >= 1000 and _verdict(app).ok
    return ids, head


def test_changing_any_field_of_any_entry_is_caught_and_named(app, thousand_entries):
    """Edit any hashed field of an entry at the start, middle or end: does verify name exactly that entry?"""
    ids, _ = thousand_entries
    with app.app_context():
        someone = factories.user("clerk").id  # a real user to forge actor_id with (it is a foreign key)
    for field in HASHED_FIELDS:
        for victim in (ids[0], ids[len(ids) // 2], ids[-1]):
            with app.app_context(), db.engine.connect() as connection:
                original = connection.execute(text(f"SELECT {field} FROM audit_entry WHERE id = :id"),
                                              {"id": victim}).scalar()
            forged = "2001-01-01 00:00:00" if field == "occurred_at" else (
                someone if field == "actor_id" else f"forged-{field}")
            _tamper(app, (f"UPDATE audit_entry SET {field} = :v WHERE id = :id", {"v": forged, "id": victim}))
            verdict = _verdict(app)
            assert not verdict.ok and verdict.entry_id == victim, (field, victim, verdict)
            _tamper(app, (f"UPDATE audit_entry SET {field} = :v WHERE id = :id", {"v": original, "id": victim}))
    assert _verdict(app).ok  # and every repair restores the chain


def test_changing_an_entrys_seal_is_caught(app, thousand_entries):
    """The seal is not hashed itself, but every value's commitment hangs on it: is a new seal caught?"""
    ids, _ = thousand_entries
    _tamper(app, ("UPDATE audit_entry SET seal = :v WHERE id = :id", {"v": "ab" * 16, "id": ids[10]}))
    verdict = _verdict(app)
    assert not verdict.ok and verdict.entry_id == ids[10]


@pytest.mark.parametrize("position", [0, 500, 998])
def test_deleting_an_entry_is_caught_at_the_next_one(app, thousand_entries, position):
    """Remove one entry: does verify stop at the entry that followed it?"""
    ids, _ = thousand_entries
    _tamper(app, ("DELETE FROM audit_entry WHERE id = :id", {"id": ids[position]}))
    verdict = _verdict(app)
    assert not verdict.ok and verdict.entry_id == ids[position + 1]


def test_swapping_two_entries_is_caught(app, thousand_entries):
    """Exchange the contents of two entries: is the chain broken at the first of them?"""
    ids, _ = thousand_entries
    a, b = ids[100], ids[700]
    _tamper(app, ("UPDATE audit_entry SET id = -1 WHERE id = :a", {"a": a}),
            ("UPDATE audit_entry SET id = :a WHERE id = :b", {"a": a, "b": b}),
            ("UPDATE audit_entry SET id = :b WHERE id = -1", {"b": b}))
    verdict = _verdict(app)
    assert not verdict.ok and verdict.entry_id == a  # b's content, now standing at a's place


def test_cutting_off_the_newest_entries_is_caught_against_a_kept_head(app, thousand_entries):
    """Delete the last entries: does a head kept outside the database reveal it?"""
    ids, head = thousand_entries
    _tamper(app, ("DELETE FROM audit_entry WHERE id >= :id", {"id": ids[-3]}))
    assert _verdict(app).ok  # the rest is a valid chain on its own...
    verdict = _verdict(app, head)
    assert not verdict.ok and "cut off" in verdict.problem  # ...but not the one we knew
    result = app.test_cli_runner().invoke(args=["crm", "audit", "verify", "--head", head])
    assert result.exit_code == 1 and "cut off" in result.output


def test_postgresql_refuses_to_update_delete_or_truncate_the_log(app):
    """Even with SQL access, can the application's database user rewrite history on PostgreSQL?"""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only triggers are PostgreSQL's; SQLite relies on the hash chain")
        factories.customer()
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
        db.session.commit()  # release our read lock: TRUNCATE would wait for it
        for statement in ("UPDATE audit_entry SET actor = 'x'", "DELETE FROM audit_entry", "TRUNCATE audit_entry"):
            with pytest.raises(Exception, match="append-only"):
                with db.engine.begin() as connection:
                    connection.execute(text(statement))
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
        # the one update let through is an erasure's, and only of the label, changes and seal
        erasing = "SELECT set_config('crm.erasing', 'on', true)"
        for statements in (["UPDATE audit_entry SET seal = NULL, erasure = '{}'"],
                           [erasing, "UPDATE audit_entry SET actor = 'x', seal = NULL, erasure = '{}'"],
                           [erasing, "UPDATE audit_entry SET changes = '{}'"]):
            with pytest.raises(Exception, match="append-only"):
                with db.engine.begin() as connection:
                    for statement in statements:
                        connection.execute(text(statement))
        assert _verdict(app).ok


WRITER = """
import sys
from crmadmin import create_app
from crmadmin.extensions import db
from crmadmin.models import Customer
app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1])
with app.app_context():
    for n in range(int(sys.argv[2])):
        db.session.add(Customer(name=f"Writer {sys.argv[3]}-{n}", kind="person"))
        db.session.commit()
    db.engine.dispose()
"""


def test_concurrent_writers_in_several_processes_keep_one_unbroken_chain(app, database_url):
    """Four processes committing at once on PostgreSQL: does the chain stay single and intact?"""
    if not database_url.startswith("postgresql"):
        pytest.skip("several writer processes at once is PostgreSQL's case; SQLite serialises writers")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, database_url, "25", str(w)], env=env)
               for w in range(4)]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    verdict = _verdict(app)
    assert verdict.ok and len(log_entries(app, record_type="customer")) == 100


def test_a_bulk_update_that_would_escape_the_log_is_refused(app):
    """Can code change many rows at once through the session without a log entry for each?"""
    with app.app_context():
        factories.customer(name="Untouched")
        with pytest.raises(UnloggedWrite):
            db.session.execute(update(Customer).values(name="Changed"))
        db.session.rollback()
        assert db.session.scalar(select(Customer.name)) == "Untouched"


def test_loading_demo_data_is_logged_as_one_bulk_entry(app):
    """Do the demo rows, inserted in bulk, leave a trace of who loaded what?"""
    result = app.test_cli_runner().invoke(args=["crm", "seed-demo", "--customers", "20"])
    assert result.exit_code == 0, result.output
    [entry] = log_entries(app, action="bulk_insert")
    assert entry.source == "cli" and json.loads(entry.changes)["customers"] == 20
