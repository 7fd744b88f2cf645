"""Jobs: the task queue (Huey), its tasks and their schedule; the worker is `flask crm worker`.

Each app gets its own Huey instance (app.extensions["jobs"]) whose tasks run inside that app's context, so tests
and commands that build several apps never share a queue. Imports models, standing, matching, reports and backup;
never admin.
"""
import os

from flask import Flask

from ..extensions import db

from .queue import build_queue, queue, run_worker
from .backups import register as register_backups
from .changes import register as register_changes
from .exports import register as register_exports
from .imports import register as register_imports
from .refresh import refresh_status, register as register_refresh
from .rules import register as register_rules
from .summaries import register as register_summaries

__all__ = ["init_app", "queue", "refresh_status", "run_worker"]


def init_app(app: Flask) -> None:
    """Build the app's queue from CRM_JOBS_URL (or REDIS_URL) and register the tasks and the schedule on it."""
    huey = build_queue(app)
    app.extensions["jobs"] = huey
    register_refresh(app, huey)
    register_exports(app, huey)
    register_rules(app, huey)
    register_changes(app, huey)
    register_backups(app, huey)
    register_summaries(app, huey)
    register_imports(app, huey)
    parent = os.getpid()

    @huey.on_startup()
    def _own_connections():
        """A forked worker (--worker-type process) must not reuse the parent's pooled database connections."""
        if os.getpid() != parent:
            with app.app_context():
                db.engine.dispose(close=False)
