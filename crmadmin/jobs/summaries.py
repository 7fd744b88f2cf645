"""Summaries recomputed on the queue: a page past a summary's age serves the stored value and queues this task
(crmadmin/reports.cached), which recomputes it for everyone. One per key is queued at a time (the cache's
`:refreshing` mark); a message no worker took within that mark's life is dropped, since a later page queues afresh."""
from flask import Flask
from huey import Huey

from ..reports import LOCK_SECONDS, recompute


def register(app: Flask, huey: Huey) -> None:
    """The summary task on the app's queue, handed to reports through app.extensions["crm_job_tasks"]."""
    @huey.task(name="summary", expires=LOCK_SECONDS)
    def summary_task(key: str, compute, args: tuple) -> None:
        with app.app_context():
            recompute(key, compute, args)

    app.extensions.setdefault("crm_job_tasks", {})["summary"] = summary_task
