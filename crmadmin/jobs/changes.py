"""Batch undos and merges above a size, as jobs: the same functions the request runs for small ones, in one
transaction, as the owner (jobs/owned.py), committed by it. Their progress goes on the board (records.BOARD_KINDS): a
change in one transaction shows nothing to other connections until it commits, and on SQLite another connection could
not even write meanwhile. An undo shows the entries undone so far; a merge, moved in one flush, its total and end."""
from flask import Flask
from flask_babel import gettext as _
from huey import Huey
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from .. import merge
from ..audit.undo import UndoRefused, undo_batch
from ..extensions import db
from ..models import AuditEntry
from . import records
from .owned import WorkRefused, run_owned


def _undo(job, params: dict, allowed: dict, beat) -> tuple[int, dict]:
    records.set_total(db.engine, job.id, params["changes"])
    beat.note(0, params["changes"])
    try:
        count = undo_batch(db.session, params["batch"], progress=beat.note)
    except UndoRefused as refusal:
        raise WorkRefused(str(refusal)) from refusal
    except SQLAlchemyError as error:
        raise WorkRefused(_("The undo conflicts with the records as they are now.")) from error
    return count, {"undone": count, "entry": params["entry"]}


def _merge(job, params: dict, allowed: dict, beat) -> tuple[int, dict]:
    records.set_total(db.engine, job.id, params["moving"])
    beat.note(0, params["moving"])
    versions = {int(cid): version for cid, version in params["versions"].items()}
    try:
        details = merge.merge(db.session, params["survivor"], params["ids"], params["chosen"], versions,
                              allowed.get("owner"))
    except merge.MergeRefused as refusal:
        raise WorkRefused(str(refusal)) from refusal
    except StaleDataError as error:
        raise WorkRefused(_("One of these customers was changed by someone else meanwhile. Nothing was merged; "
                            "look at the customers again.")) from error
    entry_id = db.session.scalars(select(AuditEntry.id).where(AuditEntry.action == merge.MERGE_EVENT,
                                                              AuditEntry.record_id == str(details["survivor"]))
                                  .order_by(AuditEntry.id.desc()).limit(1)).one()
    moved = sum(n for n in details["moved"].values() if isinstance(n, int))
    return moved, {"entry": entry_id, "survivor": details["survivor"], "merged": len(details["merged"]),
                   "moved": moved}


def register(app: Flask, huey: Huey) -> None:
    """The undo_batch and merge tasks on the app's queue."""
    @huey.task(name="undo_batch")
    def undo_task(job_id: int) -> str:
        with app.app_context():
            return run_owned(app, job_id, _undo)

    @huey.task(name="merge")
    def merge_task(job_id: int) -> str:
        with app.app_context():
            return run_owned(app, job_id, _merge)

    app.extensions.setdefault("crm_job_tasks", {}).update({"undo_batch": undo_task, "merge": merge_task})
