"""Who gets in: sign-in, sign-out, CSRF, and every admin URL closed to anonymous users."""
import pytest
from sqlalchemy import func, select

from crmadmin.extensions import db
from crmadmin.models import Customer, User
from tests import factories
from tests.conftest import sign_in
from tests.forms import csrf_token


def admin_urls(app):
    """Every admin route of the url_map with sample arguments; a new screen is covered the day it is added."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint.endswith(".static"):
            continue
        url = rule.rule.replace("<export_type>", "csv")
        assert "<" not in url, f"give {rule.rule} a sample argument in this test"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url + ("?id=1" if "/edit/" in url or "/details/" in url else "")))
    return urls


def test_every_admin_url_sends_an_anonymous_visitor_to_the_login_page(app, client):
    """Can anyone reach any admin page, action or lookup without signing in?"""
    with app.app_context():
        customer = factories.customer(name="Untouched")
        before = db.session.scalar(select(func.count()).select_from(Customer))
    token = csrf_token(client.get("/login").get_data(as_text=True))
    urls = admin_urls(app)
    assert len(urls) > 60
    for method, url in urls:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "id": str(customer.id), "rowid": str(customer.id),
                                              "action": "delete", "name": "Changed", "list_form_pk": str(customer.id)})
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/login"), (method, url, response.headers["Location"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == before
        assert db.session.get(Customer, customer.id).name == "Untouched"


def test_the_login_page_keeps_the_page_asked_for(client):
    """After signing in, does the user land on the page they first asked for?"""
    response = client.get("/admin/customer/?search=wang")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/customer/?search%3Dwang"


# Django's test_security_check lists, adapted: every way a browser may read a `next` as another site.
BAD_NEXT = [
    "http://example.com", "https://example.com", "ftp://example.com", "//example.com", "///example.com",
    "http:///example.com", "https:///example.com", "HTTP://example.com", "http:/example.com", "http:example.com",
    "\\\\example.com", "\\/example.com", "/\\example.com", "/\\/example.com", "\\\\\\example.com",
    '/\t/example.com', "/\n/example.com", "/\r/example.com",
    'javascript:alert("XSS")', "\njavascript:alert(x)", "\x08//example.com", " //example.com",
    "  http://example.com", "\u2028//example.com", "//evil.example/x", "https://evil.example/",
    "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
]
GOOD_NEXT = ["/admin/customer/?page=2", "/admin/", "/admin/customer/?search=http://example.com",
             "/admin/customer/?search=//example.com", "/admin/customer/details/?id=1&url=/x",
             "/admin/customer/?search=%E7%8E%8B"]


@pytest.mark.parametrize("target", BAD_NEXT + GOOD_NEXT)
def test_the_next_parameter_cannot_send_the_user_to_another_site(app, client, target):
    """Can a crafted link use our login page or the language switch to redirect to another site?"""
    with app.app_context():
        user = factories.user("clerk")
    expected = target if target in GOOD_NEXT else "/admin/"
    page = client.get("/login", query_string={"next": target})
    response = client.post("/login", data={"username": user.username, "password": factories.PASSWORD, "next": target,
                                           "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert response.headers["Location"] == expected
    assert client.get("/login", query_string={"next": target}).headers["Location"] == expected  # already signed in
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    response = client.post("/language", data={"language": "en", "next": target, "csrf_token": token})
    assert response.headers["Location"] == expected


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(app, client):
    """Does the sign-in page reveal which user names exist?"""
    with app.app_context():
        user = factories.user("clerk")
    wrong = sign_in(client, user.username, "not the password at all")
    unknown = sign_in(client, "nobody-by-that-name", "not the password at all")
    assert wrong.status_code == unknown.status_code == 200
    assert "Invalid user name or password." in wrong.get_data(as_text=True)
    assert "Invalid user name or password." in unknown.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_a_disabled_user_cannot_sign_in(app, client):
    """Does disabling an account keep its owner out?"""
    with app.app_context():
        user = factories.user("clerk", active=False)
    response = sign_in(client, user.username)
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_sign_out_ends_the_session_even_for_a_copied_cookie(app, login_as):
    """After sign-out, does a cookie copied before it still open the panel?"""
    client = login_as("clerk")
    cookie = client.get_cookie("session").value
    copy = app.test_client()
    copy.set_cookie("session", cookie)
    assert copy.get("/admin/").status_code == 200
    page = client.get("/admin/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert client.get("/admin/").status_code == 302
    assert copy.get("/admin/").status_code == 302


def test_the_session_changes_at_sign_in(app, client):
    """Is a session cookie planted before sign-in useless afterwards (no session fixation)?"""
    with app.app_context():
        user = factories.user("clerk")
    client.get("/login")
    before = client.get_cookie("session").value
    sign_in(client, user.username)
    after = client.get_cookie("session").value
    assert before != after
    stale = app.test_client()
    stale.set_cookie("session", before)
    assert stale.get("/admin/").status_code == 302


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(app, login_as):
    """Can another site make a signed-in user's browser create a record?"""
    client = login_as("administrator")
    response = client.post("/admin/customer/new/", data={"name": "Forged", "kind": "person"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def test_sign_out_needs_a_csrf_token(login_as):
    """Can another site sign a user out?"""
    client = login_as("clerk")
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_passwords_are_stored_as_argon2_hashes(app):
    """Is any password kept in a form that could be read back?"""
    with app.app_context():
        user = factories.user("clerk")
        stored = db.session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$")
    assert factories.PASSWORD not in stored


def test_error_pages_show_no_internals(login_as):
    """Does a missing record or page show a clear message rather than a traceback?"""
    client = login_as("administrator")
    response = client.get("/admin/customer/details/?id=not-a-number")
    assert response.status_code == 404
    assert "This page or record does not exist." in response.get_data(as_text=True)
    missing = client.get("/admin/no-such-screen/")
    assert missing.status_code == 404
    assert "Traceback" not in missing.get_data(as_text=True)


def every_url(app):
    """Every route of the url_map but static files, with sample arguments: the admin screens and all the others."""
    urls = admin_urls(app)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") or rule.endpoint.rsplit(".", 1)[-1] == "static":
            continue
        assert "<" not in rule.rule, f"give {rule.rule} a sample argument in this test"
        urls.extend((method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return urls


SET_UP = "/account/two-factor"
OPEN_BEFORE_SET_UP = {SET_UP, "/logout", "/language", "/"}  # "/" only redirects to /admin/, asked below


@pytest.mark.parametrize("role", ["administrator", "auditor"])
def test_a_user_whose_role_requires_two_factor_can_open_nothing_but_its_set_up(app, role, snapshot):
    """Before setting up the second factor their role requires, can a user open or change anything at all?"""
    with app.app_context():
        customer = factories.customer(name="Untouched")
        user = factories.user(role, two_factor=False)
    client = app.test_client()
    assert sign_in(client, user.username).headers["Location"] == SET_UP
    token = csrf_token(client.get(SET_UP).get_data(as_text=True))
    before = snapshot()
    urls = [(method, url) for method, url in every_url(app) if url.split("?")[0] not in OPEN_BEFORE_SET_UP]
    assert len(urls) > 60
    for method, url in urls:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "id": str(customer.id), "rowid": str(customer.id),
                                              "action": "delete", "name": "Changed", "list_form_pk": str(customer.id),
                                              "timezone": "Europe/Berlin", "current_password": factories.PASSWORD,
                                              "new_password": "a brand new passphrase 42",
                                              "confirm_password": "a brand new passphrase 42",
                                              "password": factories.PASSWORD})
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"] == SET_UP, (method, url, response.headers["Location"])
    assert snapshot() == before
    assert client.get("/").headers["Location"] == "/admin/"  # which sends to the set-up in its turn (swept above)
    assert client.get(SET_UP).status_code == 200  # the one page open, with a way out:
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"] == "/login"
