"""The daily refresh as a periodic job: tiers, stages and due dates recomputed at 00:05 business time.

Every worker's scheduler enqueues it at 00:05, so with two workers (or two hosts) it arrives twice: the job claims
the business day first (compare-and-set on the setting CLAIM_KEY) and the second copy finds the day taken. Its
outcome (started, finished, ok or failed with the reason) is kept in the setting table, where the panel reads it.
"""
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from huey import Huey
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..matching import fill_missing
from ..models import Customer, Setting, utcnow
from ..standing import refresh_all, today
from ..standing.maintain import REFRESHED_KEY

log = logging.getLogger(__name__)
SETTING = Setting.__table__
RUN_AT = (0, 5)  # hour, minute of the business day (CRM_TIMEZONE)
STALE_AFTER = timedelta(hours=26)  # a day and the slack of a slow or late run
CLAIM_KEY = "jobs.refresh.day"  # the business day a run has claimed (or finished)
STARTED_KEY = "jobs.refresh.last_run"  # when the last run started (UTC, ISO)
FINISHED_KEY = "jobs.refresh.last_finished"
OUTCOME_KEY = "jobs.refresh.outcome"  # running, ok or failed
ERROR_KEY = "jobs.refresh.last_error"  # the reason of the last failure; empty once a run succeeds
KEYS = (REFRESHED_KEY, CLAIM_KEY, STARTED_KEY, FINISHED_KEY, OUTCOME_KEY, ERROR_KEY)


def run_refresh(engine, rebuild_revenue: bool = False) -> dict:
    """The work of `flask crm refresh-stats` and of the daily job: every standing, then missing match keys."""
    result = refresh_all(engine, rebuild_revenue=rebuild_revenue)
    with engine.begin() as connection:  # customers loaded outside the panel get their duplicate-detection keys
        result["keyed"] = fill_missing(connection)
    return result


def due_at(app: Flask, hour: int = RUN_AT[0], minute: int = RUN_AT[1]):
    """Huey's periodic test: is this moment (naive UTC, as the scheduler passes it) hour:minute in CRM_TIMEZONE?"""
    def validate(moment: datetime) -> bool:
        zone = ZoneInfo(app.config.get("CRM_TIMEZONE", "UTC"))
        local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
        return (local.hour, local.minute) == (hour, minute)
    return validate


def give_back(connection: Connection, day: str, key: str = CLAIM_KEY) -> None:
    """A failed run frees its day, so a retry (or the next worker) may run it."""
    connection.execute(update(SETTING).where(SETTING.c.key == key, SETTING.c.value == day)
                       .values(value="", updated_at=utcnow()))


def _store(connection: Connection, key: str, value: str) -> None:
    if not connection.execute(update(SETTING).where(SETTING.c.key == key)
                              .values(value=value, updated_at=utcnow())).rowcount:
        connection.execute(insert(SETTING).values(key=key, value=value, updated_at=utcnow()))


def claim(engine, day: str, key: str = CLAIM_KEY) -> bool:
    """Take the business day for this run (of the daily refresh, or another daily job's `key`), atomically: False
    when another run has it already."""
    with engine.begin() as connection:
        taken = connection.execute(update(SETTING).where(SETTING.c.key == key, SETTING.c.value != day)
                                   .values(value=day, updated_at=utcnow())).rowcount
        if taken:
            return True
        if connection.execute(select(SETTING.c.key).where(SETTING.c.key == key)).first() is not None:
            return False
        try:
            with connection.begin_nested():
                connection.execute(insert(SETTING).values(key=key, value=day, updated_at=utcnow()))
        except IntegrityError:  # the other run inserted it first
            return False
        return True


def daily_refresh(app: Flask) -> str:
    """Refresh every standing once per business day; 'done', 'skipped' (the day was claimed), or raise on failure."""
    engine = db.engine
    day = today().isoformat()
    if not claim(engine, day):
        log.info("Daily refresh of %s: skipped, another run has it", day)
        return "skipped"
    with engine.begin() as connection:
        _store(connection, STARTED_KEY, utcnow().isoformat())
        _store(connection, OUTCOME_KEY, "running")
    try:
        run_refresh(engine)
    except Exception as error:
        with engine.begin() as connection:
            give_back(connection, day)
            _store(connection, FINISHED_KEY, utcnow().isoformat())
            _store(connection, OUTCOME_KEY, "failed")
            _store(connection, ERROR_KEY, f"{type(error).__name__}: {error}"[:1000])
        log.exception("Daily refresh of %s: failed", day)
        raise
    with engine.begin() as connection:
        _store(connection, FINISHED_KEY, utcnow().isoformat())
        _store(connection, OUTCOME_KEY, "ok")
        _store(connection, ERROR_KEY, "")
    log.info("Daily refresh of %s: done", day)
    return "done"


def refresh_status(connection: Connection, now: datetime | None = None) -> dict:
    """When standing was last refreshed, the last run's outcome, and whether to warn: over 26 hours old, or failed
    after the last successful refresh. A database with no customer has nothing to refresh and never warns."""
    rows = {key: (value, at) for key, value, at in connection.execute(
        select(SETTING.c.key, SETTING.c.value, SETTING.c.updated_at).where(SETTING.c.key.in_(KEYS)))}
    now = now or utcnow()
    refreshed_at = rows[REFRESHED_KEY][1] if REFRESHED_KEY in rows else None
    outcome, finished_at = rows.get(OUTCOME_KEY, (None, None))
    failed = outcome == "failed" and (refreshed_at is None or finished_at >= refreshed_at)
    if refreshed_at is None:
        stale = connection.execute(select(Customer.__table__.c.id).limit(1)).first() is not None
    else:
        stale = now - refreshed_at > STALE_AFTER
    return {"refreshed_at": refreshed_at, "stale": stale, "failed": failed,
            "error": rows.get(ERROR_KEY, ("", None))[0] if failed else "",
            "last_run": rows.get(STARTED_KEY, (None, None))[0]}


def register(app: Flask, huey: Huey) -> None:
    """The daily refresh on the app's queue, run at 00:05 business time by every worker's scheduler."""
    @huey.periodic_task(due_at(app), name="daily_refresh")
    def daily_refresh_task():
        with app.app_context():
            return daily_refresh(app)
