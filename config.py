"""Configuration classes, read from the environment with safe defaults."""
import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CRM_INSTANCE_DIR", BASE_DIR / "instance"))


def dev_secret_key(instance_dir: Path) -> str:
    """Generate the development key once and keep it under instance/ so sessions survive restarts."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    @classmethod
    def prepare(cls, config: dict) -> None:
        """Last checks and derived values once the class is loaded into app.config."""
    # === DATABASE ===
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'crmadmin.sqlite3'}"
    )
    # hide_parameters: SQL errors in logs never carry the values (names, phones, hashes) they were about
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

    # === BACKUP ===
    # Where backups are written: `flask crm backup` (default instance/backups) and the worker's scheduled backup,
    # which runs only when this is set, each day at CRM_BACKUP_AT (HH:MM, CRM_TIMEZONE), keeping the newest
    # CRM_BACKUP_KEEP files (docs/JOBS.md).
    CRM_BACKUP_DIR = os.environ.get("CRM_BACKUP_DIR")
    CRM_BACKUP_AT = os.environ.get("CRM_BACKUP_AT", "02:30")
    CRM_BACKUP_KEEP = int(os.environ.get("CRM_BACKUP_KEEP", "7"))
    CRM_PG_BIN_DIR = os.environ.get("CRM_PG_BIN_DIR")  # pg_dump and pg_restore of the server's version; default PATH

    # === SECURITY ===
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    # A signed-in session ends after this long without a request, and this long after sign-in whatever happens.
    CRM_IDLE_MINUTES = int(os.environ.get("CRM_IDLE_MINUTES", "30"))
    CRM_SESSION_HOURS = int(os.environ.get("CRM_SESSION_HOURS", "12"))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=CRM_SESSION_HOURS)  # no signed cookie is accepted past it
    # between the password and the authenticator code: that half-signed-in state grants nothing and ends after this
    CRM_TWO_FACTOR_MINUTES = int(os.environ.get("CRM_TWO_FACTOR_MINUTES", "5"))
    REMEMBER_COOKIE_DURATION = timedelta(days=1)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = CRM_SESSION_HOURS * 3600  # a form token expires with the longest session
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    # argon2id parameters (RFC 9106 second recommended option: 64 MiB, t=3, p=4)
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    # Failed sign-ins: per (client address, user name) against guessing one password, per address
    # against trying one password on many names; while either is exceeded the password is not checked.
    CRM_LOGIN_FAILURES = os.environ.get("CRM_LOGIN_FAILURES", "10 per 15 minutes")
    CRM_LOGIN_FAILURES_PER_IP = os.environ.get("CRM_LOGIN_FAILURES_PER_IP", "50 per 15 minutes")
    # the customer form's live check of a mobile or e-mail, per user: enough for typing, too few to walk the file
    CRM_TAKEN_CHECKS = os.environ.get("CRM_TAKEN_CHECKS", "60 per minute")
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"  # shared by every worker when on Redis
    # === CACHE: summaries over every customer (tier totals, dashboard), shared by workers on Redis ===
    # Without Redis, files under the instance folder: the web processes and the job worker of one host (run.sh) share
    # them, since stale summaries are recomputed by the worker (crmadmin/jobs/summaries.py).
    CACHE_TYPE = "RedisCache" if os.environ.get("REDIS_URL") else "FileSystemCache"
    CACHE_DIR = os.environ.get("CRM_CACHE_DIR") or str(INSTANCE_DIR / "cache")  # used by FileSystemCache only
    CACHE_THRESHOLD = 10000  # files FileSystemCache keeps before it prunes (a dashboard has six per viewer scope)
    CACHE_REDIS_URL = os.environ.get("REDIS_URL")
    CACHE_KEY_PREFIX = "crmadmin:"
    # Redis unreachable (crmadmin/cache_fallback.py): a request waits at most a second for it, then the summaries are
    # computed without it, and it is asked again every CRM_CACHE_RETRY_SECONDS.
    CACHE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1} if os.environ.get("REDIS_URL") else None
    CRM_CACHE_RETRY_SECONDS = float(os.environ.get("CRM_CACHE_RETRY_SECONDS", "5"))
    CRM_SUMMARY_SECONDS = int(os.environ.get("CRM_SUMMARY_SECONDS", "120"))  # how long a summary may be stale
    CRM_COUNT_CAP = int(os.environ.get("CRM_COUNT_CAP", "10000"))  # list totals above this show as "10,000+"
    CRM_SEARCH_COUNT_CAP = int(os.environ.get("CRM_SEARCH_COUNT_CAP", "1000"))  # a search's total: "1,000+"
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True  # Redis down: count per process rather than refuse every sign-in
    # Strict-Transport-Security's max-age, sent on HTTPS requests only (0: not sent); one year in production.
    CRM_HSTS_SECONDS = int(os.environ.get("CRM_HSTS_SECONDS", "0"))
    # The Host names the panel answers to, comma-separated (".example.com" allows its subdomains); others get 400.
    TRUSTED_HOSTS = [host.strip() for host in os.environ.get("CRM_ALLOWED_HOSTS", "").split(",") if host.strip()] or None
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none, use the peer address).
    CRM_PROXY_HOPS = int(os.environ.get("CRM_PROXY_HOPS", "0"))

    # === JOBS (crmadmin/jobs, docs/JOBS.md): the queue `flask crm worker` takes work from ===
    # redis://host:6379/N shares it between workers on any number of hosts; sqlite:///path between the workers
    # of one host. Unset: REDIS_URL if set, else instance/jobs.sqlite3 (the embedded queue of ./run.sh).
    CRM_JOBS_URL = os.environ.get("CRM_JOBS_URL")
    CRM_JOBS_NAME = os.environ.get("CRM_JOBS_NAME", "crmadmin")  # the queue's name in its storage
    # Finished jobs' files (exports): a folder every web and worker host shares (NFS or the like) when there are
    # several; unset: instance/job_files. They are deleted CRM_JOB_FILES_HOURS after the job finished.
    CRM_JOB_FILES = os.environ.get("CRM_JOB_FILES")
    CRM_JOB_FILES_HOURS = float(os.environ.get("CRM_JOB_FILES_HOURS", "24"))
    # A running job that has not reported progress for this long lost its worker (killed): it is marked failed.
    CRM_JOB_STALE_SECONDS = int(os.environ.get("CRM_JOB_STALE_SECONDS", "300"))
    # Above these sizes a batch undo (its changes) and a merge (the records it moves) run as jobs, not in the request.
    CRM_UNDO_IN_REQUEST_MAX = int(os.environ.get("CRM_UNDO_IN_REQUEST_MAX", "500"))
    CRM_MERGE_IN_REQUEST_MAX = int(os.environ.get("CRM_MERGE_IN_REQUEST_MAX", "2000"))

    # === LANGUAGE ===
    LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"  # stored in UTC; shown in the viewer's zone (crmadmin/localtime.py selects it)
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "crmadmin" / "translations")

    # === ADMIN ===
    CRM_NAME = os.environ.get("CRM_NAME", "crmadmin")
    CRM_PAGE_SIZE = int(os.environ.get("CRM_PAGE_SIZE", "20"))
    CRM_PHONE_REGION = os.environ.get("CRM_PHONE_REGION", "CN")
    CRM_DEFAULT_CURRENCY = os.environ.get("CRM_DEFAULT_CURRENCY", "CNY")
    # the business day (due dates, "today", ages in days) is counted in this time zone
    CRM_TIMEZONE = os.environ.get("CRM_TIMEZONE", "Asia/Shanghai")
    FLASK_ADMIN_SWATCH = "default"

    # === IMPORTS (checked before a file is parsed; see crmadmin/imports/reading.py) ===
    CRM_IMPORT_MAX_BYTES = int(os.environ.get("CRM_IMPORT_MAX_BYTES", 15 * 1024 * 1024))  # below MAX_CONTENT_LENGTH
    CRM_IMPORT_MAX_ROWS = int(os.environ.get("CRM_IMPORT_MAX_ROWS", "100000"))
    CRM_IMPORT_XLSX_MAX_MEMBERS = int(os.environ.get("CRM_IMPORT_XLSX_MAX_MEMBERS", "200"))  # parts in the zip
    CRM_IMPORT_XLSX_MAX_UNZIPPED = int(os.environ.get("CRM_IMPORT_XLSX_MAX_UNZIPPED", 256 * 1024 * 1024))
    CRM_IMPORT_XLSX_MAX_RATIO = int(os.environ.get("CRM_IMPORT_XLSX_MAX_RATIO", "200"))  # unzipped / zipped, per part
    CRM_IMPORT_STAGED_HOURS = int(os.environ.get("CRM_IMPORT_STAGED_HOURS", "24"))  # an unfinished upload is kept
    # rows stored a flush; an import job's progress (and a cancel) is taken between flushes
    CRM_IMPORT_FLUSH_ROWS = int(os.environ.get("CRM_IMPORT_FLUSH_ROWS", "2000"))

    # === FILES ON RECORDS (crmadmin/files): contracts, ID scans, photos attached to customers and complaints ===
    # A folder every host running the panel mounts at this path (NFS, SMB, a shared volume); unset: in the database.
    CRM_FILES_DIR = os.environ.get("CRM_FILES_DIR") or None
    CRM_FILES_MAX_BYTES = int(os.environ.get("CRM_FILES_MAX_BYTES", CRM_IMPORT_MAX_BYTES))  # below MAX_CONTENT_LENGTH
    FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION = False
    FLASK_ADMIN_RAISE_ON_INTEGRITY_ERROR = False


class DevelopmentConfig(Config):
    @classmethod
    def prepare(cls, config: dict) -> None:
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = dev_secret_key(INSTANCE_DIR)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    CRM_HSTS_SECONDS = int(os.environ.get("CRM_HSTS_SECONDS", str(365 * 24 * 3600)))

    @classmethod
    def prepare(cls, config: dict) -> None:
        """Refuse to start on any deploy check's error (a guessable key, debug on, no database); log its warnings."""
        from crmadmin.deploy import enforce

        enforce(config)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production-0123456789"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION = True  # an unexpected error fails the test instead of flashing
    # tests exercise argon2 for real, with cheaper parameters so hundreds of logins stay quick
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8192
    ARGON2_PARALLELISM = 1
    CACHE_TYPE = "SimpleCache"
    CACHE_OPTIONS = None  # Redis's socket timeouts, even with REDIS_URL set, would be refused by SimpleCache
    CRM_SUMMARY_SECONDS = 0  # every summary a test reads is computed for that request (see reports.cached)
    CRM_JOBS_URL = "memory://"  # apps a test builds never touch instance/; the suite's app gets a real queue


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestConfig,
}
