"""Backups on the queue: one a day at CRM_BACKUP_AT business time (keeping the newest CRM_BACKUP_KEEP), and an
administrator's "back up now" as a job.

Off while CRM_BACKUP_DIR is unset. Every worker's scheduler enqueues the daily backup, so with several workers on
several hosts it arrives several times: the run claims the business day first (as the daily refresh does) and the
other copies find it taken. The backup itself is crmadmin/backup's (SQLite online backup, or pg_dump), which
reports no progress: a job shows it running, then its file. The outcome of the last backup, whoever started it, is
kept in the setting table for the schedule and the administrators' warning.
"""
import json
import logging
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask
from huey import Huey
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..backup import Taken, take
from ..extensions import db
from ..models import Setting, utcnow
from ..standing import today
from . import records
from .heartbeat import beating
from .refresh import _store, claim, give_back

log = logging.getLogger(__name__)
CLAIM_KEY = "jobs.backup.day"  # the business day the scheduled backup has claimed
STARTED_KEY = "jobs.backup.last_run"  # when the last backup started (UTC, ISO)
FINISHED_KEY = "jobs.backup.last_finished"
OUTCOME_KEY = "jobs.backup.outcome"  # running, ok or failed
ERROR_KEY = "jobs.backup.last_error"  # the reason of the last failure; empty once a backup succeeds
FILE_KEY = "jobs.backup.last_file"  # the last backup written; its updated_at is when it succeeded
KEYS = (STARTED_KEY, FINISHED_KEY, OUTCOME_KEY, ERROR_KEY, FILE_KEY)
# the names crmadmin.backup.default_path gives: only these are counted and deleted by the keep-N rule
BACKUP_NAME = re.compile(r"^crmadmin-\d{8}T\d{6}Z\.(sqlite3|dump)$")


def run_at(app: Flask) -> tuple[int, int]:
    """CRM_BACKUP_AT as (hour, minute); ValueError names the setting when it is not HH:MM."""
    raw = str(app.config.get("CRM_BACKUP_AT") or "")
    found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw.strip())
    if not found:
        raise ValueError(f"CRM_BACKUP_AT must be a time of day as HH:MM (business time), not {raw!r}")
    return int(found.group(1)), int(found.group(2))


def folder(app: Flask) -> Path | None:
    """CRM_BACKUP_DIR, or None: scheduled and started backups are off."""
    value = app.config.get("CRM_BACKUP_DIR")
    return Path(value) if value else None


def due(app: Flask):
    """Huey's periodic test: backups are on and this moment (naive UTC) is CRM_BACKUP_AT in CRM_TIMEZONE."""
    def validate(moment: datetime) -> bool:
        if folder(app) is None:
            return False
        local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(app.config.get("CRM_TIMEZONE", "UTC")))
        return (local.hour, local.minute) == run_at(app)
    return validate


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups of the folder (by the UTC time in their names); the deleted."""
    found = sorted((path for path in directory.iterdir() if BACKUP_NAME.match(path.name) and path.is_file()),
                   key=lambda path: path.name, reverse=True)
    gone = found[max(keep, 1):]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def back_up(app: Flask) -> Taken:
    """Write a backup into CRM_BACKUP_DIR, keep the newest CRM_BACKUP_KEEP, and record how it went."""
    engine = db.engine
    with engine.begin() as connection:
        _store(connection, STARTED_KEY, utcnow().isoformat())
        _store(connection, OUTCOME_KEY, "running")
    try:
        directory = folder(app)
        if directory is None:
            raise ValueError("CRM_BACKUP_DIR is not set: backups are off")
        taken = take(engine, None, directory, app.config.get("CRM_PG_BIN_DIR"))
        removed = prune(directory, app.config.get("CRM_BACKUP_KEEP", 7))
    except Exception as error:
        with engine.begin() as connection:
            _store(connection, FINISHED_KEY, utcnow().isoformat())
            _store(connection, OUTCOME_KEY, "failed")
            _store(connection, ERROR_KEY, f"{type(error).__name__}: {error}"[:1000])
        raise
    with engine.begin() as connection:
        _store(connection, FINISHED_KEY, utcnow().isoformat())
        _store(connection, OUTCOME_KEY, "ok")
        _store(connection, ERROR_KEY, "")
        _store(connection, FILE_KEY, taken.path.name)
    log.info("Backup written: %s (%s bytes), %s older removed", taken.path, taken.size, len(removed))
    return taken


def scheduled_backup(app: Flask) -> str:
    """The day's backup, once whatever the number of workers: 'done', 'skipped' (the day was claimed), or raise."""
    day = today().isoformat()
    if not claim(db.engine, day, CLAIM_KEY):
        log.info("Scheduled backup of %s: skipped, another run has it", day)
        return "skipped"
    try:
        back_up(app)
    except Exception:
        with db.engine.begin() as connection:
            give_back(connection, day, CLAIM_KEY)
        log.exception("Scheduled backup of %s: failed", day)
        raise
    log.info("Scheduled backup of %s: done", day)
    return "done"


def run_backup_job(app: Flask, job_id: int) -> str:
    """An administrator's backup now: 'done', 'failed', or 'skipped' (cancelled before it started)."""
    engine = db.engine
    if not records.claim(engine, job_id, app.extensions["jobs"]):
        return "skipped"
    try:
        with beating(app, job_id):  # the clean-up must not take a long pg_dump for a dead worker
            taken = back_up(app)
        records.finish_without_file(engine, job_id, json.dumps({"file": taken.path.name, "size": taken.size}))
        return "done"
    except Exception as error:
        log.exception("Backup job %s failed", job_id)
        records.fail(engine, job_id, "backup_failed", params=json.dumps({"reason": str(error)[:1000]}))
        return "failed"
    finally:
        records.clear_board(app.extensions["jobs"], job_id)


def start_backup_job(app: Flask, owner_id: int) -> tuple[int, bool]:
    """Queue a backup for `owner_id` (an administrator), or find the one already queued or running (any owner's)."""
    job_id, created = records.start(db.engine, "backup", owner_id, {}, records.dedupe_key(0, "backup", {}))
    if created:
        try:
            app.extensions["crm_job_tasks"]["backup"](job_id)
        except Exception:  # the queue's store is down: the job would wait for ever
            log.exception("Backup job %s could not be queued", job_id)
            records.fail(db.engine, job_id, "queue_down")
    return job_id, created


def backup_status(connection: Connection) -> dict:
    """The last backup's outcome for the schedule and the warning: failed (with its reason) or not, and its file."""
    rows = {key: (value, at) for key, value, at in connection.execute(
        select(Setting.key, Setting.value, Setting.updated_at).where(Setting.key.in_(KEYS)))}
    failed = rows.get(OUTCOME_KEY, (None, None))[0] == "failed"
    return {"failed": failed, "error": rows.get(ERROR_KEY, ("", None))[0] if failed else "",
            "last_file": rows.get(FILE_KEY, (None, None))[0], "last_ok": rows.get(FILE_KEY, (None, None))[1]}


def register(app: Flask, huey: Huey) -> None:
    """The daily backup (due at CRM_BACKUP_AT when CRM_BACKUP_DIR is set) and the backup-now task."""
    run_at(app)  # a wrong CRM_BACKUP_AT stops the app at start, not silently every day

    @huey.periodic_task(due(app), name="backup")
    def backup_task() -> str:
        with app.app_context():
            return scheduled_backup(app)

    @huey.task(name="backup_now")
    def backup_now_task(job_id: int) -> str:
        with app.app_context():
            return run_backup_job(app, job_id)

    app.extensions.setdefault("crm_job_tasks", {})["backup"] = backup_now_task
