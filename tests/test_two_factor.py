"""Two-factor sign-in: codes from an authenticator app, once each; recovery codes; set-up a role requires; resets."""
import logging
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from crmadmin.auth.two_factor import PENDING
from crmadmin.extensions import db, limiter
from crmadmin.models import AuditEntry, RecoveryCode, Role, User
from tests import factories
from tests.conftest import log_entries, sign_in, type_code
from tests.exporting import export
from tests.forms import csrf_token

REFUSED = "This code is not valid. Type the code your app shows now, or an unused recovery code."
LOCKED = "Too many failed sign-ins. Try again in 15 minutes."


@pytest.fixture(autouse=True)
def fresh_limits():
    limiter.reset()
    yield
    limiter.reset()


def password_step(client, username: str, password: str = factories.PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(page.get_data(as_text=True))})


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def stored(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def code_at(app, username: str, offset: int) -> str:
    with app.app_context():
        return factories.current_code(username, offset)


def set_up_from_page(client) -> tuple[str, list[str]]:
    """What a user does: read the key the set-up page shows, type the app's code; returns the key and recovery codes."""
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert "<svg" in html and f"secret={secret}" not in html  # the QR code is drawn here, the URI is not printed
    response = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now(),
                                                        "csrf_token": csrf_token(html)})
    assert response.status_code == 200, response.status_code
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", response.get_data(as_text=True))
    return secret, codes


def test_codes_from_the_secret_sign_in_and_the_password_alone_grants_nothing(app, client):
    """Does the code an app computes from the secret sign in, and does the password alone open nothing?"""
    with app.app_context():
        user = factories.user("administrator")
    response = password_step(client, user.username)
    assert response.headers["Location"] == "/login/code"
    assert client.get("/admin/").headers["Location"].startswith("/login")  # half signed in: nothing granted
    assert client.get("/admin/customer/").status_code == 302
    response = type_code(client, user.username, code_at(app, user.username, 0))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert signed_in(client)
    entry = log_entries(app, action="sign_in")[-1]
    assert entry.record_id == str(user.id) and '"second_factor": "authenticator"' in entry.changes


@pytest.mark.parametrize("which", ["replayed", "two windows ago", "wrong"])
def test_a_replayed_an_old_and_a_wrong_code_get_the_same_answer(app, which):
    """Are a replayed code, a code from two windows ago and a wrong code refused alike?"""
    with app.app_context():
        user = factories.user("auditor")
    code = code_at(app, user.username, 0)
    if which == "replayed":
        first = app.test_client()
        password_step(first, user.username)
        assert type_code(first, user.username, code).status_code == 302
    elif which == "two windows ago":
        code = code_at(app, user.username, -2)
    else:
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    client = app.test_client()
    password_step(client, user.username)
    response = type_code(client, user.username, code)
    assert response.status_code == 200
    assert REFUSED in response.get_data(as_text=True)
    assert not signed_in(client)
    assert log_entries(app, action="two_factor_failed")[-1].record_id == str(user.id)


def test_a_code_of_the_next_window_is_taken_for_clock_drift(app, client):
    """Does a phone whose clock runs a little ahead still sign in?"""
    with app.app_context():
        user = factories.user("administrator")
    password_step(client, user.username)
    assert type_code(client, user.username, code_at(app, user.username, 1)).status_code == 302


def test_wrong_codes_count_with_wrong_passwords_towards_the_lockout(app):
    """Does the code step lock, counting its failures with the password's (10 per 15 minutes)?"""
    with app.app_context():
        user = factories.user("administrator")
    client = app.test_client()
    for _ in range(9):
        assert password_step(client, user.username, "not the password at all").status_code == 200
    assert password_step(client, user.username).headers["Location"] == "/login/code"  # right ones do not count
    assert type_code(client, user.username, "000000" if code_at(app, user.username, 0) != "000000" else "111111") \
        .status_code == 200  # the tenth failure
    response = type_code(client, user.username, code_at(app, user.username, 0))
    assert response.status_code == 429 and LOCKED in response.get_data(as_text=True)  # even the right code
    assert not signed_in(client)
    assert password_step(app.test_client(), user.username).status_code == 429  # and the password step too
    assert any('"step": "code"' in entry.changes for entry in log_entries(app, action="lockout"))


def test_the_half_signed_in_state_runs_out(app, client):
    """Does a password typed minutes ago still let a code in?"""
    with app.app_context():
        user = factories.user("administrator")
    password_step(client, user.username)
    with client.session_transaction() as session:
        session[PENDING] = {**session[PENDING], "at": int(time.time()) - 6 * 60}
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login/code", data={"code": code_at(app, user.username, 0), "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not signed_in(client)


def test_a_role_requiring_two_factor_sends_its_users_to_set_up_first(app, client):
    """Is a user whose role requires it taken to set-up after the password, and let in once it is done?"""
    with app.app_context():
        user = factories.user("administrator", two_factor=False)
    response = sign_in(client, user.username)
    assert response.headers["Location"] == "/account/two-factor"
    assert client.get("/admin/customer/").headers["Location"] == "/account/two-factor"
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Your role requires two-factor sign-in" in page and 'id="sign-out"' in page
    for app_name in ("Microsoft Authenticator", "Google Authenticator", "腾讯身份验证器"):
        assert app_name in page
    secret, codes = set_up_from_page(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert stored(app, user.username).totp_secret == secret
    assert signed_in(client)  # this session survived the set-up, which ended the others
    assert secret not in client.get("/account/two-factor").get_data(as_text=True)  # never shown again
    assert log_entries(app, action="two_factor_on")[-1].record_id == str(user.id)


def test_a_role_setting_decides_who_must_set_up(app, login_as):
    """Can an administrator require two-factor sign-in of the clerks, and are clerks then sent to set it up?"""
    with app.app_context():
        clerk = factories.user("clerk")
        role_id = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
        assert {r.name for r in db.session.scalars(select(Role).where(Role.two_factor_required))} == {
            "administrator", "auditor"}
    admin = login_as("administrator")
    page = admin.get(f"/admin/role/edit/?id={role_id}").get_data(as_text=True)
    assert 'name="two_factor_required"' in page
    with app.app_context():
        role = db.session.get(Role, role_id)
        role.two_factor_required = True
        db.session.commit()
    assert sign_in(app.test_client(), clerk.username).headers["Location"] == "/account/two-factor"


def test_recovery_codes_work_once(app, client):
    """Does a recovery code sign in instead of a code, once only?"""
    with app.app_context():
        user = factories.user("supervisor")
    sign_in(client, user.username)
    _, codes = set_up_from_page(client)
    other = app.test_client()
    password_step(other, user.username)
    response = type_code(other, user.username, codes[3].upper().replace("-", " "))  # however it is typed
    assert response.status_code == 302
    assert "Codes left: 9." in other.get("/admin/").get_data(as_text=True)
    again = app.test_client()
    password_step(again, user.username)
    response = type_code(again, user.username, codes[3])
    assert response.status_code == 200 and REFUSED in response.get_data(as_text=True)
    assert log_entries(app, action="two_factor_recovery_used")[-1].record_id == str(user.id)


def test_new_recovery_codes_need_proof_and_void_every_old_code(app, snapshot):
    """Do new recovery codes ask for the password (or a code), refuse a wrong one changing nothing, and void the old?"""
    with app.app_context():
        user = factories.user("supervisor")
    client = app.test_client()
    sign_in(client, user.username)
    _, old_codes = set_up_from_page(client)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "10 unused recovery codes left." in page and 'id="recovery-codes-form"' in page
    before = snapshot()
    response = client.post("/account/two-factor/recovery-codes", data={"codes-password": "not the password at all",
                                                                       "codes-csrf_token": csrf_token(page)})
    assert response.status_code == 200 and "Nothing was changed." in response.get_data(as_text=True)
    assert client.post("/account/two-factor/recovery-codes", data={"codes-password": factories.PASSWORD}) \
        .status_code in (200, 400)
    assert snapshot() == before
    response = client.post("/account/two-factor/recovery-codes", data={"codes-password": factories.PASSWORD,
                                                                       "codes-csrf_token": csrf_token(page)})
    html = response.get_data(as_text=True)
    new_codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", html)
    assert response.status_code == 200 and len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert "Your earlier recovery codes no longer work." in html
    assert signed_in(client)  # this session goes on
    refused = app.test_client()
    password_step(refused, user.username)
    assert REFUSED in type_code(refused, user.username, old_codes[0]).get_data(as_text=True)
    accepted = app.test_client()
    password_step(accepted, user.username)
    assert type_code(accepted, user.username, new_codes[0]).status_code == 302
    entry = log_entries(app, action="two_factor_codes_renewed")[-1]
    assert entry.record_id == str(user.id) and not any(code.replace("-", "") in (entry.changes or "")
                                                       for code in new_codes)


def test_the_users_list_tells_who_has_two_factor_on(app, login_as):
    """Does the Users list say, in the reader's language, who has it on, who has it off, and who must still set up?"""
    with app.app_context():
        on = factories.user("supervisor", username="on.user", two_factor=True)
        off = factories.user("clerk", username="off.user", two_factor=False)
        due = factories.user(None, username="due.user", two_factor=False)
        strict = db.session.get(Role, factories.role("must.set.up", set()).id)
        strict.two_factor_required = True
        stored_due = db.session.get(User, due.id)
        stored_due.roles.append(strict)
        db.session.commit()
        ids = {on.id: "已开启", off.id: "未开启", due.id: "角色要求，尚未设置"}
    admin = login_as("administrator")
    html = admin.get("/admin/user/?page_size=100", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "两步验证" in html
    for user_id, word in ids.items():
        row = re.search(r'<tr[^>]*>(?:(?!</tr>).)*?value="%d"(?:(?!</tr>).)*</tr>' % user_id, html, re.S).group(0)
        assert f">{word}<" in re.sub(r"\s+<", "<", re.sub(r">\s+", ">", row)), (user_id, word)


def test_a_reset_forces_set_up_and_ends_every_session(app, login_as, snapshot):
    """Does an administrator's reset end the user's sessions (a copied cookie too) and send them to set-up again?"""
    admin = login_as("administrator")
    victim = login_as("auditor")
    copied = app.test_client()
    copied.set_cookie("session", victim.get_cookie("session").value)
    assert signed_in(copied)
    victim_id = stored(app, victim.username).id
    auditor = login_as("auditor")  # may read users, not change them
    before = snapshot()
    page = auditor.get("/admin/user/").get_data(as_text=True)
    response = auditor.post("/admin/user/action/", data={"action": "reset_two_factor", "rowid": str(victim_id),
                                                         "csrf_token": csrf_token(page)})
    assert response.status_code == 403 and snapshot() == before
    page = admin.get("/admin/user/").get_data(as_text=True)
    assert admin.post("/admin/user/action/", data={"action": "reset_two_factor", "rowid": str(victim_id)}) \
        .status_code == 400 and snapshot() == before  # no CSRF token: nothing happens
    response = admin.post("/admin/user/action/", data={"action": "reset_two_factor", "rowid": str(victim_id),
                                                       "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert not signed_in(victim) and not signed_in(copied)
    user = stored(app, victim.username)
    assert user.totp_secret is None
    with app.app_context():
        assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == victim_id)).all() == []
    assert sign_in(app.test_client(), victim.username).headers["Location"] == "/account/two-factor"
    entry = log_entries(app, action="two_factor_reset")[-1]
    assert entry.record_id == str(victim_id) and entry.actor == admin.username


def test_turning_it_on_or_off_ends_the_other_sessions_and_off_needs_the_password(app, snapshot):
    """Does turning it on or off sign out a copied cookie, and does turning off refuse a wrong password?"""
    with app.app_context():
        user = factories.user("supervisor")
    client = app.test_client()
    sign_in(client, user.username)
    elsewhere = app.test_client()
    sign_in(elsewhere, user.username)
    set_up_from_page(client)
    assert signed_in(client) and not signed_in(elsewhere)
    sign_in(elsewhere, user.username)
    page = client.get("/account/two-factor").get_data(as_text=True)
    before = snapshot()
    response = client.post("/account/two-factor/off", data={"password": "not the password at all",
                                                            "csrf_token": csrf_token(page)})
    assert response.status_code == 200 and "Nothing was changed." in response.get_data(as_text=True)
    assert snapshot() == before and signed_in(elsewhere)
    client.post("/account/two-factor/off", data={"password": factories.PASSWORD, "csrf_token": csrf_token(page)})
    assert stored(app, user.username).totp_secret is None
    assert signed_in(client) and not signed_in(elsewhere)
    assert sign_in(app.test_client(), user.username).headers["Location"] == "/admin/"  # the password alone again
    assert log_entries(app, action="two_factor_off")[-1].record_id == str(user.id)


def test_no_secret_or_code_reaches_the_operation_log_or_the_application_log(app, client, caplog):
    """After set-up, code sign-ins, a failure, a recovery code, turning off and a reset: is any secret written?"""
    caplog.set_level(logging.DEBUG, logger="crmadmin")  # the panel's own log, every level
    caplog.set_level(logging.WARNING)  # and what any library reports
    with app.app_context():
        user = factories.user("supervisor")
    sign_in(client, user.username)
    secret, codes = set_up_from_page(client)
    typed = []
    other = app.test_client()
    password_step(other, user.username)
    typed.append(code_at(app, user.username, -2))
    type_code(other, user.username, typed[-1])  # refused
    typed.append(code_at(app, user.username, 1))
    type_code(other, user.username, typed[-1])
    third = app.test_client()
    password_step(third, user.username)
    type_code(third, user.username, codes[0])
    with app.app_context():
        hashes = list(db.session.scalars(select(RecoveryCode.code_hash)))
        entries = [" ".join(str(v) for v in (e.changes, e.record_label, e.command)) for e in
                   db.session.scalars(select(AuditEntry))]
    page = client.get("/account/two-factor").get_data(as_text=True)
    client.post("/account/two-factor/off", data={"password": factories.PASSWORD, "csrf_token": csrf_token(page)})
    with app.app_context():
        entries += [str(e.changes) for e in db.session.scalars(select(AuditEntry))]
    actions = {e.action for e in log_entries(app)}
    assert {"two_factor_on", "two_factor_failed", "two_factor_recovery_used", "two_factor_off", "sign_in"} <= actions
    logged = "\n".join(entries) + "\n" + caplog.text
    for value in [secret, *codes, *(c.replace("-", "") for c in codes), *hashes, *typed]:
        assert value not in logged, value


def test_the_users_list_and_export_show_no_secret(app, login_as, job_worker):
    """Can an administrator read anyone's authenticator secret on the Users screens, or in their export?"""
    with app.app_context():
        user = factories.user("auditor")
    secret = stored(app, user.username).totp_secret
    admin = login_as("administrator")
    for url in ("/admin/user/", f"/admin/user/details/?id={user.id}", f"/admin/user/edit/?id={user.id}"):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert secret not in response.get_data(as_text=True), url
    exported = export(admin, "/admin/user/export/csv/")
    assert exported.status_code == 200 and user.username in exported.get_data(as_text=True)
    assert secret not in exported.get_data(as_text=True)
