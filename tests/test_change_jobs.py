"""Batch undos and merges above a size run as jobs (real queue, real worker, real HTTP), as their owner, in one
transaction; a refusal changes nothing and says why in the owner's language; small ones stay in the request."""
import os
import re
import sqlite3
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crmadmin.audit.context import Actor, bind, reset
from crmadmin import merge
from crmadmin.audit import undo
from crmadmin.extensions import db
from crmadmin.jobs import queue, records
from crmadmin.models import AuditEntry, Customer, Job, Role, Transaction, utcnow
from tests import factories
from tests.conftest import log_entries
from tests.exporting import JOB_ID, wait
from tests.forms import csrf_token, read_form, submit
from tests.jobs_app import gate, kill_hard, wait_for, worker_process
from tests.test_merge import family, post_merge, rows

ZH = {"Accept-Language": "zh-CN"}
ROOT = Path(__file__).resolve().parent.parent
STALE = 1  # CRM_JOB_STALE_SECONDS in the heartbeat tests: the clean-up's limit, not minutes of waiting


def _jobs(app, kind: str) -> list[Job]:
    with app.app_context():
        found = db.session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)).all()
        db.session.expunge_all()
        return found


def _batch_of_new_customers(app, count: int) -> tuple[str, int]:
    """`count` customers created in one batch (as an import would): the batch and its first entry's id."""
    batch = str(uuid.uuid4())
    with app.app_context():
        token = bind(Actor(actor="importer", source="cli", batch_id=batch))
        try:
            db.session.add_all([Customer(name=f"批量{n:03d}", kind="person") for n in range(count)])
            db.session.commit()
        finally:
            reset(token)
        first = db.session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.batch_id == batch))
        db.session.remove()
    return batch, first


def _undo_batch(client, entry_id: int, headers=None):
    page = client.get(f"/admin/auditentry/details/?id={entry_id}")
    assert page.status_code == 200
    return client.post("/admin/auditentry/undo/", headers=headers or {},
                       data={"id": str(entry_id), "scope": "batch",
                             "csrf_token": csrf_token(page.get_data(as_text=True))})


def _customers(app) -> int:
    with app.app_context():
        found = db.session.scalar(select(func.count()).select_from(Customer))
        db.session.remove()
        return found


# --- batch undo --------------------------------------------------------------------------------------------------
def test_a_large_batch_undo_runs_as_a_job_and_undoes_everything_in_one_transaction(app, login_as, job_worker,
                                                                                   monkeypatch):
    """Above CRM_UNDO_IN_REQUEST_MAX changes, does Undo the whole batch lead to a job that undoes all of them, its
    own changes logged in one batch by the job's owner, the result on the Jobs screen in Chinese?"""
    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    batch, first = _batch_of_new_customers(app, 12)
    admin = login_as("administrator")
    response = _undo_batch(admin, first, ZH)
    assert response.status_code == 302 and JOB_ID.search(response.headers["Location"])
    job_id = int(JOB_ID.search(response.headers["Location"]).group(1))
    status = wait(admin, job_id)
    assert status["state"] == "done" and (status["rows_done"], status["rows_total"]) == (12, 12)
    assert _customers(app) == 0
    undone = [e for e in log_entries(app, action="delete", record_type="customer")]
    assert len(undone) == 12 and len({e.batch_id for e in undone}) == 1  # one transaction, one batch
    assert {e.source for e in undone} == {"job"} and {e.actor for e in undone} == {admin.username}
    page = admin.get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    assert "撤销一批共 12 项更改" in page and "已撤销 12 项更改。" in page
    assert f'href="/admin/auditentry/details/?id={first}"' in page


def test_a_small_batch_undo_stays_in_the_request(app, login_as, monkeypatch):
    """At or below the size, is the batch undone in the request, with no job?"""
    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    _batch, first = _batch_of_new_customers(app, 5)
    admin = login_as("administrator")
    response = _undo_batch(admin, first)
    assert "/admin/auditentry/details/" in response.headers["Location"]
    assert _customers(app) == 0 and _jobs(app, "undo_batch") == []


def test_a_batch_undo_refused_in_the_job_changes_nothing_and_says_why_in_chinese(app, login_as, job_worker,
                                                                              monkeypatch, snapshot):
    """One customer of the batch was edited afterwards: does the job undo none of them, and say why in Chinese?"""
    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    _batch, first = _batch_of_new_customers(app, 8)
    admin = login_as("administrator")
    with app.app_context():
        edited = db.session.scalar(select(Customer.id).order_by(Customer.id).limit(1))
    submit(admin, f"/admin/customer/edit/?id={edited}", {"name": "改过了"})
    before = snapshot()
    job_id = int(JOB_ID.search(_undo_batch(admin, first, ZH).headers["Location"]).group(1))
    status = admin.get(f"/admin/jobs/status?id={job_id}").get_json()
    status = wait(admin, job_id)
    assert status["state"] == "failed"
    assert {k: v for k, v in snapshot().items() if k != "job"} == {k: v for k, v in before.items() if k != "job"}
    page = admin.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)
    assert "未做任何更改" in page and "批量000" in page and "在该批次之后又被修改" in page, page[page.find("crm-job-error"):][:400]


def test_the_worker_checks_again_that_the_owner_may_still_undo(app, login_as, job_worker_later, monkeypatch,  # noqa: F811
                                                              snapshot):
    """The undo right is taken from the owner's role after the job was queued: does the worker refuse it, changing
    nothing?"""
    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    _batch, first = _batch_of_new_customers(app, 8)
    with app.app_context():
        factories.role("undo desk", {"customers.view", "customers.create", "customers.edit", "customers.delete",
                                     "audit.view", "audit.undo"})
    desk = login_as("undo desk")
    job_id = int(JOB_ID.search(_undo_batch(desk, first).headers["Location"]).group(1))
    with app.app_context():
        role = db.session.scalar(select(Role).where(Role.name == "undo desk"))
        role.permissions = role.permissions - {"audit.undo"}
        db.session.commit()
    before = snapshot()
    job_worker_later()
    status = wait(desk, job_id)
    assert status["state"] == "failed" and "no longer hold the rights" in status["error"]
    assert {k: v for k, v in snapshot().items() if k != "job"} == {k: v for k, v in before.items() if k != "job"}
    assert _customers(app) == 8


# --- merge -------------------------------------------------------------------------------------------------------
def test_a_large_merge_runs_as_a_job_moving_every_record_in_one_transaction(app, login_as, job_worker, monkeypatch):
    """A merge moving more records than CRM_MERGE_IN_REQUEST_MAX: does it run as a job that moves them all to the
    survivor, logged as one batch, its result linking to the merge's page?"""
    monkeypatch.setitem(app.config, "CRM_MERGE_IN_REQUEST_MAX", 3)
    keep, dup, referred, records, places = family(app)
    with app.app_context():
        for _ in range(6):
            factories.transaction(db.session.get(Customer, dup.id), amount=Decimal("10.00"))
    admin = login_as("administrator")
    response = post_merge(admin, [keep.id, dup.id], keep.id)
    assert response.status_code == 302 and JOB_ID.search(response.headers["Location"])
    job_id = int(JOB_ID.search(response.headers["Location"]).group(1))
    status = wait(admin, job_id)
    assert status["state"] == "done", status
    with app.app_context():
        assert db.session.get(Customer, dup.id) is None
        assert db.session.scalar(select(func.count()).select_from(Transaction)
                                 .where(Transaction.customer_id == keep.id)) == 9
    [merged] = log_entries(app, action="merge")
    assert merged.source == "job" and merged.actor == admin.username
    moved = log_entries(app, batch_id=merged.batch_id)
    assert len(moved) > 9  # every moved record and the deletion, in the merge's one batch
    page = admin.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)
    assert "已合并 1 位客户" in page and f'href="/admin/duplicates/merged/?id={merged.id}"' in page
    assert admin.get(f"/admin/duplicates/merged/?id={merged.id}").status_code == 200


def test_a_small_merge_stays_in_the_request(app, login_as, monkeypatch):
    """At or below the size, is the merge done in the request (its page next), with no job?"""
    monkeypatch.setitem(app.config, "CRM_MERGE_IN_REQUEST_MAX", 100)
    keep, dup, *_ = family(app)
    response = post_merge(login_as("administrator"), [keep.id, dup.id], keep.id)
    assert "/admin/duplicates/merged/" in response.headers["Location"]
    assert _jobs(app, "merge") == []


def test_a_merge_job_refused_because_a_customer_changed_changes_nothing(app, login_as, job_worker_later,  # noqa: F811
                                                                      monkeypatch):
    """A customer is edited after the merge job was queued: is the merge refused in the worker, nothing moved?"""
    monkeypatch.setitem(app.config, "CRM_MERGE_IN_REQUEST_MAX", 3)
    keep, dup, *_ = family(app)
    admin = login_as("administrator")
    job_id = int(JOB_ID.search(post_merge(admin, [keep.id, dup.id], keep.id).headers["Location"]).group(1))
    with app.app_context():  # someone edits the duplicate meanwhile
        db.session.get(Customer, dup.id).notes = "后来改的"
        db.session.commit()
    before = rows(app)
    job_worker_later()
    status = wait(admin, job_id)
    assert status["state"] == "failed" and "changed by someone else" in status["error"]
    assert rows(app) == before


def test_the_job_pages_show_nothing_of_anothers_undo_or_merge(app, login_as, monkeypatch, snapshot):
    """Another clerk asks for someone's merge job, its status or its cancel: 404 and nothing changes."""
    monkeypatch.setitem(app.config, "CRM_MERGE_IN_REQUEST_MAX", 3)
    keep, dup, *_ = family(app)
    admin = login_as("administrator")
    job_id = int(JOB_ID.search(post_merge(admin, [keep.id, dup.id], keep.id).headers["Location"]).group(1))
    other = login_as("supervisor")
    before = snapshot()
    assert other.get(f"/admin/jobs/job?id={job_id}").status_code == 404
    assert other.get(f"/admin/jobs/status?id={job_id}").status_code == 404
    token = csrf_token(other.get("/admin/").get_data(as_text=True))
    assert other.post("/admin/jobs/cancel", data={"id": job_id, "csrf_token": token}).status_code == 404
    assert snapshot() == before


# --- a long undo's heartbeat, a killed worker, a reaped job ---------------------------------------------------------
def _job_id(response) -> int:
    return int(JOB_ID.search(response.headers["Location"]).group(1))


def _status(client, job_id: int) -> dict:
    """The job as its page's script reads it; each reading runs the clean-up's reap, as the Jobs screen does."""
    return client.get(f"/admin/jobs/status?id={job_id}").get_json()


def _task_results(huey) -> list:
    """What the queue's finished tasks returned."""
    return [huey.serializer.deserialize(value) for value in huey.all_results().values()]


def _paused_undo(app, login_as, monkeypatch, tmp_path, pause_at: int):
    """A batch undo of 12 customers started as a job (a worker thread takes it) and caught before its
    `pause_at`th entry, the flush of every 5 entries made before it: (client, job id, the gate's folder)."""
    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    monkeypatch.setitem(app.config, "CRM_JOB_STALE_SECONDS", STALE)
    monkeypatch.setattr(undo, "FLUSH_ENTRIES", 5)
    monkeypatch.setattr(undo, "_undo_one", gate(tmp_path, pause_at, undo._undo_one))
    _batch, first = _batch_of_new_customers(app, 12)
    admin = login_as("administrator")
    job_id = _job_id(_undo_batch(admin, first))
    wait_for(lambda: (tmp_path / "paused").exists())
    return admin, job_id, tmp_path


def test_a_long_undo_keeps_its_heartbeat_and_the_clean_up_leaves_it_running(app, login_as, monkeypatch, tmp_path,
                                                                            job_worker):
    """An undo still running after several times CRM_JOB_STALE_SECONDS (in its one transaction, holding SQLite's
    write lock): does every read of the Jobs screen, and the clean-up, leave it running with the entries undone so
    far, and does it then finish, everything undone once?"""
    admin, job_id, gate = _paused_undo(app, login_as, monkeypatch, tmp_path, pause_at=7)
    wait_for(lambda: _status(admin, job_id)["rows_done"] == 5)
    deadline = utcnow() + timedelta(seconds=3 * STALE)
    while utcnow() < deadline:
        status = _status(admin, job_id)
        assert status["state"] == "running" and (status["rows_done"], status["rows_total"]) == (5, 12), status
    with app.app_context():
        assert records.reap_stale(db.engine, records.files_folder(app), STALE, huey=queue(app)) == 0
    (gate / "go").write_text("go")
    status = wait(admin, job_id)
    assert status["state"] == "done" and status["rows_done"] == 12
    assert _customers(app) == 0
    assert len(log_entries(app, action="delete", record_type="customer")) == 12


def test_an_undo_reaped_while_it_runs_commits_nothing_and_stays_failed(app, login_as, monkeypatch, tmp_path,
                                                                       job_worker, snapshot):
    """The clean-up lost sight of a running undo (its heartbeat unreadable for longer than the limit) and showed it
    failed: when the undo reaches its end, does it commit nothing, so that the failure shown is true and starting it
    again cannot undo twice?"""
    admin, job_id, gate = _paused_undo(app, login_as, monkeypatch, tmp_path, pause_at=1)
    before = snapshot()
    with app.app_context():  # no board given: the clean-up sees only the job row's old heartbeat
        later = utcnow() + timedelta(seconds=STALE + 60)
        assert records.reap_stale(db.engine, records.files_folder(app), STALE, now=later) == 1
    (gate / "go").write_text("go")
    wait_for(lambda: "lost" in _task_results(job_worker))  # the task ended, saying it committed nothing
    status = _status(admin, job_id)
    assert status["state"] == "failed" and "worker running this job stopped" in status["error"]
    assert {k: v for k, v in snapshot().items() if k != "job"} == {k: v for k, v in before.items() if k != "job"}
    assert _customers(app) == 12


def test_a_worker_killed_mid_undo_undoes_nothing_is_reaped_and_a_retry_undoes_once(
        app, database_url, jobs_queue, login_as, monkeypatch, tmp_path, huey, job_worker_later):
    """`flask crm worker` killed (-9) in the middle of a batch undo's transaction: while it lived, was it left
    running past the stale limit; once killed, is nothing undone, the job reaped as failed by the Jobs screen, and
    the undo started again done exactly once?"""
    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    monkeypatch.setitem(app.config, "CRM_JOB_STALE_SECONDS", STALE)
    _batch, first = _batch_of_new_customers(app, 12)
    admin = login_as("administrator")
    entries = len(log_entries(app))
    env = dict(os.environ, FLASK_APP="tests.jobs_app", CRM_TEST_WORKER_DB=database_url,
               CRM_TEST_WORKER_QUEUE=jobs_queue["CRM_JOBS_URL"], CRM_TEST_WORKER_NAME=jobs_queue["CRM_JOBS_NAME"],
               CRM_JOB_STALE_SECONDS=str(STALE), CRM_TEST_UNDO_GATE=str(tmp_path))
    with worker_process(env, ROOT) as process:
        job_id = _job_id(_undo_batch(admin, first))
        wait_for(lambda: (tmp_path / "paused").exists(), 90)
        deadline = utcnow() + timedelta(seconds=3 * STALE)
        while utcnow() < deadline:
            status = _status(admin, job_id)
            assert status["state"] == "running" and status["rows_done"] == 5, status
        kill_hard(process)
    wait_for(lambda: _status(admin, job_id)["state"] != "running", 10 * STALE)
    status = _status(admin, job_id)
    assert status["state"] == "failed" and "worker running this job stopped" in status["error"]
    assert _customers(app) == 12 and len(log_entries(app)) == entries

    job_worker_later()
    retry = _job_id(_undo_batch(admin, first))
    assert retry != job_id and wait(admin, retry, 60)["state"] == "done"
    assert _customers(app) == 0
    undone = log_entries(app, action="delete", record_type="customer")
    assert len(undone) == 12 and len({e.batch_id for e in undone}) == 1


def test_a_long_merge_keeps_its_heartbeat_and_once_reaped_commits_nothing(app, login_as, monkeypatch, tmp_path,
                                                                          job_worker):
    """A merge job still running past CRM_JOB_STALE_SECONDS: is it left running (its heartbeat on the board, its
    total shown); and once the clean-up has shown it failed regardless, does it merge nothing when it reaches its
    end?"""
    monkeypatch.setitem(app.config, "CRM_MERGE_IN_REQUEST_MAX", 3)
    monkeypatch.setitem(app.config, "CRM_JOB_STALE_SECONDS", STALE)
    monkeypatch.setattr(merge, "_move_records", gate(tmp_path, 1, merge._move_records))
    keep, dup, *_ = family(app)
    with app.app_context():
        for _ in range(6):
            factories.transaction(db.session.get(Customer, dup.id), amount=Decimal("10.00"))
    before = rows(app)
    admin = login_as("administrator")
    job_id = _job_id(post_merge(admin, [keep.id, dup.id], keep.id))
    wait_for(lambda: (tmp_path / "paused").exists())
    deadline = utcnow() + timedelta(seconds=3 * STALE)
    while utcnow() < deadline:
        status = _status(admin, job_id)
        assert status["state"] == "running" and status["rows_total"] > 3, status
    with app.app_context():  # no board given: the clean-up sees only the job row's old heartbeat
        later = utcnow() + timedelta(seconds=STALE + 60)
        assert records.reap_stale(db.engine, records.files_folder(app), STALE, now=later) == 1
    (tmp_path / "go").write_text("go")
    wait_for(lambda: "lost" in _task_results(job_worker))
    assert _status(admin, job_id)["state"] == "failed"
    assert rows(app) == before and log_entries(app, action="merge") == []


def test_cancelling_a_queued_job_while_an_import_holds_sqlites_lock_answers_at_once_and_it_never_runs(
        app, database_url, huey, login_as, monkeypatch, job_worker_later, snapshot):
    """On SQLite an import storing its rows holds the write lock for minutes: does Cancel on a queued undo answer at
    once (no 503), say the job will be cancelled, and does the worker then cancel it instead of undoing anything?"""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    _batch, first = _batch_of_new_customers(app, 8)
    admin = login_as("administrator")
    job_id = _job_id(_undo_batch(admin, first))
    before = snapshot()
    lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")  # what an import's transaction holds while it stores rows
        page = admin.get(f"/admin/jobs/job?id={job_id}").get_data(as_text=True)
        started = utcnow()
        response = admin.post("/admin/jobs/cancel", data={"id": job_id, "csrf_token": csrf_token(page)},
                              follow_redirects=True)
        assert response.status_code == 200 and utcnow() - started < timedelta(seconds=3)
        shown = response.get_data(as_text=True)
        assert "The job will be cancelled: it will not run." in shown
        assert "Queued, will be cancelled" in shown and 'action="/admin/jobs/cancel"' not in shown
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    job_worker_later()
    status = wait(admin, job_id)
    assert status["state"] == "cancelled"
    assert {k: v for k, v in snapshot().items() if k != "job"} == {k: v for k, v in before.items() if k != "job"}
    assert _customers(app) == 8
