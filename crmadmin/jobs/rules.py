"""New tier, stage and follow-up rules applied to every customer, as a job: one at a time, the latest rules winning.

A save while no job applies rules queues one; a save while one is queued finds it (it reads the rules when it starts,
so it applies the latest); a save while one runs queues a follow-up, which waits for the running one (the key
RUNNING_KEY, unique, is held by the running job alone) and then applies the rules as they are by then.
"""
import logging

from flask import Flask
from huey import Huey
from sqlalchemy import func, select

from ..extensions import cache, db
from ..models import Customer
from ..standing import refresh_all
from ..standing.maintain import CHUNK
from . import records
from .heartbeat import beating

log = logging.getLogger(__name__)
KIND = "apply_rules"
QUEUED_KEY = "apply_rules"  # the dedupe key of the job waiting to run: every save meanwhile finds it
RUNNING_KEY = "apply_rules:running"
BATCH = CHUNK  # customers a transaction, and a progress reading
WAIT_SECONDS = 1  # a follow-up taken by a second worker while the first job still runs looks again this much later


def apply_rules(app: Flask, job_id: int, again) -> str:
    """'done', 'failed', 'waiting' (another job of the kind runs: `again` re-queues this one) or 'skipped'."""
    engine = db.engine
    claimed = records.claim_alone(engine, job_id, RUNNING_KEY, app.extensions["jobs"])
    if claimed == "busy":
        again(job_id)
        return "waiting"
    if claimed is None:
        return "skipped"

    def progress(seen: int, _written: int) -> None:
        """After each range (committed): customers done; a job reaped meanwhile stops, as a killed one would have."""
        if not records.progress(engine, job_id, seen):
            raise records.Cancelled()

    try:
        with engine.connect() as connection:
            records.set_total(engine, job_id, connection.execute(select(func.count(Customer.id))).scalar_one())
        with beating(app, job_id):  # a range is one transaction that reports nothing until it ends
            result = refresh_all(engine, chunk=BATCH, progress=progress)
        cache.clear()  # the tier totals and the dashboard were counted under the old rules
    except records.Cancelled:
        log.warning("Applying the rules (job %s): reaped while it ran, stopped", job_id)
        return "failed"
    except Exception:
        log.exception("Applying the rules (job %s) failed", job_id)
        records.fail(engine, job_id, "failed")
        return "failed"
    finally:
        records.clear_board(app.extensions["jobs"], job_id)
    records.conclude(engine, job_id, result["customers"], {"customers": result["customers"],
                                                          "changed": result["written"]})
    return "done"


def active_job(connection):
    """The job applying rules now, or waiting to: the running one first."""
    job = records.JOB
    return connection.execute(select(job.c.id, job.c.state).where(job.c.kind == KIND,
                                                                  job.c.state.in_(("running", "queued")))
                              .order_by(job.c.state.desc(), job.c.id).limit(1)).first()


def register(app: Flask, huey: Huey) -> None:
    """The apply_rules task on the app's queue."""
    @huey.task(name=KIND)
    def apply_rules_task(job_id: int) -> str:
        with app.app_context():
            return apply_rules(app, job_id, lambda again: apply_rules_task.schedule((again,), delay=WAIT_SECONDS))

    app.extensions.setdefault("crm_job_tasks", {})[KIND] = apply_rules_task
