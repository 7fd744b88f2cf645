"""Work a job does for its owner, changing records (a batch undo, a merge): run as that user, checked again, in one
transaction.

The worker rebuilds a request context for the owner (signed in, their language), so the screen's own rule, handed over
in app.extensions["crm_job_checks"] (admin registers them; this package never imports admin), decides again whether
they may still do it, and the operation log names them with the source `job`. A refusal leaves nothing changed and
keeps its reason, worded in the owner's language, in the job's result. The job beats on the board while it runs, and
marks itself done inside its own transaction: a job the clean-up reaped meanwhile commits nothing.
"""
import json
import logging
from typing import Callable

from flask import Flask

from ..extensions import db
from . import records
from .heartbeat import beating
from .owner import signed_in

log = logging.getLogger(__name__)


class WorkRefused(Exception):
    """The work cannot be done as asked (a record changed since, a conflict): rolled back, the reason kept."""


def run_owned(app: Flask, job_id: int, work: Callable[[object, dict, dict, object], tuple[int, dict]]) -> str:
    """Claim the job and run `work(job, params, allowed, beat)` as its owner once their screen's check passed
    (`allowed` is what the check answered, such as their data scope; `beat.note(done)` shows progress), then commit
    it with the job marked done in the same transaction: 'done', 'failed', 'lost' (reaped meanwhile: nothing
    committed) or 'skipped' (cancelled, or taken)."""
    engine, huey = db.engine, app.extensions["jobs"]
    if not records.claim(engine, job_id, huey):
        return "skipped"
    job = records.get(engine, job_id)
    params = json.loads(job.params)
    try:
        with beating(app, job_id) as beat, signed_in(app, job, params, params.get("path", "/admin/jobs/"),
                                                     "not_permitted"):
            try:
                allowed = app.extensions["crm_job_checks"][job.kind](params)
                if allowed is None:
                    raise records.Refused("not_permitted")
                done, result = work(job, params, allowed, beat)
                if not records.conclude_in(db.session.connection(), job_id, done, result):
                    log.warning("%s job %s was reaped while it ran: nothing committed", job.kind, job_id)
                    return "lost"
                db.session.commit()
            except WorkRefused as refusal:
                db.session.rollback()
                records.conclude(engine, job_id, 0, {"reason": str(refusal)}, state="failed", error="refused")
                return "failed"
            finally:
                db.session.rollback()  # nothing of a failed or lost run stays in the session
    except records.Refused as refused:
        records.fail(engine, job_id, refused.key)
        return "failed"
    except Exception:
        log.exception("%s job %s failed", job.kind, job_id)
        records.fail(engine, job_id, "failed")
        return "failed"
    finally:
        records.clear_board(huey, job_id)
    return "done"
