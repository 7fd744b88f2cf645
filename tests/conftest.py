"""Fixtures: one migrated database per run (SQLite file, or TEST_DATABASE_URL), emptied before each test."""
import contextlib
import os
import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, select, text

from crmadmin import create_app
from crmadmin.cli import sync_builtin_roles
from crmadmin.extensions import db, limiter
from tests import factories
from tests.forms import csrf_token
from tests.request_times import RequestTimer, limit as request_limit, too_slow


def pytest_addoption(parser):
    parser.addini("slow_request_seconds", "a test fails when one of its requests took longer (seconds); "
                  "CRM_TEST_SLOW_REQUEST_SECONDS overrides it", default="")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'crm-test.sqlite3'}"


def _wipe(url: str) -> None:
    """Start from an empty database: the suite proves the migrations build the whole schema."""
    if url.startswith("postgresql"):
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def jobs_queue(tmp_path_factory, database_url) -> dict:
    """The suite's real queue: a SQLite file, or Redis db 14 on the PostgreSQL pass (TEST_JOBS_URL to change it),
    under a name of this run's own so that two runs never share it."""
    if database_url.startswith("postgresql"):
        url = os.environ.get("TEST_JOBS_URL", "redis://127.0.0.1:6379/14")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('jobs') / 'jobs.sqlite3'}"
    return {"CRM_JOBS_URL": url, "CRM_JOBS_NAME": f"crmtest{os.getpid()}",
            "CRM_JOB_FILES": str(tmp_path_factory.mktemp("job_files"))}


@pytest.fixture(scope="session")
def app(database_url, jobs_queue):
    # Not StrictUndefined: Flask-Admin's own lib.html reads `widget.input_type`, absent on Select2 widgets.
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, **jobs_queue)
    with app.app_context():
        _wipe(database_url)
        upgrade()
    app.wsgi_app = RequestTimer(app.wsgi_app)  # every request's time: the clean_database fixture checks them
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before pytest checks for leaked resources


@pytest.fixture(autouse=True)
def clean_database(app, pytestconfig, request):
    """Every test starts with the built-in roles and no other rows.

    No app context stays pushed during the test: requests would share its `g` (and so a stale CSRF token).
    """
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)] + ["alembic_version"]
        keep = {"alembic_version"}
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                # the operation log refuses TRUNCATE; a superuser test session may bypass its triggers
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                names = ", ".join(f'"{t}"' for t in tables if t not in keep)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    if name not in keep:
                        conn.execute(text(f'DELETE FROM "{name}"'))
        sync_builtin_roles()
        db.session.remove()
        limiter.reset()  # sign-in failures of one test must not lock out the next
    app.wsgi_app.take()
    yield
    slow = too_slow(app.wsgi_app.take(), request_limit(pytestconfig))
    if slow and request.node.get_closest_marker("slow_requests_allowed") is None:
        pytest.fail(slow, pytrace=False)


@pytest.fixture
def app_ctx(app):
    """For tests that only query: requests made inside would share this context's `g`."""
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, username: str, password: str = factories.PASSWORD):
    """Both steps when the user has two-factor sign-in: the password, then the code their app would show now."""
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(page.get_data(as_text=True))})
    if response.status_code == 302 and response.headers["Location"] == "/login/code":
        response = type_code(client, username)
    return response


def type_code(client, username: str, code: str | None = None):
    """The code step: `code`, or the next one the user's authenticator app would show."""
    page = client.get("/login/code")
    if code is None:
        with client.application.app_context():
            code = factories.next_unused_code(username)
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_token(page.get_data(as_text=True))})


@pytest.fixture
def login_as(app):
    """login_as('clerk') -> a test client signed in as a new user holding that built-in role."""

    def _login(role: str = "administrator", **user_kwargs):
        with app.app_context():
            user = factories.user(role, **user_kwargs)
            username = user.username
        client = app.test_client()
        response = sign_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        client.username = username
        return client

    return _login


@pytest.fixture
def count_queries(app):
    """with count_queries() as statements: ...  -> statements is the list of SQL run inside; threads="other": only
    those run by other threads (a job worker's, not the test's own requests)."""

    @contextlib.contextmanager
    def _count(threads: str = "all"):
        statements = []
        mine = threading.get_ident()

        def before(conn, cursor, statement, parameters, context, executemany):
            if threads == "all" or threading.get_ident() != mine:
                statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return _count


# The operation log records the refusal itself; everything else must stay byte for byte.
LOG_TABLES = {"audit_entry"}


@pytest.fixture
def snapshot(app):
    """snapshot() -> every row of every table but the log, to assert that a refused request changed nothing."""

    def _snapshot():
        with app.app_context(), db.engine.connect() as connection:
            return {table.name: sorted(tuple(map(repr, row)) for row in connection.execute(table.select()))
                    for table in db.metadata.sorted_tables if table.name not in LOG_TABLES}

    return _snapshot


def log_entries(app, **where):
    """The operation log's entries matching column=value pairs, oldest first, readable outside the app context."""
    from crmadmin.models import AuditEntry

    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        found = db.session.scalars(query).all()
        db.session.expunge_all()
        return found


@pytest.fixture
def job_worker_later(app):
    """start(): a real worker started when the test says so (its queued jobs wait until then)."""
    import signal

    from crmadmin.jobs.queue import consumer as make_consumer

    started = []

    def _start():
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        consumer = make_consumer(app, workers=1, periodic=False)
        consumer.start()
        for s, handler in handlers.items():
            signal.signal(s, handler)
        started.append(consumer)

    yield _start
    for consumer in started:
        consumer.stop(graceful=True)


@pytest.fixture
def job_worker(app):
    """A real worker (Huey's consumer, one thread) on the suite's queue, emptied first, for the test's jobs (exports);
    stopped gracefully after the test. Yields the queue."""
    import signal

    from crmadmin.jobs import queue
    from crmadmin.jobs.queue import consumer as make_consumer

    huey = queue(app)
    huey.flush()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = make_consumer(app, workers=1, periodic=False)
    consumer.start()
    for s, handler in handlers.items():  # the consumer's handlers are for a process of its own, not pytest
        signal.signal(s, handler)
    yield huey
    consumer.stop(graceful=True)
    huey.flush()


@pytest.fixture
def huey(app):
    """The suite's queue (SQLite file, or Redis on the PostgreSQL pass), empty."""
    from crmadmin.jobs import queue

    huey = queue(app)
    huey.flush()
    yield huey
    huey.flush()


@pytest.fixture
def worker(app, huey):
    """start(n): Huey's consumer with n worker threads on the suite's queue, stopped gracefully after the test; the
    test drives the scheduler's clock itself."""
    import signal

    from crmadmin.jobs.queue import consumer as make_consumer

    started = []
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def start(workers: int = 1):
        consumer = make_consumer(app, workers=workers, periodic=False)
        consumer.start()
        for s, handler in handlers.items():  # the consumer's handlers are for a process of its own, not pytest
            signal.signal(s, handler)
        started.append(consumer)
        return consumer

    yield start
    for consumer in started:
        consumer.stop(graceful=True)
