"""The schedule as administrators read it: each periodic job, its last run and outcome, and its next run."""
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..models import Setting, utcnow
from . import backups
from .exports import CLEANUP_OUTCOME_KEY, CLEANUP_STARTED_KEY
from .queue import queue
from .refresh import OUTCOME_KEY, STARTED_KEY

# a periodic task's name -> the settings holding when it last started and how it ended
KEYS = {"daily_refresh": (STARTED_KEY, OUTCOME_KEY), "job_files_cleanup": (CLEANUP_STARTED_KEY, CLEANUP_OUTCOME_KEY),
        "backup": (backups.STARTED_KEY, backups.OUTCOME_KEY)}
HORIZON = timedelta(days=8)


def next_run(task, now: datetime) -> datetime | None:
    """The first minute after `now` (naive UTC, as the scheduler sees it) the task is due; None within 8 days."""
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = now + HORIZON
    while moment < end:
        if task.validate_datetime(moment):
            return moment
        moment += timedelta(minutes=1)
    return None


def schedule(app: Flask, connection: Connection, now: datetime | None = None) -> list[dict]:
    """[{name, last_run (UTC), outcome, next_run (UTC)}] for every periodic task of the app's queue."""
    now = now or utcnow()
    stored = dict(connection.execute(select(Setting.key, Setting.value).where(
        Setting.key.in_([key for pair in KEYS.values() for key in pair]))).all())
    found = []
    for task in sorted(queue(app)._registry.periodic_tasks, key=lambda t: t.name):
        started_key, outcome_key = KEYS.get(task.name, (None, None))
        last = stored.get(started_key)
        found.append({"name": task.name, "last_run": datetime.fromisoformat(last) if last else None,
                      "outcome": stored.get(outcome_key), "next_run": next_run(task, now)})
    return found
