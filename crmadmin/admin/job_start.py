"""Starting work as a job from a screen: a row in the job table (or the same work already under way) and a message
on the queue; the screen then shows the job's page, or says where it can be followed."""
from flask import current_app, request
from flask_login import current_user

from ..extensions import db
from ..i18n import current_language
from ..jobs import records


def start_job(kind: str, params: dict, key: str) -> tuple[int, bool]:
    """(job id, True) for work queued now, (the job already doing it, False) for the same work asked again."""
    # the language as a LANGUAGES key, which the worker's request context selects (Babel names it zh_Hans_CN)
    params = {**params, "path": request.path, "locale": current_language()}
    job_id, created = records.start(db.engine, kind, current_user.id, params, key)
    if created:
        try:
            current_app.extensions["crm_job_tasks"][kind](job_id)
        except Exception:  # the queue's store is down: the job would wait for ever
            current_app.logger.exception("%s job %s could not be queued", kind, job_id)
            records.fail(db.engine, job_id, "queue_down")
    return job_id, created


def register_check(app, kind: str, check) -> None:
    """check(params) -> what the worker needs to know (a dict: the owner's data scope), or None when the job's owner
    may no longer do the work; asked by the worker as the owner, just before it changes anything."""
    app.extensions.setdefault("crm_job_checks", {})[kind] = check
