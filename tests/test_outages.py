"""Redis or the database away for a while: the panel answers calmly, keeps every session and recovers by itself."""
import logging
import os
import re
import socket
import subprocess
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.engine import make_url

from crmadmin import create_app
from crmadmin.extensions import cache, db, limiter
from crmadmin.models import User, utcnow
from tests import factories
from tests.conftest import sign_in
from tests.forms import csrf_token, read_form
from tests.pages import figures_on

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


class RedisServer:
    """A redis-server of the test's own, on a free port: the shared one on 6379 is never touched."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client, deadline = self.client(), time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


@pytest.fixture
def own_redis(app):
    """The summary cache and the sign-in limits on a redis-server of the test's own; afterwards back to the defaults."""
    server = RedisServer()
    server.start()
    saved = {key: app.config[key] for key in ("CRM_SUMMARY_SECONDS", "RATELIMIT_STORAGE_URI")}
    app.config.update(CRM_SUMMARY_SECONDS=60, RATELIMIT_STORAGE_URI=server.url, CRM_CACHE_RETRY_SECONDS=0)
    cache.init_app(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": server.url,
                                "CACHE_KEY_PREFIX": "outage:"})
    limiter.init_app(app)
    try:
        yield server
    finally:
        server.stop()
        app.config.update(saved)
        app.config.pop("CRM_CACHE_RETRY_SECONDS")
        cache.init_app(app, config={"CACHE_TYPE": app.config["CACHE_TYPE"]})
        limiter.init_app(app)


def _book(app, customers: int) -> None:
    """`customers` customers, each in the high tier (four recent purchases of 9,000)."""
    with app.app_context():
        for n in range(customers):
            customer = factories.customer(name=f"客户{n}", created_at=utcnow() - timedelta(days=800))
            for _ in range(4):
                factories.transaction(customer, amount=Decimal("9000"), occurred_at=utcnow() - timedelta(days=3))


def _figures(client) -> tuple[str, dict[str, str]]:
    """The dashboard's customer count and the tier screen's totals, both pages answering 200."""
    tiers = client.get("/admin/tiers/")
    assert tiers.status_code == 200
    totals = dict(re.findall(r'data-tier="(\w+)">([\d,]+)</a>', tiers.get_data(as_text=True)))
    return figures_on(client, "/admin/")["customers:customers"][0].strip(), totals


def test_with_redis_down_sign_in_the_dashboard_and_tiers_still_work_and_the_cache_returns_with_redis(
        app, login_as, own_redis, caplog):
    """Redis stopped: can an administrator still sign in and see the right figures, with one warning in the log, and
    are the summaries cached in Redis again once it is back?"""
    _book(app, 2)
    admin = login_as("administrator")
    assert _figures(admin) == ("2", {"high": "2", "medium": "0", "low": "0"})
    assert own_redis.client().keys("outage:*")  # cached in Redis while it runs

    own_redis.stop()
    caplog.clear()
    caplog.set_level(logging.INFO)
    _book(app, 1)
    late = login_as("supervisor")  # the sign-in limits count in memory meanwhile
    for client in (admin, late, admin):
        assert _figures(client) == ("3", {"high": "3", "medium": "0", "low": "0"})  # computed, not stale
    warnings = [r for r in caplog.records if r.name == "crmadmin.cache_fallback" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]

    own_redis.start()  # empty, on the same port
    assert _figures(admin) == ("3", {"high": "3", "medium": "0", "low": "0"})
    assert own_redis.client().keys("outage:dashboard:*") and own_redis.client().keys("outage:tiers:*")


# --- the database away --------------------------------------------------------------------------

def _signed_in(app, login_as):
    """Three signed-in clients: one who chose Chinese in the panel, one whose browser asks for it, one in English."""
    chose, browser, english = login_as("administrator"), login_as("supervisor"), login_as("clerk")
    page = chose.get("/admin/", headers=EN)
    chose.post("/language", headers=EN, data={"language": "zh_CN", "next": "/admin/",
                                              "csrf_token": csrf_token(page.get_data(as_text=True))})
    return [(chose, EN, "zh"), (browser, ZH, "zh"), (english, EN, "en")]


def _assert_calm_503(response, language: str) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "/login" not in response.headers.get("Location", "")
    assert "Expires=Thu, 01 Jan 1970" not in response.headers.get("Set-Cookie", "")  # the session is not ended
    html = response.get_data(as_text=True)
    if language == "zh":
        assert "暂时无法使用" in html and 'lang="zh-CN"' in html
    else:
        assert "Temporarily unavailable" in html and 'lang="en"' in html
    assert "Traceback" not in html and "OperationalError" not in html


def _signed_in_as(app, client) -> str | None:
    """The session token the client's cookie holds (None: signed out)."""
    cookie = client.get_cookie("session")
    return cookie and app.session_interface.get_signing_serializer(app).loads(cookie.value).get("_user_id")


def _assert_one_line_each(records, requests: int) -> None:
    warnings = [r for r in records if r.levelno >= logging.WARNING]
    assert len(warnings) <= requests, [r.getMessage() for r in warnings]
    assert not [r for r in records if r.exc_info or "\n" in r.getMessage()]


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="PostgreSQL only: SQLite has no server to lose (see the unreadable file below)")
def test_a_database_outage_answers_503_keeps_every_session_and_recovers_by_itself(app, login_as, snapshot, caplog):
    """PostgreSQL refusing connections and dropping the open ones: do signed-in users get a calm 503 in their
    language (no 500, one log line a request, nothing changed), and their pages again, still signed in, once it is back?"""
    import psycopg

    clients = _signed_in(app, login_as)
    tokens = [_signed_in_as(app, client) for client, _headers, _language in clients]
    chose = clients[0][0]
    form = read_form(chose.get("/admin/customer/new/").get_data(as_text=True))
    before = snapshot()
    url = make_url(os.environ["TEST_DATABASE_URL"])
    maintenance = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                                  dbname="postgres", autocommit=True)
    caplog.set_level(logging.INFO)
    caplog.clear()
    requests = 0
    try:
        maintenance.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
        maintenance.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = %s AND pid <> pg_backend_pid()", (url.database,))
        for client, headers, language in clients:
            for path in ("/admin/", "/admin/customer/", "/admin/tiers/"):
                _assert_calm_503(client.get(path, headers=headers), language)
                requests += 1
            assert client.get("/", headers=headers).location == "/admin/"  # needs no database, gets none
        _assert_calm_503(chose.post("/admin/customer/new/", data={**form, "name": "停机时新建"}, headers=EN), "zh")
        requests += 1
        _assert_one_line_each(caplog.records, requests)
    finally:
        maintenance.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
        maintenance.close()

    assert [_signed_in_as(app, client) for client, _headers, _language in clients] == tokens
    for client, headers, _language in clients:  # no new sign-in, no restart
        assert client.get("/admin/customer/", headers=headers).status_code == 200  # not 302 to the sign-in page
    assert snapshot() == before  # the form sent during the outage stored nothing


def test_an_unreadable_sqlite_file_answers_503_and_keeps_the_session(app, login_as, tmp_path, caplog):
    """SQLite's file out of reach: does a signed-in user get the calm 503 with their session cookie untouched, while
    a SQLite error that is a bug (no such table) stays an error?"""
    client = login_as("administrator")
    cookie = client.get_cookie("session").value
    gone = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'gone' / 'crm.sqlite3'}")
    caplog.set_level(logging.INFO)
    try:
        visitor = gone.test_client()
        visitor.set_cookie("session", cookie)
        for path in ("/admin/", "/admin/customer/", "/no-such-page"):  # even a 404 page asks who the user is
            _assert_calm_503(visitor.get(path, headers=EN), "en")
        assert _signed_in_as(gone, visitor) == _signed_in_as(app, client) is not None
        _assert_one_line_each(caplog.records, 3)
    finally:
        with gone.app_context():
            db.engine.dispose()
    client.set_cookie("session", visitor.get_cookie("session").value)
    assert client.get("/admin/").status_code == 200  # the cookie it kept, on the database that is there

    empty = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        visitor = empty.test_client()
        visitor.set_cookie("session", cookie)
        with pytest.raises(Exception, match="no such table"):  # a bug, not an outage: the usual 500 (raised in tests)
            visitor.get("/admin/")
    finally:
        with empty.app_context():
            db.engine.dispose()


def test_a_database_error_that_is_a_bug_is_not_an_outage(app_ctx):
    """Are an integrity or programming error told apart from a connection that failed?"""
    from sqlalchemy import exc, text

    from crmadmin.outages import is_outage

    with pytest.raises(exc.SQLAlchemyError) as bug:
        db.session.execute(text("SELECT * FROM no_such_table"))
    db.session.rollback()
    assert not is_outage(bug.value)
    factories.user("clerk", username="twice")
    with pytest.raises(exc.IntegrityError) as conflict:
        factories.user("clerk", username="twice")
    db.session.rollback()
    assert not is_outage(conflict.value)
    assert db.session.scalar(select(User.id).where(User.username == "twice"))
