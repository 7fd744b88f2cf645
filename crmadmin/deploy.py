"""The deploy checks (`flask crm check --deploy`, and production's start): settings that make production unsafe.

Each check reads a `Deployment` (the app's configuration, the environment, and what gunicorn was told, when known) and
returns its `Problem`s: an error refuses to start the production configuration, a warning is printed once at start.
The messages are English, like the rest of the command line and the server's logs. Nothing here imports the app."""
import logging
import os
import runpy
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

log = logging.getLogger(__name__)

ERROR, WARNING = "error", "warning"
MIN_KEY_LENGTH = 32
MIN_KEY_CHARACTERS = 8  # distinct characters: 32 random hex digits have at least 9 (in 200,000 draws)
PLACEHOLDERS = ("secret", "change", "insecure", "example", "password", "default", "replace", "sample")
# gunicorn's access-log atoms that carry the query string (searches: names, phones, e-mails) or a page's URL with it
QUERY_ATOMS = ("%(r)s", "%(q)s", "%(f)s", "{raw_uri}e", "{query_string}e", "{referer}i")
CHECKED = "CRM_DEPLOY_CHECKED"  # set by gunicorn's master once it has run the checks: workers do not warn again


@dataclass(frozen=True)
class Problem:
    id: str
    level: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.id} ({self.level}): {self.message}\n    Fix: {self.fix}"


@dataclass(frozen=True)
class Server:
    """What gunicorn runs the app with; None where it is not known (the command line cannot see gunicorn's flags)."""
    workers: int | None = None
    access_log_format: str | None = None


@dataclass
class Deployment:
    config: Mapping
    env: Mapping = field(default_factory=lambda: dict(os.environ))
    server: Server = field(default_factory=Server)
    probe: bool = True  # may a check connect to a service (Redis) to see whether it answers?


CHECKS: list[Callable[[Deployment], Iterable[Problem]]] = []


def check(function):
    """Register a check: it takes a Deployment and yields its problems."""
    CHECKS.append(function)
    return function


def _on(value) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


# === SECRET KEY and DATABASE: without them production runs on a guessable key or a throwaway file ===

def key_weakness(key: str) -> str | None:
    """Why a key is guessable, or None: short, few distinct characters, a repeated run, or a placeholder's words."""
    if len(key) < MIN_KEY_LENGTH:
        return f"it is {len(key)} characters long; it must be at least {MIN_KEY_LENGTH} characters long"
    if len(set(key)) < MIN_KEY_CHARACTERS:
        return f"it has only {len(set(key))} distinct characters (at least {MIN_KEY_CHARACTERS})"
    if key in (key + key)[1:-1]:
        return "it is a shorter string repeated"
    words = [word for word in PLACEHOLDERS if word in key.lower()]
    if words:
        return f"it contains {words[0]!r}, as placeholders and sample keys do"
    return None


@check
def secret_key(deployment: Deployment):
    key = deployment.config.get("SECRET_KEY")
    if not key:
        yield Problem("crm.E001", ERROR, "SECRET_KEY is not set: sessions and form tokens cannot be signed.",
                      "Set SECRET_KEY in the environment to a random value, e.g. "
                      "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`.")
        return
    weakness = key_weakness(str(key))
    if weakness:
        yield Problem("crm.E002", ERROR, f"SECRET_KEY is weak: {weakness}. Anyone who guesses it can sign a session "
                                         "as any user.",
                      "Set SECRET_KEY to a random value of at least 32 characters, e.g. "
                      "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, shared by every host.")


@check
def database_url(deployment: Deployment):
    url = deployment.env.get("DATABASE_URL")
    if not url:
        yield Problem("crm.E003", ERROR, "DATABASE_URL is not set: production would fall back to a SQLite file "
                                         "under instance/.",
                      "Set DATABASE_URL, e.g. postgresql+psycopg://crm:...@db/crm.")
    elif url.startswith("sqlite"):
        yield Problem("crm.W001", WARNING, "DATABASE_URL is a SQLite database: one writer at a time, on one host, "
                                           "and no append-only triggers on the operation log.",
                      "Use PostgreSQL for production: DATABASE_URL=postgresql+psycopg://crm:...@db/crm.")


# === DEBUG and SESSIONS ===

@check
def debug(deployment: Deployment):
    if deployment.config.get("DEBUG") or _on(deployment.env.get("FLASK_DEBUG", "")):
        yield Problem("crm.E004", ERROR, "Debug mode is on (FLASK_DEBUG): tracebacks and settings are shown to "
                                         "users, and the debugger runs code sent to it.",
                      "Unset FLASK_DEBUG (or set it to 0) in production.")


@check
def session_timeouts(deployment: Deployment):
    for name, unit in (("CRM_IDLE_MINUTES", "minutes"), ("CRM_SESSION_HOURS", "hours")):
        value = deployment.config.get(name)
        if not isinstance(value, int) or value <= 0:
            yield Problem("crm.E005", ERROR, f"{name} is {value!r}: a session must last a positive number of {unit} "
                                             "(zero or less signs everyone out at their next request).",
                          f"Set {name} to a positive whole number, or unset it (default "
                          f"{'30' if name == 'CRM_IDLE_MINUTES' else '12'}).")


@check
def secure_cookies(deployment: Deployment):
    for name, cookie in (("SESSION_COOKIE_SECURE", "session"), ("REMEMBER_COOKIE_SECURE", "remember-me")):
        if not deployment.config.get(name):
            yield Problem("crm.W002" if cookie == "session" else "crm.W003", WARNING,
                          f"{name} is off: the {cookie} cookie is also sent over plain HTTP, where it can be read "
                          "on the way.",
                          "Serve the panel over HTTPS and leave SESSION_COOKIE_SECURE unset (on in production).")


# === HTTPS and HOSTS ===

@check
def hsts(deployment: Deployment):
    if not deployment.config.get("CRM_HSTS_SECONDS"):
        yield Problem("crm.W004", WARNING, "CRM_HSTS_SECONDS is 0: browsers are not told to use HTTPS only, so a "
                                           "first plain-HTTP request can be intercepted.",
                      "Serve over HTTPS and leave CRM_HSTS_SECONDS unset (one year in production).")


@check
def allowed_hosts(deployment: Deployment):
    if not deployment.config.get("TRUSTED_HOSTS"):
        yield Problem("crm.W005", WARNING, "CRM_ALLOWED_HOSTS is not set: any Host header is accepted, so links "
                                           "the panel builds may point wherever a forged request says.",
                      "Set CRM_ALLOWED_HOSTS to the panel's host names, comma-separated (e.g. crm.example.com; "
                      "a leading dot allows subdomains), unless the proxy in front already refuses other hosts.")


# === SHARED STATE: several workers or hosts count sign-in failures and cache summaries together only on Redis ===

@check
def redis(deployment: Deployment):
    url = deployment.env.get("REDIS_URL")
    if not url:
        workers = deployment.server.workers
        if workers is None or workers > 1:
            several = f"{workers} workers" if workers else "several workers or hosts (gunicorn's count is not known here)"
            yield Problem("crm.W006", WARNING, f"REDIS_URL is not set: with {several} each process counts failed "
                                               "sign-ins on its own (the lockout allows that many times more "
                                               "guesses), and cached summaries are shared only by the "
                                               "processes of one host (files under instance/cache).",
                          "Set REDIS_URL, e.g. redis://redis:6379/0; or serve with one worker on one host.")
        return
    if not deployment.probe:
        return
    import redis as redis_client

    try:
        client = redis_client.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except (redis_client.RedisError, ValueError, OSError) as error:
        yield Problem("crm.W007", WARNING, f"Redis at REDIS_URL does not answer ({error.__class__.__name__}): each "
                                           "process counts failed sign-ins on its own until it does.",
                      "Start Redis or correct REDIS_URL (redis://host:6379/0).")


# === JOBS: the queue every worker and every host takes work from (docs/JOBS.md) ===

@check
def jobs_queue(deployment: Deployment):
    url = deployment.env.get("CRM_JOBS_URL") or deployment.config.get("CRM_JOBS_URL") or ""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "memory":
        yield Problem("crm.E006", ERROR, "CRM_JOBS_URL is memory://: jobs queued by the panel would stay in that "
                                         "process, where no worker takes them (exports, imports and the daily "
                                         "refresh never run).",
                      "Set CRM_JOBS_URL to redis://host:6379/N (or unset it to use REDIS_URL).")
    elif scheme == "sqlite" or (not url and not deployment.env.get("REDIS_URL")):
        where = "CRM_JOBS_URL is a SQLite file" if url else "Neither CRM_JOBS_URL nor REDIS_URL is set: the job " \
                                                             "queue falls back to a SQLite file under instance/"
        yield Problem("crm.W009", WARNING, f"{where}: only workers on this host take its jobs, so jobs queued by "
                                           "another host's panel wait until a worker runs beside it.",
                      "Serve from one host, or set REDIS_URL (or CRM_JOBS_URL=redis://host:6379/N) on every host.")


# === LOGS: searches put names, phones and e-mails into URLs, which an access log keeps after an erasure ===

@check
def access_log(deployment: Deployment):
    log_format = deployment.server.access_log_format
    if log_format is None:
        return
    atoms = [atom for atom in QUERY_ATOMS if atom.lower() in log_format.lower()]
    if atoms:
        yield Problem("crm.W008", WARNING, f"gunicorn's access_log_format writes query strings or referrers "
                                           f"({', '.join(atoms)}): searches put names, phones and e-mails into them, "
                                           "and the access log keeps them after a customer's data is erased.",
                      "Run gunicorn from the repository (gunicorn.conf.py logs the path without its query) and do "
                      "not pass --access-logformat; use %(m)s %(U)s %(H)s instead of %(r)s, and no %(q)s or %(f)s.")


def run(deployment: Deployment) -> list[Problem]:
    """Every problem of the deployment, errors first."""
    problems = [problem for each in CHECKS for problem in each(deployment)]
    return sorted(problems, key=lambda problem: (problem.level != ERROR, problem.id))


def report(problems: list[Problem]) -> str:
    return "\n".join(map(str, problems))


def gunicorn_server(directory: Path, env: Mapping) -> Server:
    """The workers and access-log format of gunicorn started in `directory`: its gunicorn.conf.py, GUNICORN_CMD_ARGS and
    WEB_CONCURRENCY (gunicorn's default worker count); its own command-line flags cannot be seen from here."""
    from gunicorn.config import Config

    settings, given = Config(), {}
    path = directory / "gunicorn.conf.py"
    if path.exists():
        given.update((name, value) for name, value in runpy.run_path(str(path)).items() if name in settings.settings)
    arguments = settings.parser().parse_args(shlex.split(env.get("GUNICORN_CMD_ARGS", "")))
    given.update((name, value) for name, value in vars(arguments).items()
                 if value is not None and name in settings.settings)
    for name, value in given.items():
        settings.set(name, value)
    workers = given.get("workers") or (int(env["WEB_CONCURRENCY"]) if env.get("WEB_CONCURRENCY", "").isdigit() else None)
    return Server(workers=workers, access_log_format=settings.access_log_format)


def production_config() -> Mapping:
    """The production configuration as a new process started in this environment would read it (config.py run
    afresh: its classes read the environment when they are defined), without starting the app."""
    from flask import Config
    from flask.helpers import get_debug_flag

    root = Path(__file__).resolve().parent.parent
    config = Config(str(root))
    config["DEBUG"] = get_debug_flag()
    config.from_object(runpy.run_path(str(root / "config.py"))["ProductionConfig"])
    return config


def _checking_deploy(argv: list[str]) -> bool:
    words = argv[1:]
    return "--deploy" in words and any(words[i:i + 2] == ["crm", "check"] for i in range(len(words)))


def enforce(config: Mapping) -> None:
    """Production's start: refuse on any error; log the warnings, unless gunicorn's master logged them already."""
    if _checking_deploy(sys.argv):
        return  # `flask crm check --deploy` loads the app to find its command, which then reports every problem
    checked = _on(os.environ.get(CHECKED, ""))
    problems = run(Deployment(config, dict(os.environ), probe=not checked))
    errors = [problem for problem in problems if problem.level == ERROR]
    if errors:
        raise RuntimeError("The production configuration is unsafe (`flask crm check --deploy` lists every "
                           "problem):\n" + report(errors))
    if not checked:
        for problem in problems:
            log.warning("%s", problem)


def at_gunicorn_start(server) -> None:
    """gunicorn's on_starting hook, in the master: the checks once, with its worker count and access-log format;
    errors stop it before a worker starts, warnings go to its error log, and the workers do not repeat them."""
    if os.environ.get("CRM_CONFIG", "development") != "production":
        return
    env = dict(os.environ)
    problems = run(Deployment(production_config(), env, Server(server.cfg.workers, server.cfg.access_log_format)))
    errors = [problem for problem in problems if problem.level == ERROR]
    if errors:
        raise RuntimeError("the production configuration is unsafe:\n" + report(errors))
    for problem in problems:
        server.log.warning("%s", problem)
    os.environ[CHECKED] = "1"
