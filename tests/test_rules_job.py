"""New tier and follow-up rules are applied to every customer by a job (real queue, real worker, real HTTP): one at a
time, the latest rules winning, with progress; the settings page links to it; only administrators start it."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crmadmin.extensions import db
from crmadmin.jobs import records, rules as rules_job
from crmadmin.models import Customer, CustomerStanding, Job, Setting, utcnow
from crmadmin.standing import bulk
from tests import factories
from tests.exporting import wait
from tests.forms import csrf_token, read_form, submit
from tests.jobs_app import gate, wait_for

ZH = {"Accept-Language": "zh-CN"}


def rules_jobs(app) -> list[Job]:
    with app.app_context():
        found = db.session.scalars(select(Job).where(Job.kind == "apply_rules").order_by(Job.id)).all()
        db.session.expunge_all()
        return found


def wait_rules(app, client, readings: list | None = None) -> dict:
    """Follow the latest job applying rules until it ends, as its page does: its last status."""
    return wait(client, rules_jobs(app)[-1].id, readings=readings)


def _buyers(app, count: int, amount: str = "5000") -> None:
    """`count` customers who each bought twice for `amount` (medium value under the default rules)."""
    with app.app_context():
        for n in range(count):
            customer = factories.customer(name=f"客户{n:04d}")
            factories.transaction(customer, amount=Decimal(amount))
            factories.transaction(customer, amount=Decimal(amount))


def _tiers(app) -> dict:
    with app.app_context():
        found = dict(db.session.execute(select(CustomerStanding.tier, func.count()).group_by(CustomerStanding.tier))
                     .all())
        db.session.remove()
        return found


def test_saved_rules_are_applied_by_a_job_whose_progress_rises_and_the_standings_follow(app, login_as, job_worker,
                                                                                         monkeypatch):
    """An administrator lowers the high-value minimum: does a job refresh all 120 customers (30 a batch), its
    progress rising to 120 of 120, and are they then high value, the cached totals cleared?"""
    monkeypatch.setattr(rules_job, "BATCH", 30)
    _buyers(app, 120)
    admin = login_as("administrator")
    assert admin.get("/admin/tiers/").status_code == 200  # the tier totals, cached under the old rules
    response = submit(admin, "/admin/settings/", {"high_min_amount": "5000", "high_min_orders": "2",
                                                  "medium_min_amount": "1000"})
    assert response.status_code == 302
    readings = []
    status = wait_rules(app, admin, readings)
    assert status["state"] == "done" and (status["rows_done"], status["rows_total"]) == (120, 120)
    done = [r["rows_done"] for r in readings]
    assert done == sorted(done), "progress went backwards"
    assert status["summary"] == "120 customers refreshed with the new rules."
    assert _tiers(app) == {"high": 120}
    assert ">120</a>" in admin.get("/admin/tiers/").get_data(as_text=True).replace('data-tier="high">', ">")


def test_progress_is_stored_batch_by_batch(app, login_as, job_worker, monkeypatch):
    """Does the job store its progress after each batch of customers (what the Jobs screen's bar reads)?"""
    monkeypatch.setattr(rules_job, "BATCH", 40)
    _buyers(app, 120)
    seen = []
    with app.app_context():
        original = rules_job.records.progress
    monkeypatch.setattr(rules_job.records, "progress", lambda engine, job_id, done: seen.append(done)
                        or original(engine, job_id, done))
    admin = login_as("administrator")
    submit(admin, "/admin/settings/", {"high_min_amount": "5000", "high_min_orders": "2"})
    assert wait_rules(app, admin)["state"] == "done"
    assert seen == [40, 80, 120]


def test_a_job_reaped_while_it_applies_rules_stops_at_its_next_range(app, login_as, job_worker, monkeypatch,
                                                                     tmp_path):
    """The clean-up showed a job applying rules failed while it still ran (its heartbeat unreadable): does it stop
    after the range in hand, as a killed one would have, instead of running on beside the next save's job?"""
    monkeypatch.setattr(rules_job, "BATCH", 40)
    _buyers(app, 120)
    ranges = []
    paused = gate(tmp_path, 2, bulk.refresh_range)
    monkeypatch.setattr(bulk, "refresh_range", lambda *args, **kwargs: ranges.append(1) or paused(*args, **kwargs))
    admin = login_as("administrator")
    submit(admin, "/admin/settings/", {"high_min_amount": "5000", "high_min_orders": "2"})
    wait_for(lambda: (tmp_path / "paused").exists())
    with app.app_context():  # no board given: the clean-up sees only the job row's heartbeat, an hour old
        assert records.reap_stale(db.engine, records.files_folder(app), 300, now=utcnow() + timedelta(hours=1)) == 1
    (tmp_path / "go").write_text("go")
    wait_for(lambda: "failed" in [job_worker.serializer.deserialize(v) for v in job_worker.all_results().values()])
    assert len(ranges) == 2  # the range in hand finished (its own transaction); the third never began
    assert rules_jobs(app)[-1].state == "failed"


def test_the_settings_page_says_the_rules_are_being_applied_and_links_to_the_job(app, login_as, job_worker_later):  # noqa: F811
    """While the job waits or runs, does the rules page say so in Chinese with a link to it, and not once it ended?
    Does a second save meanwhile find the same waiting job (which reads the latest rules when it starts)?"""
    _buyers(app, 3)
    admin = login_as("administrator")
    submit(admin, "/admin/settings/", {"high_min_amount": "9000"}, headers=ZH)
    job = rules_jobs(app)[-1]
    page = admin.get("/admin/settings/", headers=ZH).get_data(as_text=True)
    assert 'id="rules-applying"' in page and f'href="/admin/jobs/job?id={job.id}"' in page
    assert "正在将规则应用到所有客户" in page
    submit(admin, "/admin/settings/", {"high_min_amount": "5000", "high_min_orders": "2"}, headers=ZH)
    assert [j.id for j in rules_jobs(app)] == [job.id]  # the waiting job applies the latest rules
    job_worker_later()
    assert wait_rules(app, admin)["state"] == "done"
    assert _tiers(app) == {"high": 3}
    assert 'id="rules-applying"' not in admin.get("/admin/settings/").get_data(as_text=True)
    jobs = admin.get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    assert "将分级与回访规则应用到所有客户" in jobs and "已按新规则刷新 3 位客户" in jobs


def test_a_save_while_the_rules_are_being_applied_queues_a_follow_up_that_applies_the_latest(app, login_as, job_worker):
    """A job is running when the rules change again: is a second job queued (not lost, not run alongside), and do
    the standings end on the latest rules?"""
    _buyers(app, 3)
    admin = login_as("administrator")
    with app.app_context():  # as a worker would have claimed it: running, holding the running key
        first, _ = rules_job.records.start(db.engine, "apply_rules", factories.user("administrator").id, {},
                                           rules_job.QUEUED_KEY)
        assert rules_job.records.claim_alone(db.engine, first, rules_job.RUNNING_KEY) == "claimed"
    submit(admin, "/admin/settings/", {"high_min_amount": "5000", "high_min_orders": "2"})
    jobs = rules_jobs(app)
    assert len(jobs) == 2 and jobs[1].state in ("queued", "running")
    follow_up = jobs[1].id
    status = admin.get(f"/admin/jobs/status?id={follow_up}").get_json()
    assert status["state"] == "queued"  # it waits while the first one runs
    with app.app_context():  # the first one ends
        rules_job.records.conclude(db.engine, first, 0, {})
    assert wait(admin, follow_up)["state"] == "done"
    assert _tiers(app) == {"high": 3}


@pytest.mark.parametrize("role", ["supervisor", "clerk", "auditor"])
def test_a_non_administrators_save_changes_nothing_and_starts_no_job(app, login_as, snapshot, role):
    """Can anyone but an administrator save rules, or start the job applying them?"""
    _buyers(app, 2)
    admin = login_as("administrator")
    page = admin.get("/admin/settings/").get_data(as_text=True)
    client = login_as(role)
    data = {**read_form(page), "high_min_amount": "1",
            "csrf_token": csrf_token(client.get("/admin/").get_data(as_text=True))}
    before = snapshot()
    response = client.post("/admin/settings/", data=data)
    assert response.status_code in (302, 403)
    assert snapshot() == before
    assert rules_jobs(app) == []
    with app.app_context():
        assert db.session.scalar(select(Setting).where(Setting.key == "high_min_amount")) is None
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 2
