"""Exports as jobs: the worker writes the list's file (crmadmin/spreadsheet.py) into CRM_JOB_FILES, batch by batch.

The list's rows come from the screen itself, asked inside a request context rebuilt from the job (the list's address
and arguments, the owner signed in, their language): scope, search, filters, order, columns and local times are
exactly what the export covered in the request. The screens hand their producers over in app.extensions["crm_exporters"]
(admin/jobs.py), so this package never imports admin. A periodic task deletes expired files and fails jobs whose
worker died.
"""
import json
import logging
import os
from contextlib import closing

from flask import Flask
from huey import Huey, crontab

from ..extensions import db
from ..models import utcnow
from ..spreadsheet import CsvBatches, CsvLines, write_csv, write_csv_batches, write_csv_lines, write_xlsx
from . import records
from .owner import signed_in
from .refresh import _store

log = logging.getLogger(__name__)
CLEANUP_STARTED_KEY = "jobs.cleanup.last_run"
CLEANUP_OUTCOME_KEY = "jobs.cleanup.outcome"


def run_export(app: Flask, job_id: int) -> str:
    """Run the export job once: 'done', 'cancelled', 'failed' or 'skipped' (cancelled before it started, or taken)."""
    engine = db.engine
    if not records.claim(engine, job_id, app.extensions["jobs"]):
        return "skipped"
    job = records.get(engine, job_id)
    params = json.loads(job.params)
    fmt = params["format"]
    folder = records.files_folder(app)
    os.makedirs(folder, exist_ok=True)
    part = os.path.join(folder, records.partial_name(job_id, fmt))
    try:
        with signed_in(app, job, params, params["path"], "forbidden", query_string=params["args"]):
            produce = app.extensions["crm_exporters"].get(params["screen"])
            if produce is None:
                raise records.Refused("forbidden")
            total, titles, rows, batch, sheet = produce(fmt)
            records.set_total(engine, job_id, total)
            with open(part, "wb") as out:
                if isinstance(rows, CsvBatches):  # finished cells, or lines (CsvLines; admin/export_rows.py)
                    # the read ends here, before the session: a COPY holds its connection until it is closed
                    with closing(rows):
                        write = write_csv_lines if isinstance(rows, CsvLines) else write_csv_batches
                        write(out, titles, records.tracked_batches(engine, job_id, rows))
                elif fmt == "xlsx":
                    write_xlsx(out, titles, records.tracked(engine, job_id, rows, batch), sheet)
                else:
                    write_csv(out, titles, records.tracked(engine, job_id, rows, batch))
        final = f"job-{job_id}.{fmt}"
        os.replace(part, os.path.join(folder, final))
        if not records.finish(engine, job_id, final, app.config["CRM_JOB_FILES_HOURS"]):
            os.remove(os.path.join(folder, final))  # cancelled as it closed the file
            return "cancelled"
        return "done"
    except records.Cancelled:
        _discard(part)
        return "cancelled"
    except records.Refused as refused:
        _discard(part)
        records.fail(engine, job_id, refused.key, refused.total)
        return "failed"
    except Exception:
        _discard(part)
        log.exception("Export job %s failed", job_id)
        records.fail(engine, job_id, "failed")
        return "failed"


def _discard(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def clean_up(app: Flask) -> dict:
    """Fail the jobs whose worker died, delete expired and orphaned files; the outcome is kept for the schedule."""
    engine = db.engine
    with engine.begin() as connection:
        _store(connection, CLEANUP_STARTED_KEY, utcnow().isoformat())
    folder = records.files_folder(app)
    try:
        result = {"reaped": records.reap_stale(engine, folder, app.config["CRM_JOB_STALE_SECONDS"],
                                               huey=app.extensions["jobs"]),
                  "deleted": records.expire_files(engine, folder)}
    except Exception:
        with engine.begin() as connection:
            _store(connection, CLEANUP_OUTCOME_KEY, "failed")
        raise
    with engine.begin() as connection:
        _store(connection, CLEANUP_OUTCOME_KEY, "ok")
    return result


def register(app: Flask, huey: Huey) -> None:
    """The export task and the clean-up (every five minutes) on the app's queue."""
    @huey.task(name="export")
    def export_task(job_id: int) -> str:
        with app.app_context():
            return run_export(app, job_id)

    @huey.periodic_task(crontab(minute="*/5"), name="job_files_cleanup")
    def cleanup_task() -> dict:
        with app.app_context():
            return clean_up(app)

    app.extensions.setdefault("crm_job_tasks", {})["export"] = export_task
