"""The job table: start (once per piece of work), claim, progress, finish, fail, cancel, reap and expire.

Every change is one compare-and-set UPDATE on the job's state, so a worker, the Jobs screen and the periodic clean-up
never overwrite each other: a cancelled job stays cancelled, a job is claimed (run) once, a job whose worker died is
failed once. Plain SQL (no session): progress is bookkeeping, not a change the operation log should hold.
"""
import hashlib
import json
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from flask import Flask, current_app
from flask_babel import LazyString, lazy_gettext as _l, gettext as _, ngettext
from sqlalchemy import Select, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..files.storage import remove_path_on_commit
from ..models import Job, utcnow
from ..models.job import ACTIVE_STATES

JOB = Job.__table__
log = logging.getLogger(__name__)

# a failure's reason as stored (a key) -> what the reader is told, in their language
ERRORS = {
    "failed": _l("The job stopped on an error. Try again; if it fails again, tell an administrator."),
    "worker_lost": _l("The worker running this job stopped (restarted or killed) before it finished. "
                      "Start it again."),
    "forbidden": _l("You may no longer export this list."),
    "xlsx_too_long": None,  # worded with the row count below
    "queue_down": _l("The job queue could not be reached. Try again in a minute."),
    "not_permitted": _l("You no longer hold the rights this work needs. Nothing was changed."),
    # worded by the refusal itself: an import or undo (error_words), or new rules, a batch undo, a merge (the result)
    "refused": None,
    "backup_failed": None,  # worded with the backup's reason in admin/jobs.py
    "import_forbidden": _l("You may no longer import this file."),
    "import_gone": _l("This upload is no longer waiting to be imported: it was imported, discarded or has expired."),
    "import_db_refused": _l("The import failed while storing the rows (the database refused one of them), so "
                            "nothing was imported. Check the file, or ask your administrator."),
}
# kinds a running job of which may be cancelled: the others change records in one transaction, or (new rules) must
# reach every customer once started; a running import is asked to stop on the board and rolls back
CANCEL_WHILE_RUNNING = ("export", "import")
NEVER_CANCELLED = ("apply_rules",)  # saved rules not applied would leave the standings contradicting the rules
IMPORT_KINDS = ("import", "import_undo")
# Kinds whose work holds one long transaction: their progress and heartbeat (and an import's cancel request) go through
# the queue's storage (the board), since on SQLite that transaction holds the database's only write lock for its whole
# length. Any running job may beat on the board (jobs/heartbeat.py): the clean-up reads it for every kind.
BOARD_KINDS = (*IMPORT_KINDS, "undo_batch", "merge")
# a job reaped by the clean-up (no heartbeat for CRM_JOB_STALE_SECONDS): failed with this key
REAPED = "worker_lost"
CANCEL_LOCK_WAIT_MS = 500  # a cancel on SQLite waits this long for the write lock before it goes to the board


class Refused(Exception):
    """Work a job must not do (no longer permitted, too long for the format): failed with this message key."""

    def __init__(self, key: str, total: int | None = None):
        super().__init__(key)
        self.key, self.total = key, total


class Cancelled(Exception):
    """The job's owner cancelled it while it ran: the task stops between batches."""


def error_text(key: str | None, total: int | None = None, result: dict | None = None,
               words: str | None = None) -> str:
    """A stored failure key (or a refusal's own words, or the reason kept in its result) as the reader's sentence."""
    if key == "refused" and words:
        return words_text(words)
    if key == "refused" and (result or {}).get("reason"):
        return _("Nothing was changed: %(why)s", why=result["reason"])
    if key == "xlsx_too_long":
        return _("%(num)s rows do not fit in one Excel worksheet: narrow the list with filters, or export CSV.",
                 num=f"{total or 0:,}")
    return str(ERRORS.get(key) or ERRORS["failed"])


def words_of(message) -> str:
    """A refusal's sentence to keep: a lazy string as its msgid and arguments (JSON), so that each reader gets it in
    their own language; any other message as its text."""
    if isinstance(message, LazyString):  # flask_babel's lazy_gettext / lazy_ngettext: the function and its arguments
        function = "ngettext" if message._func is ngettext else "gettext"
        return json.dumps({"function": function, "args": list(message._args), "kwargs": message._kwargs},
                          ensure_ascii=False)
    return json.dumps({"text": str(message)}, ensure_ascii=False)


def words_text(stored: str) -> str:
    words = json.loads(stored)
    if "text" in words:
        return words["text"]
    translate = ngettext if words["function"] == "ngettext" else _
    return translate(*words["args"], **words["kwargs"])


def files_folder(app: Flask | None = None) -> str:
    """CRM_JOB_FILES, else instance/job_files: where workers write finished files and web hosts read them."""
    app = app or current_app
    return app.config.get("CRM_JOB_FILES") or os.path.join(app.instance_path, "job_files")


def dedupe_key(owner_id: int, kind: str, params: dict) -> str:
    """The same work asked by the same user: one key, whatever the order of its arguments."""
    return hashlib.sha256(json.dumps([owner_id, kind, params], sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def start(engine, kind: str, owner_id: int, params: dict, key: str) -> tuple[int, bool]:
    """(job id, True) for a new queued job, or (the id of the same work queued or running, False)."""
    with engine.begin() as connection:
        found = connection.execute(select(JOB.c.id).where(JOB.c.dedupe_key == key)).scalar()
        if found is not None:
            return found, False
        try:
            with connection.begin_nested():
                job_id = connection.execute(insert(JOB).values(
                    kind=kind, owner_id=owner_id, state="queued", rows_done=0, created_at=utcnow(),
                    params=json.dumps(params, ensure_ascii=False, sort_keys=True), dedupe_key=key)
                    .returning(JOB.c.id)).scalar_one()
        except IntegrityError:  # a second click won the race: its job is the one
            return connection.execute(select(JOB.c.id).where(JOB.c.dedupe_key == key)).scalar_one(), False
    return job_id, True


def get(engine, job_id: int):
    with engine.connect() as connection:
        return connection.execute(select(JOB).where(JOB.c.id == job_id)).first()


def _set(engine, job_id: int, states: tuple, **values) -> bool:
    with engine.begin() as connection:
        return bool(connection.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state.in_(states))
                                       .values(**values)).rowcount)


def claim(engine, job_id: int, huey=None) -> bool:
    """queued -> running; False when it was cancelled (or its cancel waits on the board: `huey`), or another worker
    has it (a job runs once)."""
    if _cancelled_on_board(engine, job_id, huey):
        return False
    now = utcnow()
    return _set(engine, job_id, ("queued",), state="running", started_at=now, heartbeat_at=now)


def _cancelled_on_board(engine, job_id: int, huey) -> bool:
    """A queued job whose owner's cancel found the database locked (SQLite, an import storing) and was left on the
    board: cancelled now, instead of run."""
    if huey is None or not cancel_asked(huey, job_id):
        return False
    _set(engine, job_id, ("queued",), state="cancelled", finished_at=utcnow(), dedupe_key=None)
    clear_board(huey, job_id)
    return True


def claim_alone(engine, job_id: int, running_key: str, huey=None) -> str | None:
    """queued -> running under `running_key`, which only one running job may hold: 'claimed', 'busy' (another job
    of the kind runs: try again later) or None (cancelled, or another worker has it)."""
    if _cancelled_on_board(engine, job_id, huey):
        return None
    now = utcnow()
    try:
        with engine.begin() as connection:
            taken = connection.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state == "queued").values(
                state="running", started_at=now, heartbeat_at=now, dedupe_key=running_key)).rowcount
    except IntegrityError:
        return "busy"
    return "claimed" if taken else None


def result_of(job) -> dict:
    """What a finished job did (counts, the record it made, the reason it was refused), kept in its parameters."""
    return json.loads(job.params or "{}").get("result") or {}


def conclude(engine, job_id: int, done: int, result: dict, state: str = "done", error: str | None = None) -> bool:
    """running -> done (or failed with `error`) with what it did kept in the parameters: work that leaves no file."""
    with engine.begin() as connection:
        return conclude_in(connection, job_id, done, result, state, error)


def conclude_in(connection, job_id: int, done: int, result: dict, state: str = "done",
                error: str | None = None) -> bool:
    """`conclude` inside the caller's transaction: the work's own, just before its commit, so that a job the clean-up
    has reaped meanwhile (False: shown failed) commits nothing, and a job it has not cannot be reaped any more (the
    row is the transaction's until it commits)."""
    params = connection.execute(select(JOB.c.params).where(JOB.c.id == job_id)).scalar()
    if params is None:
        return False
    kept = {**json.loads(params), "result": result}
    return bool(connection.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state == "running").values(
        state=state, error=error, finished_at=utcnow(), rows_done=done, dedupe_key=None,
        params=json.dumps(kept, ensure_ascii=False, sort_keys=True))).rowcount)


def progress(engine, job_id: int, done: int) -> bool:
    """A running job's rows done and heartbeat; False once it is no longer running. PostgreSQL does not wait for the
    step to reach the disk (synchronous_commit off): a long export stores thousands, and one lost in a crash of the
    server is harmless (the job's end is stored as any other write)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        return bool(connection.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state == "running")
                                       .values(rows_done=done, heartbeat_at=utcnow())).rowcount)


def set_total(engine, job_id: int, total: int) -> bool:
    return _set(engine, job_id, ("running",), rows_total=total, heartbeat_at=utcnow())


def tracked(engine, job_id: int, rows, every: int):
    """`rows`, with the job's progress and heartbeat stored after each `every` of them (one UPDATE a batch), and
    Cancelled raised there once the job is no longer running."""
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % every == 0 and not progress(engine, job_id, done):
            raise Cancelled()
    if not _set(engine, job_id, ("running",), rows_done=done, heartbeat_at=utcnow()):
        raise Cancelled()


def tracked_batches(engine, job_id: int, batches):
    """`batches` of rows, with the job's progress and heartbeat stored after each (one UPDATE a batch), and Cancelled
    raised there once the job is no longer running: `tracked` without a step per row."""
    done = 0
    for batch in batches:
        yield batch
        done += len(batch)
        if not progress(engine, job_id, done):
            raise Cancelled()
    if not _set(engine, job_id, ("running",), rows_done=done, heartbeat_at=utcnow()):
        raise Cancelled()


def finish(engine, job_id: int, result_file: str, hours: float) -> bool:
    """running -> done with its file, kept `hours`; False when it was cancelled meanwhile (the file is not wanted)."""
    now = utcnow()
    return _set(engine, job_id, ("running",), state="done", finished_at=now, result_file=result_file,
                expires_at=now + timedelta(hours=hours), dedupe_key=None)


def fail(engine, job_id: int, error: str, total: int | None = None, params: str | None = None,
         words: str | None = None) -> bool:
    values = {"state": "failed", "finished_at": utcnow(), "error": error, "dedupe_key": None, "error_words": words}
    if total is not None:
        values["rows_total"] = total
    if params is not None:  # what the failure left to show (a backup's reason)
        values["params"] = params
    return _set(engine, job_id, ACTIVE_STATES, **values)


def _overruling(engine, job_id: int, states: tuple, **values) -> bool:
    """The job -> `values` from `states`, or from a reap: work that is done (committed, written) is said to be done,
    even if the clean-up lost sight of its heartbeat meanwhile."""
    with engine.begin() as connection:
        return bool(connection.execute(update(JOB).where(
            JOB.c.id == job_id, or_(JOB.c.state.in_(states), and_(JOB.c.state == "failed", JOB.c.error == REAPED)))
            .values(error=None, **values)).rowcount)


def finish_without_file(engine, job_id: int, params: str) -> bool:
    """running -> done, with what it made described in `params` (a backup's file, kept outside the job files)."""
    return _overruling(engine, job_id, ("running",), state="done", finished_at=utcnow(), params=params,
                       dedupe_key=None)


def finish_work(engine, job_id: int, done: int, total: int) -> bool:
    """A job without a file (an import) -> done. Its work is committed: a cancel that came too late is overruled."""
    return _overruling(engine, job_id, ("running", "cancelled"), state="done", finished_at=utcnow(), rows_done=done,
                       rows_total=total, dedupe_key=None)


def stopped(engine, job_id: int) -> bool:
    """running -> cancelled once the task has stopped and kept nothing (a board job's cancel, see ask_cancel)."""
    return _set(engine, job_id, ("running",), state="cancelled", finished_at=utcnow(), dedupe_key=None)


def state_of(engine, job_id: int) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(JOB.c.state).where(JOB.c.id == job_id)).scalar()


# --- the board: progress and cancel requests of BOARD_KINDS, in the queue's storage (Redis or its SQLite file) ---
def _board(job_id: int) -> str:
    return f"crm-job-progress-{job_id}"


def _cancel_key(job_id: int) -> str:
    return f"crm-job-cancel-{job_id}"


def note_progress(huey, job_id: int, done: int, total: int) -> None:
    """What a board job has done so far, and that its worker is alive (its heartbeat)."""
    huey.put(_board(job_id), {"done": done, "total": total, "at": utcnow()})


def progress_of(huey, job_id: int) -> dict | None:
    return huey.get(_board(job_id), peek=True)


def ask_cancel(huey, job_id: int) -> None:
    """Ask a running board job to stop (its task rolls back at its next step and marks itself cancelled), or a queued
    job not to start (its claim cancels it)."""
    huey.put(_cancel_key(job_id), True)


def cancel_asked(huey, job_id: int) -> bool:
    return huey.get(_cancel_key(job_id), peek=True) is not None


def clear_board(huey, job_id: int) -> None:
    huey.delete(_board(job_id))
    huey.delete(_cancel_key(job_id))


def live(job, huey):
    """The job with a running board job's progress and heartbeat from the board (a copy: nothing is written)."""
    values = {column.name: getattr(job, column.name) for column in JOB.columns}
    board = progress_of(huey, job.id) if huey is not None and job.state == "running" and job.kind in BOARD_KINDS \
        else None
    if board:
        values.update(rows_done=board["done"], rows_total=board["total"] or None, heartbeat_at=board["at"])
    values["cancel_asked"] = cancel_waiting(job, huey)
    return SimpleNamespace(**values)


def cancel_waiting(job, huey) -> bool:
    """A queued job whose cancel is on the board (see cancel): it will be cancelled when a worker takes it. False when
    the queue's storage cannot be read: the Jobs screen still shows the job."""
    if huey is None or job.state != "queued":
        return False
    try:
        return cancel_asked(huey, job.id)
    except Exception:
        log.warning("Job %s: the board could not be read", job.id, exc_info=True)
        return False


def cancel(engine, job_id: int, owner_id: int) -> bool:
    """The owner's queued job, or running export -> cancelled (a running export notices at its next batch). On SQLite
    it waits CANCEL_LOCK_WAIT_MS at most for the write lock (an import storing holds it for minutes), then raises
    OperationalError ('database is locked'): the caller leaves a queued job's cancel on the board instead."""
    with engine.begin() as connection:
        if engine.dialect.name != "sqlite":
            return _cancel(connection, job_id, owner_id)
        usual = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql(f"PRAGMA busy_timeout={CANCEL_LOCK_WAIT_MS}")
        try:
            return _cancel(connection, job_id, owner_id)
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(usual)}")


def _cancel(connection, job_id: int, owner_id: int) -> bool:
    return bool(connection.execute(update(JOB).where(
        JOB.c.id == job_id, JOB.c.owner_id == owner_id, JOB.c.kind.not_in(NEVER_CANCELLED),
        or_(JOB.c.state == "queued", and_(JOB.c.state == "running", JOB.c.kind.in_(CANCEL_WHILE_RUNNING))))
        .values(state="cancelled", finished_at=utcnow(), dedupe_key=None)).rowcount)


def may_cancel(job) -> bool:
    """Queued work may be cancelled; running work only if it can stop between batches with nothing changed."""
    if job.kind in NEVER_CANCELLED:
        return False
    return job.state == "queued" or (job.state == "running" and job.kind in CANCEL_WHILE_RUNNING)


def partial_name(job_id: int, fmt: str) -> str:
    return f"job-{job_id}.{fmt}.part"


def _remove(folder: str, name: str | None) -> None:
    if name:
        try:
            os.remove(os.path.join(folder, name))
        except FileNotFoundError:
            pass


def reap_stale(engine, folder: str, stale_seconds: int, now: datetime | None = None, huey=None) -> int:
    """Running jobs silent for `stale_seconds` lost their worker (kill -9, power loss): failed, partial files
    removed. A heartbeat on the board (`huey`) counts as the job's. Returns how many."""
    limit = (now or utcnow()) - timedelta(seconds=stale_seconds)
    with engine.connect() as connection:
        stale = connection.execute(select(JOB.c.id, JOB.c.params).where(
            JOB.c.state == "running", JOB.c.heartbeat_at < limit)).all()
    reaped = 0
    for job_id, params in stale:
        if huey is not None:
            board = progress_of(huey, job_id)
            if board and board["at"] >= limit:
                continue
        with engine.begin() as connection:
            if connection.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.state == "running",
                                                    JOB.c.heartbeat_at < limit)
                                  .values(state="failed", error=REAPED, finished_at=utcnow(),
                                          dedupe_key=None)).rowcount:
                reaped += 1
                _remove(folder, partial_name(job_id, json.loads(params).get("format", "csv")))
                if huey is not None:
                    clear_board(huey, job_id)
    return reaped


def expire_files(engine, folder: str, now: datetime | None = None) -> int:
    """Delete finished files past their time, and partial files no running job writes; returns files deleted."""
    now = now or utcnow()
    deleted = 0
    with engine.connect() as connection:
        expired = connection.execute(select(JOB.c.id, JOB.c.result_file).where(
            JOB.c.result_file.is_not(None), JOB.c.expires_at <= now)).all()
        running = set(connection.execute(select(JOB.c.id).where(JOB.c.state == "running")).scalars())
    for job_id, name in expired:
        with engine.begin() as connection:
            if connection.execute(update(JOB).where(JOB.c.id == job_id, JOB.c.result_file == name)
                                  .values(result_file=None)).rowcount:
                _remove(folder, name)
                deleted += 1
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.endswith(".part") and name.startswith("job-"):
                job_id = name.split(".")[0].removeprefix("job-")
                if not (job_id.isdigit() and int(job_id) in running):
                    _remove(folder, name)
                    deleted += 1
    return deleted


def _masked(value, mask):
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [_masked(item, mask) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item, mask) for key, item in value.items()}
    return value


def forget(session: Session, holds, mask, folder: str) -> int:
    """An erasure: mask the person's values in the jobs' parameters (a search for them), and delete every export file
    still kept, since any of them may hold the person's row; the files go when the caller's transaction commits.
    Returns how many files."""
    connection = session.connection()
    for job_id, params in connection.execute(select(JOB.c.id, JOB.c.params)).all():
        if params and holds(params):
            masked = json.dumps(_masked(json.loads(params), mask), ensure_ascii=False)
            connection.execute(update(JOB).where(JOB.c.id == job_id).values(params=masked))
    kept = connection.execute(select(JOB.c.id, JOB.c.result_file).where(JOB.c.result_file.is_not(None))).all()
    if kept:
        connection.execute(update(JOB).where(JOB.c.id.in_([job_id for job_id, _ in kept])).values(result_file=None))
    for _, name in kept:
        remove_path_on_commit(session, Path(folder) / name)
    return len(kept)


def jobs_of(owner_id: int | None) -> Select:
    """A user's jobs (None: everyone's), newest first."""
    query = select(Job).order_by(Job.id.desc())
    return query if owner_id is None else query.where(Job.owner_id == owner_id)


def seconds_left(job, now: datetime | None = None) -> int | None:
    """Time left at the pace so far; None before the first batch."""
    if job.state != "running" or not job.rows_done or not job.rows_total or job.started_at is None:
        return None
    spent = ((now or utcnow()) - job.started_at).total_seconds()
    return max(0, round(spent / job.rows_done * (job.rows_total - job.rows_done)))


def percent(job) -> int:
    if job.state == "done":
        return 100
    if not job.rows_total:
        return 0
    return min(100, job.rows_done * 100 // job.rows_total)
