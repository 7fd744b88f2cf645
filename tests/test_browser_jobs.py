"""Does the Jobs screen work in a real browser: a progress bar that reaches 100%, then the file's link, at a laptop's
and a phone's width in Chinese?"""
import pytest
from playwright.sync_api import expect

from crmadmin.admin.base import SecureModelView
from tests import factories
from tests.test_browser import browser, live_server, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import _shot, open_page  # noqa: F401 (fixture)
from tests.test_export_jobs import _many_customers, empty_job_files  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_the_jobs_screen_shows_an_export_reach_100_percent_and_offers_its_file(app, live_server, open_page, job_worker,  # noqa: F811
                                                                              monkeypatch, width, height):
    """Export clicked in Chinese: does the job's bar rise to 100% by itself (static script, no reload by hand), the
    download link appear and fetch the file, and does the Jobs screen fit the width?"""
    monkeypatch.setattr(SecureModelView, "export_batch_rows", 20)
    with app.app_context():
        clerk = factories.user("administrator", display_name="张敏")
    _many_customers(app, count=1500)
    page = open_page(width, height)
    sign_in(page, live_server, clerk.username)
    page.goto(f"{live_server}/admin/customer/export/csv/")
    expect(page.locator("#job-title")).to_contain_text("CSV")
    expect(page.locator(".crm-job-download")).to_be_visible(timeout=30000)
    expect(page.locator("progress")).to_have_attribute("aria-valuenow", "100")
    with page.expect_download() as started:
        page.locator(".crm-job-download").click()
    assert started.value.suggested_filename.startswith("customer_")
    _shot(page, f"job-{width}")
    page.goto(f"{live_server}/admin/jobs/")
    expect(page.locator("#job-schedule")).to_be_visible()
    _shot(page, f"jobs-{width}")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
