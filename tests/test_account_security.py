"""Accounts that hold: sign-in lockout, session timeouts, security headers, password change, CSRF on every form."""
import re
import time
from datetime import datetime

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import event, func, select, text

from crmadmin import create_app
from crmadmin.auth.passwords import verify_password
from crmadmin.auth.sessions import SEEN_AT, SIGNED_IN_AT
from crmadmin.extensions import db, limiter
from crmadmin.models import AuditEntry, Customer, User, UserSession
from tests import factories
from tests.conftest import sign_in
from tests.forms import csrf_token, read_form

LOCKED = "Too many failed sign-ins. Try again in 15 minutes."
WRONG = "not the password at all"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture(autouse=True)
def fresh_limits():
    """Failure counters live in the limiter's storage, which outlives one test: start and end each test empty."""
    limiter.reset()
    yield
    limiter.reset()


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def fail(client, username: str, times: int) -> None:
    for _ in range(times):
        response = sign_in(client, username, WRONG)
        assert response.status_code == 200, response.status_code
        assert "Invalid user name or password." in response.get_data(as_text=True)


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def stored_user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def has_password(app, user_id: int, password: str) -> bool:
    with app.app_context():
        return verify_password(db.session.get(User, user_id).password_hash, password)


# === LOCKOUT ===

def test_ten_failures_lock_the_user_name_even_against_the_right_password(app):
    """After 10 wrong passwords, is the 11th try refused with 429 and a clear message, even with the right password?"""
    with app.app_context():
        user = factories.user("clerk")
    client = client_at(app, "10.0.0.1")
    fail(client, user.username, 10)
    response = sign_in(client, user.username)
    assert response.status_code == 429
    assert LOCKED in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) == 15 * 60
    assert not signed_in(client)
    assert stored_user(app, user.id).last_login_at is None


def test_a_locked_name_gets_the_same_answer_whether_it_exists_or_not(app):
    """Does the lock reveal which user names exist?"""
    with app.app_context():
        user = factories.user("clerk")
    answers = []
    for name in (user.username, "nobody-by-that-name"):
        client = client_at(app, "10.0.0.2")
        fail(client, name, 10)
        response = sign_in(client, name)
        body = response.get_data(as_text=True).replace(name, "NAME")
        answers.append((response.status_code, re.sub(r'value="[^"]*"', "", body), response.headers["Retry-After"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


def test_the_lock_holds_only_for_that_name_from_that_address(app):
    """Can the owner still sign in from their own machine, and others from the attacker's, while a name is locked?"""
    with app.app_context():
        victim = factories.user("clerk", username="Wang.Li")
        colleague = factories.user("clerk")
    attacker = client_at(app, "203.0.113.7")
    fail(attacker, "wang.li", 10)
    assert sign_in(attacker, " WANG.LI ", WRONG).status_code == 429  # the same name however it is typed
    assert sign_in(attacker, victim.username).status_code == 429
    owner = client_at(app, "10.0.0.3")
    assert sign_in(owner, victim.username).status_code == 302 and signed_in(owner)
    same_address = client_at(app, "203.0.113.7")
    assert sign_in(same_address, colleague.username).status_code == 302 and signed_in(same_address)


def test_only_failures_count(app):
    """Do successful sign-ins count toward the lock?"""
    with app.app_context():
        user = factories.user("clerk")
    for _ in range(12):
        assert sign_in(client_at(app, "10.0.0.4"), user.username).status_code == 302
    client = client_at(app, "10.0.0.4")
    fail(client, user.username, 9)
    assert sign_in(client_at(app, "10.0.0.4"), user.username).status_code == 302
    fail(client, user.username, 1)  # the 10th failure is still checked...
    assert sign_in(client, user.username).status_code == 429  # ...and then the name is locked


def test_many_names_from_one_address_are_stopped(app, monkeypatch):
    """Can one address try a password on name after name (password spraying)?"""
    monkeypatch.setitem(app.config, "CRM_LOGIN_FAILURES_PER_IP", "5 per 15 minutes")
    with app.app_context():
        user = factories.user("clerk")
    sprayer = client_at(app, "198.51.100.9")
    for n in range(5):
        fail(sprayer, f"guess{n}", 1)
    response = sign_in(sprayer, user.username)
    assert response.status_code == 429
    assert LOCKED in response.get_data(as_text=True)
    assert not signed_in(sprayer)
    elsewhere = client_at(app, "10.0.0.5")
    assert sign_in(elsewhere, user.username).status_code == 302


def test_the_lock_speaks_the_users_language(app):
    """Is the 429 page in the language the user chose?"""
    client = client_at(app, "10.0.0.6")
    fail(client, "someone", 10)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/language", data={"language": "zh_CN", "next": "/login", "csrf_token": token})
    response = sign_in(client, "someone")
    assert response.status_code == 429
    assert '<html lang="zh-CN" dir="ltr">' in response.get_data(as_text=True)


def test_behind_a_trusted_proxy_the_lock_follows_the_forwarded_address(database_url):
    """With CRM_PROXY_HOPS=1, does the lock key on the client's address rather than the proxy's?"""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, CRM_PROXY_HOPS=1)
    with app.app_context():
        user = factories.user("clerk")
    attacker = client_at(app, "10.0.0.254")  # the proxy
    attacker.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    fail(attacker, user.username, 10)
    assert sign_in(attacker, user.username).status_code == 429
    owner = client_at(app, "10.0.0.254")
    owner.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.10"
    assert sign_in(owner, user.username).status_code == 302
    with app.app_context():
        db.engine.dispose()


# === SESSION TIMEOUTS ===

def test_sign_in_records_when_the_session_started_and_was_last_used(login_as):
    """Does the session know when it began and when it was last used?"""
    client = login_as("clerk")
    with client.session_transaction() as session:
        assert abs(session[SIGNED_IN_AT] - time.time()) < 5
        assert abs(session[SEEN_AT] - time.time()) < 5


def test_an_idle_session_is_signed_out(login_as):
    """After 30 minutes without a request, is the user signed out and told why?"""
    client = login_as("clerk")
    with client.session_transaction() as session:
        session[SEEN_AT] -= 31 * 60
    response = client.get("/admin/customer/?search=wang")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fadmin%2Fcustomer%2F%3Fsearch%3Dwang"
    page = client.get(response.headers["Location"])
    assert "Your session has expired. Please sign in again." in page.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session and SIGNED_IN_AT not in session
    assert not signed_in(client)


def test_a_session_ends_after_twelve_hours_however_busy(login_as):
    """Does a session in constant use still end 12 hours after sign-in?"""
    client = login_as("clerk")
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] -= 12 * 3600 + 60
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert not signed_in(client)


def test_using_the_panel_keeps_the_session_alive(login_as):
    """Does every request count as activity?"""
    client = login_as("clerk")
    with client.session_transaction() as session:
        session[SEEN_AT] -= 29 * 60
        session[SIGNED_IN_AT] -= 11 * 3600
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as session:
        assert abs(session[SEEN_AT] - time.time()) < 5
    assert signed_in(client)


def test_the_timeouts_follow_the_configuration(app, login_as, monkeypatch):
    """Are CRM_IDLE_MINUTES and CRM_SESSION_HOURS honoured?"""
    monkeypatch.setitem(app.config, "CRM_IDLE_MINUTES", 5)
    client = login_as("clerk")
    with client.session_transaction() as session:
        session[SEEN_AT] -= 6 * 60
    assert not signed_in(client)
    monkeypatch.setitem(app.config, "CRM_SESSION_HOURS", 1)
    client = login_as("clerk")
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] -= 3600 + 60
    assert not signed_in(client)


def test_a_form_sent_after_the_session_expired_changes_nothing(app, login_as):
    """Is a form posted from a page left open past the idle limit refused?"""
    client = login_as("administrator")
    page = client.get("/admin/customer/new/").get_data(as_text=True)
    data = read_form(page)
    data.update(name="Too late", kind="person")
    with client.session_transaction() as session:
        session[SEEN_AT] -= 31 * 60
    response = client.post("/admin/customer/new/", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    with app.app_context():
        assert db.session.scalar(select(Customer).where(Customer.name == "Too late")) is None


# === SECURITY HEADERS ===

def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";")}


def test_every_response_carries_the_security_headers(login_as):
    """Are the sign-in page, the panel, an error page and a static file all protected by the headers?"""
    client = login_as("administrator")
    anonymous = client.application.test_client()
    responses = [anonymous.get("/login"), client.get("/admin/customer/"), client.get("/admin/no-such-screen/"),
                 client.get("/admin/static/vendor/jquery.min.js")]
    for response in responses:
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        policy = csp(response)
        assert policy["object-src"] == "object-src 'none'"
        assert policy["frame-ancestors"] == "frame-ancestors 'none'"
        assert policy["base-uri"] == "base-uri 'self'"
        assert policy["form-action"] == "form-action 'self'"
        assert policy["img-src"] == "img-src 'self' data:"
        assert policy["style-src"] == "style-src 'self'"
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        response.close()


def test_every_script_of_an_admin_page_carries_this_requests_nonce(login_as):
    """May only the scripts we wrote run, with a nonce nobody can predict?"""
    client = login_as("administrator")
    nonces = []
    for url in ("/admin/customer/", "/admin/customer/new/"):
        response = client.get(url)
        nonce = re.search(r"'nonce-([^']+)'", csp(response)["script-src"]).group(1)
        scripts = re.findall(r"<script\b[^>]*>", response.get_data(as_text=True))
        assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts), scripts
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 22


def test_pages_of_a_signed_in_user_are_not_stored(login_as):
    """Could a shared computer's cache keep customer data after the user left?"""
    client = login_as("administrator")
    with client.application.app_context():
        customer = factories.customer()
    for url in ("/admin/", "/admin/customer/", f"/admin/customer/details/?id={customer.id}",
                "/admin/customer/export/csv/", "/account/password", "/admin/no-such-screen/"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store", url
    with client.get("/admin/static/vendor/jquery.min.js") as static:
        assert static.headers.get("Cache-Control") != "no-store"


# === PASSWORD CHANGE ===

def change_password(client, current: str, new: str, confirm: str | None = None):
    page = client.get("/account/password")
    assert page.status_code == 200
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "confirm_password": new if confirm is None else confirm,
        "csrf_token": csrf_token(page.get_data(as_text=True))})


def test_the_navbar_links_to_the_password_page(login_as):
    """Can a user find where to change their password?"""
    client = login_as("clerk")
    assert 'href="/account/password"' in client.get("/admin/").get_data(as_text=True)
    assert client.application.test_client().get("/account/password").headers["Location"].startswith("/login")


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(app, login_as):
    """After a password change, does a copied cookie stop working while this browser stays signed in?"""
    client = login_as("clerk")
    before = stored_user(app, _user_id(app, client.username))
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert signed_in(copy)
    cookie_before = client.get_cookie("session").value

    response = change_password(client, factories.PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert "Your password has been changed." in client.get("/admin/").get_data(as_text=True)
    assert signed_in(client)
    assert client.get_cookie("session").value != cookie_before
    assert not signed_in(copy)
    assert has_password(app, before.id, NEW_PASSWORD)
    with app.app_context():  # the browser's new session is the user's only one
        assert db.session.scalar(select(func.count()).select_from(UserSession)
                                 .where(UserSession.user_id == before.id)) == 1
    assert sign_in(app.test_client(), client.username, factories.PASSWORD).status_code == 200
    assert sign_in(app.test_client(), client.username, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("current, new, confirm, message", [
    (WRONG, NEW_PASSWORD, None, "This is not your current password."),
    (factories.PASSWORD, "short", None, "Use at least 12 characters."),
    (factories.PASSWORD, "password1234", None, "This password is too common."),
    (factories.PASSWORD, NEW_PASSWORD, "something else entirely", "The two new passwords differ."),
    (factories.PASSWORD, factories.PASSWORD, None, "Choose a password different from the current one."),
])
def test_a_refused_password_change_changes_nothing(app, login_as, current, new, confirm, message):
    """Does a wrong current password, a weak new one or a typo in the repetition leave the account as it was?"""
    client = login_as("clerk")
    before = stored_user(app, _user_id(app, client.username))
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    response = change_password(client, current, new, confirm)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    after = stored_user(app, before.id)
    assert after.password_hash == before.password_hash
    assert signed_in(client) and signed_in(copy)


def test_the_password_may_not_be_the_user_name(app, login_as):
    """Is the password policy the same as everywhere else?"""
    client = login_as("clerk", username="zhang.wei.2024")
    response = change_password(client, factories.PASSWORD, "zhang.wei.2024")
    assert "The password is too similar to the user name." in response.get_data(as_text=True)
    assert has_password(app, _user_id(app, client.username), factories.PASSWORD)


def test_a_stolen_session_cannot_guess_the_password_on_the_password_page(app, login_as):
    """Can someone holding a session try current passwords without limit?"""
    client = login_as("clerk")
    for _ in range(10):
        assert change_password(client, WRONG, NEW_PASSWORD).status_code == 200
    response = change_password(client, factories.PASSWORD, NEW_PASSWORD)
    assert response.status_code == 429
    assert "Too many wrong passwords. Try again in 15 minutes." in response.get_data(as_text=True)
    assert has_password(app, _user_id(app, client.username), factories.PASSWORD)


# === CSRF ON EVERY FORM ===

def post_urls(app) -> list[str]:
    """Every POST route of the url_map with sample arguments: a new form is covered the day it is added."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint.endswith("static"):
            continue
        url = rule.rule.replace("<export_type>", "csv")
        assert "<" not in url, f"give {rule.rule} a sample argument in this test"
        urls.append(url)
    return sorted(urls)


def database_rows(app) -> dict:
    with app.app_context():
        with db.engine.connect() as conn:
            return {table.name: sorted(map(tuple, conn.execute(table.select())), key=repr)
                    for table in db.metadata.sorted_tables}


def signed_token(app, client, age_seconds: int = 0) -> str:
    """A token for this client's own session, signed as Flask-WTF does, `age_seconds` ago."""
    with client.session_transaction() as session:
        raw = session["csrf_token"]

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=Then).dumps(raw)


def test_every_post_route_is_known(app):
    """Does the sweep below see the forms it must cover?"""
    urls = post_urls(app)
    for expected in ("/login", "/logout", "/language", "/account/password", "/admin/customer/new/",
                     "/admin/customer/edit/", "/admin/customer/delete/", "/admin/customer/action/",
                     "/admin/user/new/", "/admin/role/edit/"):
        assert expected in urls
    assert len(urls) > 30


def test_a_crafted_token_of_the_right_age_is_accepted(app, login_as):
    """Is the expired-token test below refusing for the age alone (the crafting itself is right)?"""
    client = login_as("administrator")
    client.get("/admin/")
    assert app.config["WTF_CSRF_TIME_LIMIT"] == 12 * 3600
    fresh = signed_token(app, client, age_seconds=11 * 3600)
    response = client.post("/language", data={"language": "zh_CN", "next": "/admin/", "csrf_token": fresh})
    assert response.status_code == 302


@pytest.mark.parametrize("kind", ["missing", "foreign", "expired"])
def test_every_post_route_refuses_a_bad_csrf_token_and_changes_nothing(app, login_as, kind):
    """Can a form be sent with no token, another session's token or an expired one, to any POST route?"""
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer(name="Untouched")
    client.get("/admin/")  # the session now holds its CSRF secret
    stranger = app.test_client()
    foreign = csrf_token(stranger.get("/login").get_data(as_text=True))
    token = {"missing": None, "foreign": foreign,
             "expired": signed_token(app, client, age_seconds=app.config["WTF_CSRF_TIME_LIMIT"] + 60)}[kind]
    with client.session_transaction() as session:
        session_before = dict(session)
    rows_before = database_rows(app)
    data = {"id": str(customer.id), "rowid": str(customer.id), "action": "delete", "name": "Changed",
            "list_form_pk": str(customer.id), "kind": "person", "username": client.username,
            "password": factories.PASSWORD, "language": "zh_CN", "next": "/admin/",
            "current_password": factories.PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    if token:
        data["csrf_token"] = token
    for url in post_urls(app):
        response = client.post(url + f"?id={customer.id}", data=data)
        assert response.status_code == 400, (kind, url, response.status_code)
    assert database_rows(app) == rows_before
    with client.session_transaction() as session:
        assert {k: v for k, v in session.items() if k != SEEN_AT} == \
            {k: v for k, v in session_before.items() if k != SEEN_AT}
    assert signed_in(client)


def test_a_sign_in_succeeds_when_another_sign_in_of_the_user_saved_first(app, client):
    """Sign-ins of one user at once: others write the user row between our read and our write, twice. Do we still
    sign in (no error page), with our time saved last and our entry in the log?"""
    with app.app_context():
        user = factories.user("clerk")
        engine = db.engine
    elsewhere = datetime(2026, 1, 1, 8, 0)

    done = []

    def another_sign_in_saves_first(conn, cursor, statement, parameters, context, executemany):
        # just before our first write (the log entry), another sign-in commits its own; and again on our second try
        if len(done) < 2 and statement.lstrip().startswith("INSERT INTO audit_entry"):
            done.append(True)
            with engine.begin() as other:
                other.execute(text('UPDATE "user" SET version = version + 1, last_login_at = :at WHERE id = :id'),
                              {"at": elsewhere, "id": user.id})

    page = client.get("/login")
    event.listen(engine, "before_cursor_execute", another_sign_in_saves_first)
    try:
        response = client.post("/login", data={"username": user.username, "password": factories.PASSWORD,
                                               "csrf_token": csrf_token(page.get_data(as_text=True))})
    finally:
        event.remove(engine, "before_cursor_execute", another_sign_in_saves_first)
    assert len(done) == 2 and response.status_code == 302
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        saved = db.session.get(User, user.id)
        assert saved.last_login_at > elsewhere and saved.version == user.version + 3
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "sign_in", AuditEntry.record_id == str(user.id))) == 1
