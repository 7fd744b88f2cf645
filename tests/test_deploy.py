"""The deploy checks: what makes production unsafe is named with its fix, errors refuse to start, and the settings
they ask for (HSTS, allowed hosts) do what they say."""
import logging
import os
import secrets
import socket
import subprocess

import pytest

from crmadmin import create_app
from crmadmin.deploy import ERROR, WARNING, Deployment, Server, run
from crmadmin.extensions import db
from tests import factories

STRONG = secrets.token_urlsafe(40)
SAFE = {"SECRET_KEY": STRONG, "DEBUG": False, "CRM_IDLE_MINUTES": 30, "CRM_SESSION_HOURS": 12,
        "SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True, "CRM_HSTS_SECONDS": 31536000,
        "TRUSTED_HOSTS": ["crm.example.com"], "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://crm@db/crm"}
SAFE_ENV = {"DATABASE_URL": "postgresql+psycopg://crm@db/crm", "REDIS_URL": "redis://127.0.0.1:6379/15"}
SAFE_SERVER = Server(workers=4, access_log_format='%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s')


def problems(config=None, env=None, server=SAFE_SERVER, probe=True):
    """The ids of the problems of the safe deployment changed by `config` and `env` (a None value removes it)."""
    settings = {k: v for k, v in {**SAFE, **(config or {})}.items() if v is not None}
    environment = {k: v for k, v in {**SAFE_ENV, **(env or {})}.items() if v is not None}
    return {(p.id, p.level) for p in run(Deployment(settings, environment, server, probe))}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_safe_deployment_has_no_problem():
    """Does a deployment with every setting right pass every check (Redis answering on the machine's 6379)?"""
    assert problems() == set()


def test_a_missing_or_weak_secret_key_is_an_error():
    """Is a missing key, a short one, `aaaa…`, a repeated run or a placeholder refused, and a random key accepted?"""
    assert problems({"SECRET_KEY": None}) == {("crm.E001", ERROR)}
    for weak in ("short", "a" * 64, "abcdefgh" * 6, "0123456789abcdef" * 3, "change-me-" + STRONG,
                 "django-insecure-" + STRONG, "my-Secret-" + STRONG):
        assert problems({"SECRET_KEY": weak}) == {("crm.E002", ERROR)}, weak
    for strong in (secrets.token_hex(16), secrets.token_hex(32), secrets.token_urlsafe(32)):
        assert problems({"SECRET_KEY": strong}) == set(), strong


def test_a_missing_database_url_is_an_error_and_sqlite_a_warning():
    assert problems(env={"DATABASE_URL": None}) == {("crm.E003", ERROR)}
    assert problems(env={"DATABASE_URL": "sqlite:////srv/crm.sqlite3"}) == {("crm.W001", WARNING)}


def test_debug_on_is_an_error():
    """Is debug mode refused whether the config or FLASK_DEBUG turns it on, and FLASK_DEBUG=0 accepted?"""
    assert problems({"DEBUG": True}) == {("crm.E004", ERROR)}
    assert problems(env={"FLASK_DEBUG": "1"}) == {("crm.E004", ERROR)}
    assert problems(env={"FLASK_DEBUG": "0"}) == set()


@pytest.mark.parametrize("name", ["CRM_IDLE_MINUTES", "CRM_SESSION_HOURS"])
def test_a_session_timeout_of_zero_or_less_is_an_error(name):
    assert problems({name: 0}) == problems({name: -5}) == {("crm.E005", ERROR)}
    assert problems({name: 1}) == set()


def test_cookies_sent_over_http_are_warned_about():
    assert problems({"SESSION_COOKIE_SECURE": False}) == {("crm.W002", WARNING)}
    assert problems({"REMEMBER_COOKIE_SECURE": False}) == {("crm.W003", WARNING)}


def test_no_hsts_and_no_allowed_hosts_are_warned_about():
    assert problems({"CRM_HSTS_SECONDS": 0}) == {("crm.W004", WARNING)}
    assert problems({"TRUSTED_HOSTS": None}) == {("crm.W005", WARNING)}


def test_no_redis_is_warned_about_unless_one_worker_serves():
    """Without REDIS_URL, is a warning given for several workers or an unknown count, and none for one worker?"""
    redis_queue = {"CRM_JOBS_URL": "redis://127.0.0.1:6379/14"}  # the job queue's own warning is the next test's
    assert problems(env={"REDIS_URL": None, **redis_queue}) == {("crm.W006", WARNING)}
    assert problems(env={"REDIS_URL": None, **redis_queue}, server=Server(None, SAFE_SERVER.access_log_format)) == {
        ("crm.W006", WARNING)}
    assert problems(env={"REDIS_URL": None, **redis_queue}, server=Server(1, SAFE_SERVER.access_log_format)) == set()


def test_a_job_queue_other_hosts_cannot_reach_is_warned_about_and_one_in_memory_refused():
    """Is a queue in a SQLite file (given, or the fallback without REDIS_URL) a warning, memory:// an error, and a
    queue on Redis (given, or REDIS_URL's) no problem?"""
    assert problems(env={"CRM_JOBS_URL": "sqlite:////srv/crm/jobs.sqlite3"}) == {("crm.W009", WARNING)}
    assert ("crm.W009", WARNING) in problems(env={"REDIS_URL": None}, server=Server(1, SAFE_SERVER.access_log_format))
    assert problems(env={"CRM_JOBS_URL": "memory://"}) == {("crm.E006", ERROR)}
    assert problems(config={"CRM_JOBS_URL": "memory://"}) == {("crm.E006", ERROR)}
    assert problems(env={"CRM_JOBS_URL": "redis://127.0.0.1:6379/14"}) == set()
    assert problems() == set()  # REDIS_URL set, CRM_JOBS_URL not: the queue is on Redis


def test_an_unreachable_redis_is_warned_about():
    """Is a REDIS_URL where nothing answers a warning (and not probed where probing is off, as in the workers)?"""
    nowhere = {"REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0"}
    assert problems(env=nowhere) == {("crm.W007", WARNING)}
    assert problems(env=nowhere, probe=False) == set()


@pytest.mark.parametrize("log_format", ['%(h)s "%(r)s" %(s)s', '%(h)s %(U)s?%(q)s', '%(U)s "%(f)s"',
                                        "%(U)s %({raw_uri}e)s", "%(U)s %({Referer}i)s"])
def test_an_access_log_format_with_the_query_string_is_warned_about(log_format):
    """gunicorn's default format (%(r)s, the request line) keeps searches (names, phones) in the access log."""
    assert problems(server=Server(4, log_format)) == {("crm.W008", WARNING)}


def test_gunicorn_conf_logs_no_query_string_and_the_command_line_reads_it(monkeypatch):
    """Does `flask crm check --deploy`, reading gunicorn.conf.py as gunicorn does, find no query string in its
    format, and does it see one passed in GUNICORN_CMD_ARGS?"""
    from pathlib import Path

    from crmadmin.deploy import gunicorn_server

    root = Path(__file__).resolve().parent.parent
    server = gunicorn_server(root, {})
    assert server.workers is None and problems(server=server) == set()
    server = gunicorn_server(root, {"GUNICORN_CMD_ARGS": "--workers 3 --access-logformat '%(h)s %(r)s'"})
    assert server.workers == 3 and problems(server=server) == {("crm.W008", WARNING)}
    assert gunicorn_server(root, {"WEB_CONCURRENCY": "2"}).workers == 2


@pytest.fixture
def production_env(monkeypatch):
    """The environment of a safe production start, read afresh by the checks (as a new process would read it)."""
    for name, value in {"CRM_CONFIG": "production", "DATABASE_URL": SAFE_ENV["DATABASE_URL"], "SECRET_KEY": STRONG,
                        "REDIS_URL": "redis://127.0.0.1:6379/15", "CRM_ALLOWED_HOSTS": "crm.example.com"}.items():
        monkeypatch.setenv(name, value)
    for name in ("FLASK_DEBUG", "SESSION_COOKIE_SECURE", "CRM_HSTS_SECONDS", "CRM_IDLE_MINUTES", "GUNICORN_CMD_ARGS",
                 "WEB_CONCURRENCY", "CRM_DEPLOY_CHECKED", "CRM_JOBS_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_check_deploy_exits_non_zero_on_errors_and_zero_on_warnings_only(app, production_env):
    """Does `flask crm check --deploy` list each problem with its id and fix, and exit 1 only when one is an error?"""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "check", "--deploy"])
    assert result.exit_code == 0 and "0 error(s), 0 warning(s)." in result.output, result.output

    production_env.setenv("SESSION_COOKIE_SECURE", "false")
    production_env.delenv("REDIS_URL")
    result = runner.invoke(args=["crm", "check", "--deploy"])
    assert result.exit_code == 0 and "0 error(s), 4 warning(s)." in result.output, result.output
    assert "crm.W002 (warning)" in result.output and "crm.W006 (warning)" in result.output
    assert "crm.W009 (warning)" in result.output  # without Redis the job queue is one host's SQLite file
    assert "Fix: Set REDIS_URL" in result.output

    production_env.setenv("SECRET_KEY", "a" * 32)
    production_env.setenv("FLASK_DEBUG", "1")
    result = runner.invoke(args=["crm", "check", "--deploy"])
    assert result.exit_code == 1 and "2 error(s), 4 warning(s)." in result.output, result.output
    assert "crm.E002 (error): SECRET_KEY is weak" in result.output and "crm.E004 (error)" in result.output


@pytest.mark.parametrize("setting, value, problem", [("SECRET_KEY", "a" * 40, "crm.E002"),
                                                     ("SECRET_KEY", "change-me-" + STRONG, "crm.E002"),
                                                     ("FLASK_DEBUG", "1", "crm.E004")])
def test_production_refuses_to_start_with_a_weak_key_or_debug_on(production_env, setting, value, problem):
    """Could production start with a guessable key, or with the debugger open to anyone?"""
    overrides = {}
    if setting == "SECRET_KEY":
        overrides["SECRET_KEY"] = value
    else:
        production_env.setenv(setting, value)
    with pytest.raises(RuntimeError, match=problem):
        create_app("production", **overrides)


def test_production_starts_with_its_warnings_logged(production_env, caplog):
    """Does production start with warnings only, logging each of them?"""
    production_env.delenv("CRM_ALLOWED_HOSTS")
    production_env.setattr(logging.getLogger("crmadmin.deploy"), "disabled", False)  # alembic's fileConfig disabled it
    app = create_app("production", SECRET_KEY=STRONG, TRUSTED_HOSTS=None, SESSION_COOKIE_SECURE=False)
    assert app.config["CRM_HSTS_SECONDS"] == 365 * 24 * 3600
    logged = [record.getMessage() for record in caplog.records if record.name == "crmadmin.deploy"]
    assert [message.split(" ", 1)[0] for message in logged] == ["crm.W002", "crm.W005"]


@pytest.fixture
def production_client(production_env, database_url):
    app = create_app("production", SECRET_KEY=STRONG, SQLALCHEMY_DATABASE_URI=database_url,
                     TRUSTED_HOSTS=["crm.example.com"])
    yield app, app.test_client()
    with app.app_context():
        db.engine.dispose()


def test_hsts_is_sent_on_https_requests_in_production(production_client):
    """Does production tell browsers to use HTTPS only, on HTTPS responses (over HTTP it would mean nothing)?"""
    _app, client = production_client
    secure = client.get("/login", base_url="https://crm.example.com")
    assert secure.status_code == 200 and secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = client.get("/login", base_url="http://crm.example.com")
    assert plain.status_code == 200 and "Strict-Transport-Security" not in plain.headers


def test_development_sends_no_hsts(client):
    """Is development (and testing) left free to run on plain HTTP, even when asked over HTTPS?"""
    assert "Strict-Transport-Security" not in client.get("/login", base_url="https://localhost").headers


def test_a_forged_host_is_answered_400_and_changes_nothing(app, production_client, snapshot):
    """With CRM_ALLOWED_HOSTS set, is a request for another host refused with 400 (not 500), signing nobody in?"""
    production, client = production_client
    with app.app_context():
        user = factories.user("administrator")
    before = snapshot()
    for method, path in (("GET", "/login"), ("GET", "/admin/customer/?search=x"), ("POST", "/login")):
        response = client.open(path, method=method, base_url="https://evil.example.org",
                               data={"username": user.username, "password": factories.PASSWORD})
        assert response.status_code == 400, (path, response.status_code)
        assert "host name" in response.get_data(as_text=True)
    assert snapshot() == before
    assert client.get("/login", base_url="https://crm.example.com:8443").status_code == 200  # the port is no matter


def test_development_starts_without_any_production_setting(tmp_path):
    """Does the quickstart's development configuration still start with none of these settings?"""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CRM_CONFIG",
                                                            "CRM_ALLOWED_HOSTS")}
    env["CRM_INSTANCE_DIR"] = str(tmp_path)
    code = "from crmadmin import create_app; app = create_app(); print(app.config['CRM_HSTS_SECONDS'])"
    from pathlib import Path
    import sys

    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "0", done.stderr[-2000:]


def test_check_deploy_reports_even_where_production_would_refuse_to_start(tmp_path):
    """`flask crm check --deploy` loads the app to find its command: under CRM_CONFIG=production with a weak key, does
    it still list the problems (exit 1) instead of a traceback of the refused start?"""
    from pathlib import Path
    import sys

    env = {**os.environ, "CRM_CONFIG": "production", "SECRET_KEY": "a" * 40, "CRM_INSTANCE_DIR": str(tmp_path),
           "DATABASE_URL": SAFE_ENV["DATABASE_URL"]}
    done = subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "app", "crm", "check", "--deploy"],
                          cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "crm.E002 (error)" in done.stdout and "Traceback" not in done.stderr, done
