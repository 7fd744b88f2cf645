"""Exports go through a job: click Export, follow the job until it ends, download its file (tests need `job_worker`)."""
import re
import time

from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Job

JOB_ID = re.compile(r"/admin/jobs/job\?id=(\d+)")


def start(client, url: str) -> int:
    """Click the Export link `url`: the id of the job it leads to."""
    response = client.get(url)
    assert response.status_code == 302, (url, response.status_code, response.get_data(as_text=True)[:300])
    found = JOB_ID.search(response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def wait(client, job_id: int, seconds: float = 30.0, readings: list | None = None) -> dict:
    """Poll the job's status (as the page's script does) until it ends; each reading is appended to `readings`."""
    deadline = time.monotonic() + seconds
    while True:
        status = client.get(f"/admin/jobs/status?id={job_id}").get_json()
        if readings is not None:
            readings.append(status)
        if status["state"] not in ("queued", "running"):
            return status
        assert time.monotonic() < deadline, f"job {job_id} still {status['state']}"
        time.sleep(0.02)


def export(client, url: str):
    """The file an Export link `url` produces, as its download response (or the failed job's status)."""
    job_id = start(client, url)
    status = wait(client, job_id)
    if status["state"] != "done":
        return status
    return download(client, status["download"])


def download(client, url: str):
    """A download, read whole and its file closed (the response keeps the bytes)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.scalar(select(Job).where(Job.id == job_id))
        db.session.expunge_all()
        return job


def seen_copies(monkeypatch) -> list:
    """The statements of every COPY psycopg runs from now on (an export on PostgreSQL): they pass no SQLAlchemy
    event, so count_queries does not see them."""
    import psycopg

    copies, copy = [], psycopg.Cursor.copy

    def seen(cursor, statement, *args, **kwargs):
        copies.append(statement.removeprefix("COPY (").strip())
        return copy(cursor, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", seen)
    return copies
