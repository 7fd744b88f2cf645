"""Do Import and Undo run as jobs end to end (real queue, real worker, real HTTP): rising progress, the outcome and
refusals in the reader's language, another owner kept out, cancel, a double click, and a worker killed mid-import
(nothing stored, the job failed, a retry imports once)?"""
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crmadmin.extensions import db
from crmadmin.jobs import queue, records
from crmadmin.models import AuditEntry, Customer, ImportRun, Job, utcnow
from tests import factories
from tests.conftest import log_entries
from tests.exporting import job_row, wait
from tests.forms import csrf_token
from tests.imports import csv_bytes, finished, job_of, runs, stage, start_commit, start_undo, undo
from tests.jobs_app import kill_hard, worker_process

ROOT = Path(__file__).resolve().parent.parent
ZH = {"Accept-Language": "zh-CN"}


def _file(count: int, first: int = 0) -> bytes:
    return csv_bytes([["姓名", "手机"]] + [[f"客户{i:06d}", f"139{i:08d}"] for i in range(first, first + count)])


def _count(app, model, *where) -> int:
    with app.app_context():
        found = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
        return found


def _cancel(client, job_id: int):
    token = csrf_token(client.get(f"/admin/jobs/job?id={job_id}").get_data(as_text=True))
    return client.post("/admin/jobs/cancel", data={"id": job_id, "csrf_token": token})


def _wait_until(client, job_id: int, condition, seconds: float = 60.0) -> dict:
    """Poll the job's status (as the page's script does) until `condition(status)`."""
    deadline = time.monotonic() + seconds
    while True:
        status = client.get(f"/admin/jobs/status?id={job_id}").get_json()
        if condition(status):
            return status
        assert status["state"] in ("queued", "running") and time.monotonic() < deadline, status
        time.sleep(0.02)


@pytest.fixture
def importing_clerk(app, login_as):
    """A clerk limited to their own customers who may import them; their client."""
    with app.app_context():
        factories.role("importing clerk", {"records.import", "customers.view", "customers.create"},
                       own_customers_only=True)
    return login_as("importing clerk")


def test_an_import_runs_as_a_job_with_rising_progress_and_tells_its_outcome(app, job_worker, importing_clerk,
                                                                            monkeypatch):
    """Import pressed over HTTP: does it answer at once with the job, whose progress rises flush by flush to 100%,
    the rows stored in one batch logged as the job's, and the outcome shown in Chinese on the job and the history?"""
    monkeypatch.setitem(app.config, "CRM_IMPORT_FLUSH_ROWS", 300)
    noted = records.note_progress

    def paced(*args, **kwargs):  # ten flushes can beat the page's polling on a quiet machine; these are read slowly
        noted(*args, **kwargs)
        time.sleep(0.05)

    monkeypatch.setattr(records, "note_progress", paced)
    client = importing_clerk
    run_id = stage(client, "customers", _file(3000))
    readings = []
    job_id = start_commit(client, run_id)
    page = finished(client, job_id, readings)
    assert readings[-1]["state"] == "done" and readings[-1]["percent"] == 100
    running = [r["percent"] for r in readings if r["state"] == "running" and r["rows_total"]]
    assert running == sorted(running) and len({p for p in running if 0 < p < 100}) >= 2, running
    assert "Imported file.csv: 3000 created, 0 updated, 0 unchanged, 0 rejected." in page
    assert _count(app, Customer) == 3000
    [run] = runs(app)
    assert run.status == "done" and run.created == 3000
    [event] = log_entries(app, action="import")
    assert event.source == "job" and event.actor == client.username
    assert _count(app, AuditEntry, AuditEntry.batch_id == run.batch_id, AuditEntry.source == "job") == 3001
    chinese = client.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)
    assert "已结束" in chinese and "已导入 file.csv：新建 3000 条" in chinese and "Imported" not in chinese
    assert "文件已过期" not in chinese  # an import leaves no file to expire
    listed = client.get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    assert f'data-job="{job_id}"' in listed and "导入 file.csv（客户）" in listed and "Import of" not in listed
    assert f'data-run="{run.id}"' in client.get("/admin/imports/").get_data(as_text=True)


def test_another_owners_clerk_cannot_see_cancel_or_start_the_import_and_nothing_changes(
        app, job_worker_later, importing_clerk, login_as, snapshot):
    """A second clerk of the same role: is the first clerk's queued import job 404 to them (page, status, cancel),
    and their own Import of the first clerk's upload refused, with no row changed?"""
    run_id = stage(importing_clerk, "customers", _file(5))
    job_id = start_commit(importing_clerk, run_id)
    other = login_as("importing clerk")
    before = snapshot()
    assert other.get(f"/admin/jobs/job?id={job_id}").status_code == 404
    assert other.get(f"/admin/jobs/status?id={job_id}").status_code == 404
    token = csrf_token(other.get("/admin/jobs/").get_data(as_text=True))
    assert other.post("/admin/jobs/cancel", data={"id": job_id, "csrf_token": token}).status_code == 404
    assert other.post("/admin/imports/commit", data={"id": run_id, "csrf_token": token}).status_code == 404
    assert f'data-job="{job_id}"' not in other.get("/admin/jobs/").get_data(as_text=True)
    assert snapshot() == before
    job_worker_later()
    assert wait(importing_clerk, job_id)["state"] == "done"  # the owner's job, untouched, runs
    assert _count(app, Customer) == 5


def test_a_double_click_joins_the_queued_import(app, job_worker_later, importing_clerk):
    """Import pressed twice before the worker takes it: one job, one import?"""
    client = importing_clerk
    run_id = stage(client, "customers", _file(3))
    first = start_commit(client, run_id)
    assert start_commit(client, run_id) == first
    job_worker_later()
    assert wait(client, first)["state"] == "done"
    assert _count(app, Job) == 1 and _count(app, Customer) == 3


def test_a_running_import_cancelled_rolls_back_everything(app, job_worker, importing_clerk, monkeypatch):
    """Cancel pressed while the rows are being stored: does the job stop at its next flush, keeping no row, no log
    entry, and the upload staged to import again?"""
    monkeypatch.setitem(app.config, "CRM_IMPORT_FLUSH_ROWS", 100)
    client = importing_clerk
    run_id = stage(client, "customers", _file(6000))
    entries = _count(app, AuditEntry)
    job_id = start_commit(client, run_id)
    _wait_until(client, job_id, lambda s: s["state"] == "running" and s["rows_done"] > 0)
    response = _cancel(client, job_id)
    assert response.status_code == 302
    assert wait(client, job_id, 60)["state"] == "cancelled"
    assert _count(app, Customer) == 0 and _count(app, AuditEntry) == entries
    assert [r.status for r in runs(app)] == ["staged"]


def test_an_import_refused_by_the_database_fails_in_the_readers_language_and_stores_nothing(
        app, job_worker, importing_clerk):
    """The database refuses a row: is the job failed with the reason in Chinese, no row kept, the upload staged?"""
    from tests.test_imports import _drop_failing_trigger, _install_failing_trigger

    client = importing_clerk
    run_id = stage(client, "customers", _file(50))
    _install_failing_trigger(app, "客户000040")
    try:
        job_id = start_commit(client, run_id)
        assert wait(client, job_id)["state"] == "failed"
    finally:
        _drop_failing_trigger(app)
    chinese = client.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)
    assert "保存数据时导入失败（数据库拒绝了其中一行）" in chinese
    assert f"/admin/imports/preview?id={run_id}" in chinese  # back to the checked file, one click
    assert _count(app, Customer) == 0 and [r.status for r in runs(app)] == ["staged"]


def test_a_refusal_is_kept_as_words_and_read_in_each_readers_language(app, job_worker, importing_clerk):
    """A file whose rows all have problems, imported without "valid rows only": is the job failed with the count of
    bad rows, in English for an English reader and in Chinese for a Chinese one?"""
    client = importing_clerk
    run_id = stage(client, "customers", csv_bytes([["姓名", "手机"], ["甲", "not a phone"], ["乙", "nor this"]]))
    job_id = start_commit(client, run_id)
    status = wait(client, job_id)
    assert status["state"] == "failed"
    assert "2 rows have problems, so nothing was imported." in status["error"]
    chinese = client.get(f"/admin/jobs/status?id={job_id}", headers=ZH).get_json()["error"]
    assert "2" in chinese and "rows" not in chinese
    assert job_row(app, job_id).error == "refused"


def test_undo_runs_as_a_job_and_a_refused_undo_says_why(app, job_worker, importing_clerk):
    """Undo pressed: is it a job that removes the import's customers and says how many changes; and an undo refused
    (a customer edited since) a failed job that says why, in Chinese, changing nothing?"""
    client = importing_clerk
    run_id = stage(client, "customers", _file(4))
    finished(client, start_commit(client, run_id))
    page = undo(client, run_id)
    assert "The import of file.csv was undone (4 changes)." in page
    assert _count(app, Customer) == 0 and runs(app)[0].status == "undone"
    assert log_entries(app, action="import_undone")[0].source == "job"

    second = stage(client, "customers", _file(2, first=10))
    finished(client, start_commit(client, second))
    with app.app_context():
        customer = db.session.scalars(select(Customer)).first()
        customer.region = "西南"
        db.session.commit()
    job_id = job_of(start_undo(client, second))
    assert wait(client, job_id)["state"] == "failed"
    chinese = client.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)
    assert "导入未撤销：" in chinese and "在该批次之后又被修改过" in chinese
    assert _count(app, Customer) == 2 and [r.status for r in runs(app)] == ["undone", "done"]


def test_a_worker_killed_mid_import_stores_nothing_and_a_retry_imports_once(
        app, database_url, jobs_queue, importing_clerk, job_worker_later):
    """`flask crm worker` killed (-9) while it stores an import: no customer, no log entry of the batch, the upload
    still staged; the clean-up shows the job failed; Import pressed again imports the file exactly once?"""
    client = importing_clerk
    rows = 12000  # under 500 KB: a larger upload is spooled by the test client to a file it never closes
    run_id = stage(client, "customers", _file(rows))
    entries = _count(app, AuditEntry)
    env = dict(os.environ, FLASK_APP="tests.jobs_app", CRM_TEST_WORKER_DB=database_url,
               CRM_TEST_WORKER_QUEUE=jobs_queue["CRM_JOBS_URL"], CRM_TEST_WORKER_NAME=jobs_queue["CRM_JOBS_NAME"],
               CRM_IMPORT_FLUSH_ROWS="100")
    queue(app).flush()
    with worker_process(env, ROOT) as process:
        job_id = start_commit(client, run_id)
        status = _wait_until(client, job_id, lambda s: s["state"] == "running" and 0 < s["rows_done"], 90)
        assert status["rows_done"] < rows, status
        kill_hard(process)
    assert _count(app, Customer) == 0 and _count(app, AuditEntry) == entries
    assert [r.status for r in runs(app)] == ["staged"]
    with app.app_context():
        later = utcnow() + timedelta(seconds=app.config["CRM_JOB_STALE_SECONDS"] + 60)
        assert records.reap_stale(db.engine, records.files_folder(app), app.config["CRM_JOB_STALE_SECONDS"],
                                  now=later, huey=queue(app)) == 1
    status = client.get(f"/admin/jobs/status?id={job_id}").get_json()
    assert status["state"] == "failed" and "worker running this job stopped" in status["error"]

    job_worker_later()
    retry = start_commit(client, run_id)
    assert retry != job_id and wait(client, retry, 120)["state"] == "done"
    assert _count(app, Customer) == rows
    with app.app_context():
        [run] = db.session.scalars(select(ImportRun)).all()
        assert run.status == "done" and run.created == rows
        db.session.remove()
    assert len(log_entries(app, action="import")) == 1
