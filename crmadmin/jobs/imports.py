"""Imports as jobs: the worker stores a checked upload, or undoes an import, in one transaction, as the user who asked.

The steps themselves (read the staged file, check it again with the owner's rights, store it with
crmadmin/imports/apply.py) come from the Import screen in app.extensions["crm_import_steps"] (admin/imports.py),
run inside a request context rebuilt from the job: the owner signed in, their language, the operation log's actor
bound with source "job". The transaction holds the database's write lock on SQLite, so progress and cancel requests
go through the queue's storage (records' board). Never applied twice: the run's staged -> done compare-and-set is
the transaction's first write, and a job is claimed once; a job whose worker died is rolled back by the database and
reaped as failed, and starting it again imports the still staged file once.
"""
import json
import logging

from flask import Flask
from huey import Huey
from sqlalchemy.exc import SQLAlchemyError

from ..audit.undo import UndoRefused
from ..extensions import db
from ..imports.apply import ImportRefused
from . import records
from .heartbeat import beating
from .owner import signed_in

log = logging.getLogger(__name__)
KINDS = records.IMPORT_KINDS


def run_job(app: Flask, job_id: int) -> str:
    """Run an import or undo job once: 'done', 'cancelled', 'failed' or 'skipped' (cancelled before it started, or
    taken by another worker)."""
    engine, huey = db.engine, app.extensions["jobs"]
    if not records.claim(engine, job_id, huey):
        return "skipped"
    job = records.get(engine, job_id)
    params = json.loads(job.params)

    try:
        # the heartbeat also beats while the rows are checked and while the transaction commits, between flushes
        with beating(app, job_id) as beat, signed_in(app, job, params, "/admin/imports/", "import_forbidden"):
            def progress(done: int, total: int) -> None:
                """Between flushes: show how far, and stop (rolling everything back) if the owner cancelled."""
                beat.note(done, total)
                if records.cancel_asked(huey, job_id) or records.state_of(engine, job_id) != "running":
                    raise records.Cancelled()

            done = app.extensions["crm_import_steps"][job.kind](params, progress)
        records.finish_work(engine, job_id, done, done)
        return "done"
    except records.Cancelled:
        records.stopped(engine, job_id)
        return "cancelled"
    except records.Refused as refused:
        records.fail(engine, job_id, refused.key)
    except (ImportRefused, UndoRefused) as refused:
        records.fail(engine, job_id, "refused", words=records.words_of(refused.args[0]))
    except SQLAlchemyError:
        log.exception("Job %s (%s) refused by the database", job_id, job.kind)
        records.fail(engine, job_id, "import_db_refused" if job.kind == "import" else "failed")
    except Exception:
        log.exception("Job %s (%s) failed", job_id, job.kind)
        records.fail(engine, job_id, "failed")
    finally:
        records.clear_board(huey, job_id)
    return "failed"


def register(app: Flask, huey: Huey) -> None:
    """The import and undo tasks on the app's queue (a Huey message is taken once: no retry runs a job again)."""
    tasks = app.extensions.setdefault("crm_job_tasks", {})
    for kind in KINDS:
        def task(job_id: int) -> str:
            with app.app_context():
                return run_job(app, job_id)
        tasks[kind] = huey.task(name=kind)(task)
