"""Do backups run on the queue: each day at CRM_BACKUP_AT, once whatever the workers, keeping the newest N, and by
hand from the Jobs screen for administrators alone? Real queue, real worker, real backups (SQLite or pg_dump)."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crmadmin.backup import check, default_path, dialect_of, file_kind, take
from crmadmin.extensions import db
from crmadmin.jobs import backups, queue, records
from crmadmin.jobs.backups import ERROR_KEY, FILE_KEY, OUTCOME_KEY
from crmadmin.models import Job, Setting, utcnow
from tests import factories
from tests.exporting import JOB_ID, wait
from tests.forms import csrf_token
from tests.jobs_app import gate, wait_for

ZH = {"Accept-Language": "zh-CN"}
# 02:30 on 8 December 2026 in Asia/Shanghai (the test config's CRM_TIMEZONE), as the scheduler's naive UTC clock
AT_0230 = datetime(2026, 12, 7, 18, 30)


@pytest.fixture
def backup_dir(app, tmp_path):
    """Backups on, into a fresh folder, keeping the newest 3; off again after the test."""
    folder = tmp_path / "backups"
    folder.mkdir()
    saved = {key: app.config[key] for key in ("CRM_BACKUP_DIR", "CRM_BACKUP_KEEP", "CRM_BACKUP_AT")}
    app.config.update(CRM_BACKUP_DIR=str(folder), CRM_BACKUP_KEEP=3, CRM_BACKUP_AT="02:30")
    yield folder
    app.config.update(saved)


def outcomes(caplog) -> list[str]:
    return [r.getMessage().rsplit(": ", 1)[-1].split(",")[0] for r in caplog.records
            if r.name == "crmadmin.jobs.backups" and r.getMessage().startswith("Scheduled backup")]


def run_due(huey, caplog, moment: datetime, copies: int = 1) -> list[str]:
    """Enqueue the backup if the scheduler finds it due at `moment` (`copies` times: one per worker's scheduler),
    and wait until the workers have run every copy."""
    before = len(outcomes(caplog))
    tasks = [task for _ in range(copies) for task in huey.read_periodic(moment) if task.name == "backup"]
    for task in tasks:
        huey.enqueue(task)
    wait_for(lambda: len(outcomes(caplog)) - before == len(tasks))
    return sorted(outcomes(caplog)[before:])


def backups_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def settings(app) -> dict:
    with app.app_context():
        found = dict(db.session.execute(select(Setting.key, Setting.value)).all())
        db.session.remove()
        return found


def jobs(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Job))
        db.session.remove()
        return count


def older_backups(app, folder: Path, days: int) -> list[str]:
    """Real backups as if taken at 02:30 on each of the `days` days before: the files the keep-N rule counts."""
    with app.app_context():
        dialect = dialect_of(db.engine.url)
        names = []
        for day in range(days, 0, -1):
            when = datetime(2026, 12, 7, 18, 30, tzinfo=timezone.utc) - timedelta(days=day)
            names.append(take(db.engine, default_path(folder, dialect, when), folder,
                              app.config["CRM_PG_BIN_DIR"]).path.name)
        db.session.remove()
    return names


def test_the_backup_is_due_at_its_business_time_and_never_while_backups_are_off(app, huey, backup_dir):
    """Is the backup due at CRM_BACKUP_AT in CRM_TIMEZONE (18:30 UTC for 02:30 in Shanghai), not a minute either
    side, and never while CRM_BACKUP_DIR is unset?"""
    def due(moment):
        return [task.name for task in huey.read_periodic(moment) if task.name == "backup"]

    assert due(AT_0230) == ["backup"]
    assert due(AT_0230 - timedelta(minutes=1)) == due(AT_0230 + timedelta(minutes=1)) == []
    assert due(datetime(2026, 12, 8, 2, 30)) == []  # 02:30 UTC is 10:30 in Shanghai
    app.config["CRM_BACKUP_AT"] = "23:15"
    assert due(datetime(2026, 12, 7, 15, 15)) == ["backup"] and due(AT_0230) == []
    app.config["CRM_BACKUP_DIR"] = None
    assert due(datetime(2026, 12, 7, 15, 15)) == []


def test_a_worker_backs_up_when_the_time_comes_and_keeps_the_newest_n(app, huey, worker, backup_dir, caplog,
                                                                      login_as):
    """At 02:30 does a real worker write a real backup of the database, delete all but the newest 3, and show the
    run in the administrators' schedule?"""
    caplog.set_level("INFO", "crmadmin.jobs")
    with app.app_context():
        factories.customer(name="Kept in the backup")
    older = older_backups(app, backup_dir, 4)
    worker()
    assert run_due(huey, caplog, AT_0230 - timedelta(minutes=1)) == []
    assert backups_in(backup_dir) == older
    assert run_due(huey, caplog, AT_0230) == ["done"]
    stored = settings(app)
    assert (stored[OUTCOME_KEY], stored[ERROR_KEY]) == ("ok", "")
    made = stored[FILE_KEY]
    assert made not in older and backups_in(backup_dir) == sorted([*older[-2:], made])  # the newest 3
    with app.app_context():
        assert file_kind(backup_dir / made) == dialect_of(db.engine.url)
        check(db.engine, backup_dir / made, app.config["CRM_PG_BIN_DIR"])  # a crmadmin backup this panel restores
    page = login_as("administrator").get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    row = page.split('data-task="backup"', 1)[1].split("</tr>", 1)[0]
    assert "数据库备份" in row and "成功" in row and made in page


def test_two_workers_make_one_backup_a_day(app, huey, worker, backup_dir, caplog):
    """Each worker's scheduler enqueues the 02:30 backup: with two workers, is one backup made?"""
    caplog.set_level("INFO", "crmadmin.jobs")
    worker()
    worker()
    assert run_due(huey, caplog, AT_0230, copies=2) == ["done", "skipped"]
    assert len(backups_in(backup_dir)) == 1


def test_a_failed_backup_warns_administrators_until_one_succeeds(app, huey, worker, backup_dir, caplog, login_as,
                                                                 tmp_path):
    """When the backup cannot be written (its folder is a file), is the reason kept, the day given back, and are
    administrators warned (in Chinese too), clerks not, until a backup succeeds?"""
    caplog.set_level("INFO", "crmadmin.jobs")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    app.config["CRM_BACKUP_DIR"] = str(blocked)
    worker()
    assert run_due(huey, caplog, AT_0230) == ["failed"]
    stored = settings(app)
    assert stored[OUTCOME_KEY] == "failed" and "not-a-folder" in stored[ERROR_KEY]
    admin, clerk = login_as("administrator"), login_as("clerk")
    for path in ("/admin/", "/admin/jobs/"):
        page = admin.get(path).get_data(as_text=True)
        assert 'id="backup-warning"' in page and "not-a-folder" in page, path
    assert "数据库备份失败" in admin.get("/admin/", headers=ZH).get_data(as_text=True)
    assert 'id="backup-warning"' not in clerk.get("/admin/").get_data(as_text=True)

    app.config["CRM_BACKUP_DIR"] = str(backup_dir)  # mended: the day was given back, the next run backs up
    assert run_due(huey, caplog, AT_0230) == ["done"]
    assert len(backups_in(backup_dir)) == 1
    assert 'id="backup-warning"' not in admin.get("/admin/").get_data(as_text=True)


def test_an_administrator_backs_up_now_from_the_jobs_screen(app, login_as, backup_dir, job_worker):
    """Does Back up now (POST with CSRF) run a backup job to its end, showing its file, never offered for download;
    and does a second click while it is queued find the same job?"""
    admin = login_as("administrator")
    page = admin.get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    assert "立即备份" in page
    assert admin.post("/admin/jobs/backup").status_code == 400 and jobs(app) == 0  # no CSRF token: nothing
    response = admin.post("/admin/jobs/backup", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    job_id = int(JOB_ID.search(response.headers["Location"]).group(1))
    status = wait(admin, job_id)
    assert status["state"] == "done" and status["download"] is None, status
    made = backups_in(backup_dir)
    assert len(made) == 1 and made[0] in status["rows_text"]
    assert settings(app)[FILE_KEY] == made[0]
    assert admin.get(f"/admin/jobs/download?id={job_id}").status_code == 404
    assert "数据库备份" in admin.get(f"/admin/jobs/job?id={job_id}", headers=ZH).get_data(as_text=True)


def test_a_long_backup_keeps_its_heartbeat_and_one_finished_after_a_reap_says_done(app, login_as, backup_dir,
                                                                                 job_worker, monkeypatch, tmp_path):
    """A backup still running past CRM_JOB_STALE_SECONDS (a long pg_dump): is it left running; and one the clean-up
    showed failed regardless (its heartbeat unreadable), which then writes its file, shown done with that file?"""
    monkeypatch.setitem(app.config, "CRM_JOB_STALE_SECONDS", 1)
    monkeypatch.setattr(backups, "back_up", gate(tmp_path, 1, backups.back_up))
    admin = login_as("administrator")
    token = csrf_token(admin.get("/admin/jobs/").get_data(as_text=True))
    job_id = int(JOB_ID.search(admin.post("/admin/jobs/backup", data={"csrf_token": token})
                               .headers["Location"]).group(1))
    wait_for(lambda: (tmp_path / "paused").exists())
    deadline = utcnow() + timedelta(seconds=3)
    while utcnow() < deadline:
        assert admin.get(f"/admin/jobs/status?id={job_id}").get_json()["state"] == "running"
    with app.app_context():  # no board given: the clean-up sees only the job row's old heartbeat
        assert records.reap_stale(db.engine, records.files_folder(app), 1, now=utcnow() + timedelta(minutes=1)) == 1
    (tmp_path / "go").write_text("go")
    wait_for(lambda: admin.get(f"/admin/jobs/status?id={job_id}").get_json()["state"] == "done")
    status = admin.get(f"/admin/jobs/status?id={job_id}").get_json()
    assert status["error"] == "" and backups_in(backup_dir)[0] in status["rows_text"]
    assert records.progress_of(queue(app), job_id) is None  # nothing left on the board


def test_back_up_now_while_backups_are_off_says_so_and_starts_nothing(app, login_as):
    """With CRM_BACKUP_DIR unset, does the Jobs screen say backups are off, and Back up now start no job?"""
    admin = login_as("administrator")
    page = admin.get("/admin/jobs/", headers=ZH).get_data(as_text=True)
    assert 'id="backup-off"' in page and "CRM_BACKUP_DIR" in page and "立即备份" not in page
    response = admin.post("/admin/jobs/backup", data={"csrf_token": csrf_token(page)}, headers=ZH,
                          follow_redirects=True)
    assert response.status_code == 200 and "备份已关闭" in response.get_data(as_text=True)
    assert jobs(app) == 0


@pytest.mark.parametrize("role", ["supervisor", "clerk", "auditor"])
def test_no_one_but_an_administrator_may_start_a_backup(app, login_as, backup_dir, role):
    """Can a supervisor, clerk or auditor start a backup (a forged POST with a valid token)? 403, no job, no file."""
    client = login_as(role)
    token = csrf_token(client.get("/admin/jobs/").get_data(as_text=True))
    assert client.post("/admin/jobs/backup", data={"csrf_token": token}).status_code == 403
    assert jobs(app) == 0 and backups_in(backup_dir) == []
