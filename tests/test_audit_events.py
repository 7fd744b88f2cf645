"""Not only row changes: sign-ins, failures, lockouts, sign-outs, exports and refusals are in the log too."""
import json
import logging

from tests import factories
from tests.conftest import log_entries, sign_in
from tests.exporting import export
from tests.forms import csrf_token, submit


def events(app, action):
    return log_entries(app, action=action)


def test_a_sign_in_and_a_sign_out_are_logged_for_the_user(app, client):
    """Can an auditor see when a user signed in and out, and from where?"""
    with app.app_context():
        user = factories.user("clerk")
    sign_in(client, user.username)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/admin/").get_data(as_text=True))})
    [signed_in] = events(app, "sign_in")
    [signed_out] = events(app, "sign_out")
    assert signed_in.actor == signed_out.actor == user.username
    assert signed_in.record_id == str(user.id) and signed_in.ip == "127.0.0.1"


def test_a_failed_sign_in_is_logged_without_the_password(app, client):
    """Is a wrong password attempt recorded, and is the password itself kept out of the log?"""
    with app.app_context():
        user = factories.user("clerk")
    sign_in(client, user.username, "canary-wrong-password-77")
    sign_in(client, "no-such-user", "canary-wrong-password-78")
    failed = events(app, "sign_in_failed")
    assert [json.loads(e.changes)["username"] for e in failed] == [user.username, "no-such-user"]
    assert failed[0].record_id == str(user.id) and failed[1].record_id is None
    assert all("canary" not in (e.changes or "") for e in failed)


def test_a_lockout_is_logged(app, client):
    """When repeated failures lock a user name, does the log say so?"""
    with app.app_context():
        user = factories.user("clerk")
    for _ in range(11):
        sign_in(client, user.username, "wrong password again")
    assert events(app, "lockout") and json.loads(events(app, "lockout")[0].changes)["username"] == user.username


def test_an_export_is_logged_with_its_screen_filters_and_row_count(app, login_as, job_worker):
    """Who exported what: is the screen, the search and the number of rows recorded (by the export's job)?"""
    client = login_as("supervisor")
    with app.app_context():
        factories.customer(name="Export Me")
        factories.customer(name="Export Me Too")
        factories.customer(name="Not this one")
    assert export(client, "/admin/customer/export/csv/?search=Export").status_code == 200
    [entry] = events(app, "export")
    details = json.loads(entry.changes)
    assert details["screen"] == "customer" and details["filters"] == {"search": ["Export"]} and details["rows"] == 2
    assert entry.actor == client.username


def test_a_refused_request_is_logged(app, login_as):
    """When a clerk tries to open the user screen, does the log record the attempt?"""
    client = login_as("clerk")
    assert client.get("/admin/user/").status_code == 403
    [entry] = events(app, "refused")
    assert entry.actor == client.username and json.loads(entry.changes)["path"] == "/admin/user/"


def test_passwords_and_personal_data_never_reach_the_applications_own_log(app, login_as, client, caplog):
    """Do canary passwords, phones and emails put through the panel show up in the log output?"""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine.Engine")  # log every statement, as a debugging operator might
    with app.app_context():
        user = factories.user("supervisor", password="canary-password-secret-1")
    sign_in(client, user.username, "canary-password-wrong-2")
    sign_in(client, user.username, "canary-password-secret-1")
    submit(client, "/admin/customer/new/", {"name": "Canary Person", "kind": "person", "mobile": "13912398765",
                                            "email": "canary.mail@example.com"})
    submit(client, "/admin/customer/new/", {"name": "Canary Person", "kind": "person", "email": "canary-bad-email"})
    submit(client, "/admin/campaign/new/", {"name": "", "type": "seminar"})
    output = caplog.text
    assert "INSERT INTO customer" in output  # the SQL log was live, with its parameters hidden
    for canary in ("canary-password", "13912398765", "canary.mail@example.com", "canary-bad-email", "Canary Person"):
        assert canary not in output, canary
