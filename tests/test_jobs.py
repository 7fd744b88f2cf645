"""Does the job queue run the daily refresh on time, once, and say so in the panel? Real queue, real worker."""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from crmadmin.extensions import db
from crmadmin.jobs.refresh import ERROR_KEY, OUTCOME_KEY
from crmadmin.models import CustomerStanding, Setting, StandingChange, utcnow
from crmadmin.standing.maintain import REFRESHED_KEY
from tests import factories
from tests.jobs_app import register_hold, wait_for

ROOT = Path(__file__).resolve().parent.parent
ZH = {"Accept-Language": "zh-CN"}
# 00:05 on 8 December 2026 in Asia/Shanghai (the test config's CRM_TIMEZONE), as the scheduler's naive UTC clock
AT_0005 = datetime(2026, 12, 7, 16, 5)
EVERY_DAY = {"daily_refresh"}


_holds = {}


def hold_task(huey):
    """The `hold` job on the suite's queue, registered once per run."""
    if id(huey) not in _holds:
        _holds[id(huey)] = register_hold(huey)
    return _holds[id(huey)]


def outcomes(caplog) -> list[str]:
    """What each run of the daily refresh said it did (done, skipped, failed), as the worker logs it."""
    return [r.getMessage().rsplit(": ", 1)[-1].split(",")[0] for r in caplog.records
            if r.name == "crmadmin.jobs.refresh"]


def run_due(huey, caplog, moment: datetime, copies: int = 1) -> list[str]:
    """Enqueue what the scheduler finds due at `moment` (`copies` times: one per worker's scheduler) and wait
    until the worker has run it all."""
    before = len(outcomes(caplog))
    tasks = [task for _ in range(copies) for task in huey.read_periodic(moment) if task.name in EVERY_DAY]
    for task in tasks:
        huey.enqueue(task)
    wait_for(lambda: len(outcomes(caplog)) - before == len(tasks), 15)
    return sorted(outcomes(caplog)[before:])


def due(huey, moment: datetime) -> list[str]:
    """The daily tasks due at `moment` (the files clean-up, due every five minutes, aside)."""
    return sorted(task.name for task in huey.read_periodic(moment) if task.name in EVERY_DAY)


def lapsed_customer(app) -> int:
    """A customer who bought twice this week, then (raw SQL, as time passing looks) 400 days ago: stale until a
    full refresh makes them churned."""
    with app.app_context():
        customer = factories.customer(created_at=utcnow() - timedelta(days=500))
        factories.transaction(customer, amount=9000)
        with db.engine.begin() as connection:
            connection.execute(text('UPDATE "transaction" SET occurred_at = :at'),
                               {"at": utcnow() - timedelta(days=400)})
        assert db.session.get(CustomerStanding, customer.id).stage == "new"
        db.session.remove()
        return customer.id


def stage_of(app, customer_id: int) -> str:
    with app.app_context():
        stage = db.session.scalar(select(CustomerStanding.stage).where(CustomerStanding.customer_id == customer_id))
        db.session.remove()
        return stage


def settings(app) -> dict:
    with app.app_context():
        found = dict(db.session.execute(select(Setting.key, Setting.value)).all())
        db.session.remove()
        return found


def test_the_daily_refresh_is_due_at_0005_business_time_and_not_a_minute_earlier_or_later(app, huey):
    """Is the refresh due at 00:05 in CRM_TIMEZONE (16:05 UTC for Shanghai), and not at 00:04, 00:06 or 00:05 UTC?"""
    assert due(huey, AT_0005) == ["daily_refresh"]
    assert due(huey, AT_0005 - timedelta(minutes=1)) == []
    assert due(huey, AT_0005 + timedelta(minutes=1)) == []
    assert due(huey, datetime(2026, 12, 8, 0, 5)) == []


def test_a_worker_runs_the_daily_refresh_when_its_time_comes(app, huey, worker, login_as, caplog):
    """When the clock reaches 00:05, does a real worker refresh the standing and record that it did?"""
    caplog.set_level("INFO", "crmadmin.jobs")
    customer_id = lapsed_customer(app)
    worker(1)
    assert run_due(huey, caplog, AT_0005 - timedelta(minutes=1)) == []
    assert stage_of(app, customer_id) == "new"
    assert run_due(huey, caplog, AT_0005) == ["done"]
    assert stage_of(app, customer_id) == "churned"
    stored = settings(app)
    assert (stored[OUTCOME_KEY], stored[ERROR_KEY]) == ("ok", "")
    assert {"jobs.refresh.last_run", "jobs.refresh.last_finished", REFRESHED_KEY} <= set(stored)
    page = login_as("administrator").get("/admin/").get_data(as_text=True)
    assert 'id="standing-refreshed"' in page and 'id="refresh-warning"' not in page


def test_two_workers_apply_the_daily_refresh_once(app, huey, worker, caplog):
    """Each worker's scheduler enqueues the 00:05 refresh: with two workers, is it applied once for the day?"""
    caplog.set_level("INFO", "crmadmin.jobs")
    customer_id = lapsed_customer(app)
    worker(1)
    worker(1)
    assert run_due(huey, caplog, AT_0005, copies=2) == ["done", "skipped"]
    assert stage_of(app, customer_id) == "churned"
    with app.app_context():
        changes = db.session.scalars(select(StandingChange.after).where(
            StandingChange.customer_id == customer_id, StandingChange.kind == "stage", StandingChange.after == "churned"))
        assert len(list(changes)) == 1
        db.session.remove()


def test_a_failed_refresh_is_recorded_and_may_run_again(app, huey, worker, login_as, caplog):
    """When the refresh fails (a rule written unreadable into the database), is the reason kept, the day given back
    for a retry, and are administrators warned in both languages, clerks not, until a refresh succeeds?"""
    customer_id = lapsed_customer(app)
    with app.app_context():
        db.session.add(Setting(key="window_months", value="twelve"))
        db.session.commit()
    caplog.set_level("INFO", "crmadmin.jobs")
    worker(1)
    assert run_due(huey, caplog, AT_0005) == ["failed"]
    stored = settings(app)
    assert stored[OUTCOME_KEY] == "failed" and "twelve" in stored[ERROR_KEY]
    assert stage_of(app, customer_id) == "new"
    with app.app_context():  # the rule is mended; the warning stays until a refresh succeeds
        db.session.get(Setting, "window_months").value = "12"
        db.session.commit()
    admin = login_as("administrator")
    for path in ("/admin/", "/admin/tiers/"):
        page = admin.get(path).get_data(as_text=True)
        assert 'id="refresh-warning"' in page and "failed" in page and "twelve" in page
    page = admin.get("/admin/", headers=ZH).get_data(as_text=True)
    assert 'id="refresh-warning"' in page and "每日刷新" in page
    clerk_page = login_as("clerk").get("/admin/").get_data(as_text=True)
    assert 'id="refresh-warning"' not in clerk_page and 'id="standing-refreshed"' in clerk_page

    # the day was given back: the next run (a retry, another worker) does it
    assert run_due(huey, caplog, AT_0005) == ["done"]
    assert stage_of(app, customer_id) == "churned"
    assert 'id="refresh-warning"' not in admin.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("hours, warned", [(27, True), (25, False)])
def test_administrators_are_warned_when_the_last_refresh_is_over_26_hours_old(app, login_as, hours, warned):
    """Refreshed 27 hours ago: do the dashboard and the tier screens warn administrators (in English and Chinese)?
    Refreshed 25 hours ago: no warning, only when it was refreshed."""
    lapsed_customer(app)
    with app.app_context():
        db.session.add(Setting(key=REFRESHED_KEY, value="2026-12-06", updated_at=utcnow() - timedelta(hours=hours)))
        db.session.commit()
    admin = login_as("administrator")
    for path in ("/admin/", "/admin/tiers/", "/admin/churn/"):
        page = admin.get(path).get_data(as_text=True)
        assert 'id="standing-refreshed"' in page, path
        assert ('id="refresh-warning"' in page) is warned, path
        assert ("more than 26 hours" in page) is warned, path
    page = admin.get("/admin/", headers=ZH).get_data(as_text=True)
    assert ("超过 26 小时" in page) is warned and "上次刷新" in page


def test_a_worker_sent_sigterm_mid_job_finishes_it_then_exits(app, huey, database_url, jobs_queue, tmp_path):
    """`flask crm worker` stopped by SIGTERM (systemd, run.sh) while a job runs: does the job end, then the worker?"""
    hold = hold_task(huey)
    env = dict(os.environ, FLASK_APP="tests.jobs_app", CRM_TEST_WORKER_DB=database_url,
               CRM_TEST_WORKER_QUEUE=jobs_queue["CRM_JOBS_URL"], CRM_TEST_WORKER_NAME=jobs_queue["CRM_JOBS_NAME"])
    process = subprocess.Popen([sys.executable, "-m", "flask", "crm", "worker"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        result = hold(str(tmp_path))
        wait_for(lambda: (tmp_path / "started").exists(), 30)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        assert process.poll() is None, "the worker left before its job was done"
        (tmp_path / "go").write_text("go")
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert (tmp_path / "done").exists()
    assert "Received SIGTERM" in output and "Shutting down gracefully" in output
    assert result.get(blocking=True, timeout=5) == "held"
