"""Jobs run as the user who asked for them (crmadmin/jobs/owner.py): is a job whose owner was deactivated after
asking refused with its reason, leaving nothing, for each way a job signs its owner in?"""
import os
import time

from sqlalchemy import func, select

from crmadmin.extensions import db
from crmadmin.jobs import records
from crmadmin.models import Customer, User
from tests.conftest import log_entries
from tests.exporting import job_row, start
from tests.imports import csv_bytes, stage, start_commit
from tests.test_export_jobs import empty_job_files  # noqa: F401  (autouse: job ids start again in each test)


def _deactivate(app, username: str) -> None:
    with app.app_context():
        db.session.scalar(select(User).where(User.username == username)).active = False
        db.session.commit()
        db.session.remove()


def _ended(app, job_id: int, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while (job := job_row(app, job_id)).state in ("queued", "running"):
        assert time.monotonic() < deadline, job.state
        time.sleep(0.05)
    return job


def test_an_export_whose_owner_was_deactivated_is_refused_and_writes_no_file(app, login_as, job_worker_later):
    client = login_as("administrator")
    job_id = start(client, "/admin/customer/export/csv/")
    _deactivate(app, client.username)
    job_worker_later()
    job = _ended(app, job_id)
    assert (job.state, job.error, job.result_file) == ("failed", "forbidden", None)
    folder = records.files_folder(app)
    assert not any(name.startswith(f"job-{job_id}.") for name in (os.listdir(folder) if os.path.isdir(folder) else []))
    assert log_entries(app, source="job") == []


def test_an_import_whose_owner_was_deactivated_is_refused_and_stores_nothing(app, login_as, job_worker_later):
    client = login_as("administrator")
    run_id = stage(client, "customers", csv_bytes([["name", "mobile"], ["张三", "13800000001"]]))
    job_id = start_commit(client, run_id)
    _deactivate(app, client.username)
    job_worker_later()
    job = _ended(app, job_id)
    assert (job.state, job.error) == ("failed", "import_forbidden")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0
    assert log_entries(app, source="job") == []
