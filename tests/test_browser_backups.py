"""Does Back up now work in a real browser, and does the Jobs screen's schedule show the backup row at a laptop's
and a phone's width in Chinese?"""
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.test_backup_jobs import backup_dir  # noqa: F401 (fixture)
from tests.test_browser import browser, live_server, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import _shot, open_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_an_administrator_backs_up_now_and_sees_it_in_the_schedule(app, live_server, open_page, job_worker,  # noqa: F811
                                                                   backup_dir, width, height):  # noqa: F811
    """Back up now clicked in Chinese: does the job end with its file named, and does the schedule's backup row say
    it succeeded, with the next run, fitting the width?"""
    with app.app_context():
        admin = factories.user("administrator", display_name="张敏")
    page = open_page(width, height)
    sign_in(page, live_server, admin.username)
    page.goto(f"{live_server}/admin/jobs/")
    page.get_by_role("button", name="立即备份").click()
    expect(page.locator("#job-title")).to_have_text("数据库备份")
    expect(page.locator(".crm-job-state")).to_have_text("已结束", timeout=30000)
    expect(page.locator(".crm-job-rows")).to_contain_text("crmadmin-")
    _shot(page, f"backup-job-{width}")
    page.goto(f"{live_server}/admin/jobs/")
    row = page.locator('tr[data-task="backup"]')
    expect(row).to_contain_text("数据库备份")
    expect(row).to_contain_text("成功")
    row.scroll_into_view_if_needed()
    _shot(page, f"backup-schedule-{width}")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
