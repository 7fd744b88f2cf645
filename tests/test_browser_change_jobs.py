"""Do the rules page and the Jobs screen read well in a real browser, in Chinese at a laptop's and a phone's width,
while new rules wait to be applied and once they, a large batch undo and a large merge have run as jobs?"""
import pytest
from playwright.sync_api import expect

from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories
from tests.exporting import JOB_ID, wait
from tests.forms import submit
from tests.test_browser import browser, live_server, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import _shot, open_page  # noqa: F401 (fixture)
from tests.test_change_jobs import _batch_of_new_customers, _undo_batch
from tests.test_merge import family, post_merge
from tests.test_rules_job import rules_jobs

pytestmark = pytest.mark.browser
ZH = {"Accept-Language": "zh-CN"}


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_the_rules_page_links_to_the_job_applying_them_and_the_jobs_screen_names_each_kind(  # noqa: F811
        app, live_server, open_page, login_as, job_worker_later, monkeypatch, width, height):
    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    monkeypatch.setitem(app.config, "CRM_MERGE_IN_REQUEST_MAX", 3)
    keep, dup, *_ = family(app)
    with app.app_context():
        for _ in range(4):
            factories.transaction(db.session.get(Customer, dup.id))
        reader = factories.user("administrator", display_name="张敏")
    _batch, first = _batch_of_new_customers(app, 1234)
    owner = login_as("administrator", display_name="李娜")
    jobs = [int(JOB_ID.search(_undo_batch(owner, first, ZH).headers["Location"]).group(1)),
            int(JOB_ID.search(post_merge(owner, [keep.id, dup.id], keep.id).headers["Location"]).group(1))]
    submit(owner, "/admin/settings/", {"high_min_amount": "9000"}, headers=ZH)
    jobs.append(rules_jobs(app)[-1].id)

    page = open_page(width, height)
    sign_in(page, live_server, reader.username)
    page.goto(f"{live_server}/admin/settings/")
    note = page.locator("#rules-applying")
    expect(note).to_contain_text("正在将规则应用到所有客户")
    _shot(page, f"rules-applying-{width}")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    note.locator("a").click()
    expect(page.locator("#job-title")).to_have_text("将分级与回访规则应用到所有客户")

    job_worker_later()
    for job_id in jobs:
        assert wait(owner, job_id, seconds=60)["state"] == "done"
    page.goto(f"{live_server}/admin/jobs/")
    table = page.locator("#jobs")
    expect(table).to_contain_text("已撤销 1,234 项更改。")
    expect(table).to_contain_text("将 2 位客户合并到")
    expect(table).to_contain_text("已按新规则刷新")
    expect(table).not_to_contain_text("文件已过期")  # work that leaves no file has none to expire
    _shot(page, f"jobs-kinds-{width}")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.goto(f"{live_server}/admin/settings/")
    expect(page.locator("#rules-applying")).to_have_count(0)


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_a_queued_undo_cancelled_while_an_import_holds_sqlites_lock_says_it_will_be_cancelled(  # noqa: F811
        app, database_url, huey, live_server, open_page, login_as, monkeypatch, width, height):
    """Cancel clicked on a queued undo while an import stores its rows (SQLite's write lock held): does the page come
    back at once saying, in Chinese, that the job will be cancelled and will not run, without a second Cancel?"""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    import sqlite3

    monkeypatch.setitem(app.config, "CRM_UNDO_IN_REQUEST_MAX", 5)
    _batch, first = _batch_of_new_customers(app, 8)
    owner = login_as("administrator", display_name="李娜")
    job_id = int(JOB_ID.search(_undo_batch(owner, first, ZH).headers["Location"]).group(1))
    page = open_page(width, height)
    sign_in(page, live_server, owner.username)
    page.goto(f"{live_server}/admin/jobs/job?id={job_id}")
    lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")  # what an import's transaction holds while it stores rows
        page.locator(".crm-job-cancel button").click()
        expect(page.locator("body")).to_contain_text("该任务将被取消，不会运行。")
        expect(page.locator(".crm-job-state").first).to_have_text("排队中，将被取消")
        expect(page.locator(".crm-job-cancel")).to_have_count(0)
        _shot(page, f"job-will-be-cancelled-{width}")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
    finally:
        lock.execute("ROLLBACK")
        lock.close()
