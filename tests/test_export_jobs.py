"""Do exports run as jobs end to end (real queue, real worker, real HTTP): progress, download rights, duplicates,
cancel, expiry, a worker that died, and the Jobs screen?"""
import csv
import io
import json
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from crmadmin.admin.base import SecureModelView
from crmadmin.extensions import db
from crmadmin.jobs import records
from crmadmin.jobs.exports import clean_up
from crmadmin.localtime import format_local
from crmadmin.models import Customer, Job, User, utcnow
from tests import factories
from tests.conftest import log_entries
from tests.exporting import download, job_row, start, wait
from tests.forms import csrf_token, submit

ZH = {"Accept-Language": "zh-CN"}
MANY = 3000


def _many_customers(app, owner_id=None, count: int = MANY) -> None:
    with app.app_context():
        db.session.add_all([Customer(name=f"批量客户{i:05d}", kind="person", mobile=f"+86139{i:08d}",
                                     owner_id=owner_id) for i in range(count)])
        db.session.commit()
        db.session.remove()


@pytest.fixture(autouse=True)
def empty_job_files(app):
    """The suite's job files folder, emptied: job ids start again in each test's fresh tables."""
    folder = records.files_folder(app)
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))


def _folder(app) -> str:
    return records.files_folder(app)


def _files(app) -> set[str]:
    return set(os.listdir(_folder(app))) if os.path.isdir(_folder(app)) else set()


def _jobs(app) -> int:
    with app.app_context():
        found = db.session.scalar(select(func.count()).select_from(Job))
        db.session.remove()
        return found


def _user_id(app, username: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.username == username))
        db.session.remove()
        return found


def _cancel(client, job_id: int):
    token = csrf_token(client.get(f"/admin/jobs/job?id={job_id}").get_data(as_text=True))
    return client.post("/admin/jobs/cancel", data={"id": job_id, "csrf_token": token})


@pytest.fixture
def exporting_clerk(app, login_as):
    """A clerk limited to their own customers who may export them; their client."""
    with app.app_context():
        factories.role("exporting clerk", {"customers.view", "customers.export"}, own_customers_only=True)
    return login_as("exporting clerk")


def test_an_export_runs_as_a_job_with_rising_progress_and_downloads_for_its_owner(app, job_worker, exporting_clerk,
                                                                                   monkeypatch):
    """A scoped clerk exports their 3,000 customers (50 rows a batch): does Export lead to the job's page, does its
    progress rise batch by batch to 3,000 of 3,000, and does the file hold exactly their rows, the export logged?"""
    monkeypatch.setattr(SecureModelView, "export_batch_rows", 50)
    stored = records.progress

    def paced(*args, **kwargs):  # a quiet machine writes 60 batches faster than the page polls; this one reads slowly
        time.sleep(0.03)
        return stored(*args, **kwargs)

    monkeypatch.setattr(records, "progress", paced)
    me = _user_id(app, exporting_clerk.username)
    _many_customers(app, owner_id=me)
    _many_customers(app, count=20)  # someone else's
    response = exporting_clerk.get("/admin/customer/export/csv/?sort=0")
    assert response.status_code == 302 and "/admin/jobs/job?id=" in response.headers["Location"]
    job_id = start(exporting_clerk, "/admin/customer/export/csv/?sort=0")  # the same work: the same job
    page = exporting_clerk.get(f"/admin/jobs/job?id={job_id}").get_data(as_text=True)
    assert '<progress' in page and 'aria-valuenow=' in page and "data-job-status" in page
    readings = []
    status = wait(exporting_clerk, job_id, readings=readings)
    assert status["state"] == "done" and (status["rows_done"], status["rows_total"], status["percent"]) == (MANY, MANY,
                                                                                                           100)
    done = [r["rows_done"] for r in readings]
    assert done == sorted(done), "progress went backwards"
    assert len({d for d in done if 0 < d < MANY}) >= 3, f"too few readings in between: {sorted(set(done))}"
    assert all(d % 50 == 0 for d in done if d < MANY)  # stored once a batch
    body = download(exporting_clerk, status["download"])
    assert body.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment; filename=customer_" in body.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.get_data().decode("utf-8-sig"), newline="")))
    assert len(rows) == MANY and all(r["Name"].startswith("批量客户") for r in rows)
    exported = log_entries(app, action="export")
    assert len(exported) == 1 and f'"rows": {MANY}' in exported[0].changes and exported[0].source == "job"
    downloaded = log_entries(app, action="download")
    assert len(downloaded) == 1 and downloaded[0].actor_id == me and downloaded[0].record_id == str(job_id)


def test_the_file_is_refused_404_to_another_clerk_and_a_forbidden_download_changes_nothing(
        app, job_worker, exporting_clerk, login_as, snapshot):
    """Is the finished file (and its job page and status) 404 to a scoped clerk of another owner and to a plain clerk,
    with nothing changed and no download logged, while an administrator may fetch it?"""
    _many_customers(app, owner_id=_user_id(app, exporting_clerk.username), count=30)
    status = wait(exporting_clerk, start(exporting_clerk, "/admin/customer/export/xlsx/"))
    assert status["state"] == "done"
    with app.app_context():
        factories.role("other exporting clerk", {"customers.view", "customers.export"}, own_customers_only=True)
    others = (login_as("other exporting clerk"), login_as("clerk"))
    before, files = snapshot(), _files(app)
    for other in others:
        for url in (status["download"], f"/admin/jobs/job?id={status['id']}", f"/admin/jobs/status?id={status['id']}"):
            assert other.get(url).status_code == 404, url
        assert _cancel(other, status["id"]).status_code == 404
        assert f"?id={status['id']}" not in other.get("/admin/jobs/").get_data(as_text=True)
    assert snapshot() == before and _files(app) == files
    assert log_entries(app, action="download") == []
    assert download(login_as("administrator"), status["download"]).status_code == 200


def test_a_download_needs_the_export_permission_still(app, job_worker, exporting_clerk, snapshot):
    """When the owner's role loses customers.export after the job, is the file 404 to them, with nothing changed?"""
    _many_customers(app, owner_id=_user_id(app, exporting_clerk.username), count=5)
    status = wait(exporting_clerk, start(exporting_clerk, "/admin/customer/export/csv/"))
    with app.app_context():
        from crmadmin.models import RolePermission, Role
        role = db.session.scalar(select(Role).where(Role.name == "exporting clerk"))
        db.session.execute(RolePermission.__table__.delete().where(
            RolePermission.__table__.c.role_id == role.id, RolePermission.__table__.c.permission == "customers.export"))
        db.session.commit()
    before = snapshot()
    assert exporting_clerk.get(status["download"]).status_code == 404
    assert snapshot() == before and log_entries(app, action="download") == []


def test_a_duplicate_click_starts_no_second_job(app, exporting_clerk, login_as):
    """Export clicked twice (arguments in another order too) while the first is queued: one job; another format, or
    another user, is other work?"""
    first = start(exporting_clerk, "/admin/customer/export/csv/?search=北京&sort=0")
    page = exporting_clerk.get(f"/admin/customer/export/csv/?sort=0&search=北京", follow_redirects=True)
    assert "already under way" in page.get_data(as_text=True)
    assert start(exporting_clerk, "/admin/customer/export/csv/?sort=0&search=北京") == first
    assert _jobs(app) == 1
    assert start(exporting_clerk, "/admin/customer/export/xlsx/?search=北京&sort=0") != first
    assert start(login_as("administrator"), "/admin/customer/export/csv/?search=北京&sort=0") != first
    assert _jobs(app) == 3
    assert exporting_clerk.get("/admin/customer/export/csv/?search=北京&sort=0", headers=ZH,
                               follow_redirects=True).status_code == 200


def test_a_queued_job_cancelled_never_runs(app, exporting_clerk, job_worker_later):
    """Cancelled before any worker took it: is it shown cancelled, and does a worker then skip it (no file)?"""
    job_id = start(exporting_clerk, "/admin/customer/export/csv/")
    response = _cancel(exporting_clerk, job_id)
    assert response.status_code == 302
    assert job_row(app, job_id).state == "cancelled"
    job_worker_later()
    time.sleep(0.5)
    job = job_row(app, job_id)
    assert (job.state, job.result_file, job.started_at) == ("cancelled", None, None)
    assert not any(name.startswith(f"job-{job_id}.") for name in _files(app))
    # a new click is new work: the cancelled job no longer holds the place
    assert start(exporting_clerk, "/admin/customer/export/csv/") != job_id


def test_a_jobs_page_says_when_it_was_submitted_and_when_it_started_only_once_it_has(app, exporting_clerk,
                                                                                      job_worker_later):
    """A queued job has not started: its page and the list name the time it was submitted, and its page shows a
    start time (the viewer's local time) once a worker took it."""
    job_id = start(exporting_clerk, "/admin/customer/export/csv/")
    page = exporting_clerk.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)
    assert "提交时间" in page and "开始时间" not in page
    listing = exporting_clerk.get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    assert "提交时间" in listing and "开始时间" not in listing
    job_worker_later()
    assert wait(exporting_clerk, job_id)["state"] == "done"
    page = exporting_clerk.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)
    with app.test_request_context(headers=ZH):
        started = format_local(job_row(app, job_id).started_at)
    assert "提交时间" in page and f'开始时间</dt><dd class="col-sm-9">{started}</dd>' in page


def test_a_running_export_cancelled_stops_between_batches_and_leaves_no_file(app, job_worker, exporting_clerk,
                                                                             monkeypatch):
    """Cancelled while it runs (10 rows a batch): does it stop before the end, with no partial file left?"""
    monkeypatch.setattr(SecureModelView, "export_batch_rows", 10)
    _many_customers(app, owner_id=_user_id(app, exporting_clerk.username))
    job_id = start(exporting_clerk, "/admin/customer/export/csv/")
    deadline = time.monotonic() + 20
    while job_row(app, job_id).rows_done == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert _cancel(exporting_clerk, job_id).status_code == 302
    status = wait(exporting_clerk, job_id)
    time.sleep(0.3)  # the task notices at its next batch
    job = job_row(app, job_id)
    assert status["state"] == "cancelled" and job.rows_done < MANY and job.result_file is None
    assert not any(name.startswith(f"job-{job_id}.") for name in _files(app))


def test_expired_files_are_deleted(app, job_worker, exporting_clerk):
    """Past CRM_JOB_FILES_HOURS, does the clean-up delete the file, and is the job then shown expired, its download
    404?"""
    _many_customers(app, owner_id=_user_id(app, exporting_clerk.username), count=5)
    status = wait(exporting_clerk, start(exporting_clerk, "/admin/customer/export/csv/"))
    name = job_row(app, status["id"]).result_file
    assert name in _files(app)
    with app.app_context():
        assert clean_up(app)["deleted"] == 0  # not yet
        with db.engine.begin() as connection:  # plain SQL, as the job table is written
            connection.execute(update(Job.__table__).where(Job.id == status["id"])
                               .values(expires_at=utcnow() - timedelta(minutes=1)))
        assert clean_up(app)["deleted"] == 1
        db.session.remove()
    assert name not in _files(app) and job_row(app, status["id"]).result_file is None
    assert exporting_clerk.get(status["download"]).status_code == 404
    page = exporting_clerk.get(f"/admin/jobs/job?id={status['id']}", headers=ZH).get_data(as_text=True)
    assert "文件已过期" in page


def test_a_job_whose_worker_died_is_shown_failed_and_its_partial_file_removed(app, exporting_clerk):
    """A running export whose worker was killed (no progress for longer than CRM_JOB_STALE_SECONDS, a partial file
    left): is it failed when noticed, the reason in the reader's language, the partial file gone?"""
    me = _user_id(app, exporting_clerk.username)
    with app.app_context():
        key = records.dedupe_key(me, "export", {"x": 1})
        job_id, _ = records.start(db.engine, "export", me, {"screen": "customer", "format": "csv", "title": "客户"}, key)
        stale = utcnow() - timedelta(seconds=app.config["CRM_JOB_STALE_SECONDS"] + 60)
        with db.engine.begin() as connection:
            connection.execute(update(Job.__table__).where(Job.id == job_id).values(
                state="running", started_at=stale, heartbeat_at=stale, rows_done=1000, rows_total=5000))
        db.session.remove()
    os.makedirs(_folder(app), exist_ok=True)
    part = os.path.join(_folder(app), records.partial_name(job_id, "csv"))
    with open(part, "w") as out:
        out.write("ID,Name\r\n1,half")
    page = exporting_clerk.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)
    assert "工作进程" in page and 'role="alert"' in page
    job = job_row(app, job_id)
    assert (job.state, job.error, job.dedupe_key) == ("failed", "worker_lost", None)
    assert not os.path.exists(part)
    english = exporting_clerk.get(f"/admin/jobs/status?id={job_id}").get_json()
    assert english["state"] == "failed" and "stopped" in english["error"]


def test_each_user_sees_their_jobs_and_administrators_everyones_and_the_schedule(app, exporting_clerk, login_as):
    """Does a clerk's Jobs screen list only their jobs, with no schedule, while an administrator's lists everyone's
    and each periodic job with its last run, outcome and next run, in Chinese too?"""
    mine = start(exporting_clerk, "/admin/customer/export/csv/")
    admin = login_as("administrator")
    theirs = start(admin, "/admin/transaction/export/csv/")
    page = exporting_clerk.get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    assert f'data-job="{mine}"' in page and f'data-job="{theirs}"' not in page and "job-schedule" not in page
    assert "任务" in page and "排队中" in page
    with app.app_context():
        clean_up(app)
    page = admin.get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    assert f'data-job="{mine}"' in page and f'data-job="{theirs}"' in page
    assert 'data-task="daily_refresh"' in page and 'data-task="job_files_cleanup"' in page
    assert "从未" in page and "成功" in page  # the refresh never ran; the clean-up just succeeded
    english = admin.get("/admin/jobs/").get_data(as_text=True)
    assert "Next run" in english and "Daily refresh" in english
    with app.app_context():
        from crmadmin.jobs.queue import queue
        queue(app).flush()


def test_an_erasure_deletes_the_kept_export_files_and_the_searches_for_the_person(app, job_worker, exporting_clerk,
                                                                                   login_as):
    """Any kept export may hold the erased customer's row, and a job's parameters their name searched for: are the
    files deleted with the erasure (the job then shown expired) and the search masked?"""
    me = _user_id(app, exporting_clerk.username)
    with app.app_context():
        customer = factories.customer(name="欧阳娜娜", mobile="+8613911112222", owner_id=me)
        customer_id = customer.id
    status = wait(exporting_clerk, start(exporting_clerk, "/admin/customer/export/csv/?search=欧阳娜娜"))
    name = job_row(app, status["id"]).result_file
    assert name in _files(app) and "欧阳娜娜" in job_row(app, status["id"]).params
    supervisor = login_as("supervisor")
    response = submit(supervisor, f"/admin/personaldata/erase/?id={customer_id}",
                      {"received_on": "2026-11-20", "channel": "email", "reference": "REQ-7", "confirm": "y"})
    assert response.status_code == 302
    row = job_row(app, status["id"])
    assert name not in _files(app) and row.result_file is None and "欧阳娜娜" not in row.params
    assert exporting_clerk.get(status["download"]).status_code == 404
    erased = log_entries(app, action="personal_data_erased")
    assert len(erased) == 1 and '"export_files": 1' in erased[0].changes
