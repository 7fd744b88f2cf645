"""The import's happy path in a real headless Chromium: upload, columns, preview, import (a job), history, undo;
and an import's job watched to 100% in Chinese at a laptop's and a phone's width."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories
from tests.imports import csv_bytes
from tests.test_browser import browser, live_server, page, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import _shot, open_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_a_supervisor_imports_a_chinese_customer_file(app, live_server, page, tmp_path, job_worker):  # noqa: F811
    """Can a supervisor upload a CSV with Chinese headers, see it checked, import it (a job, followed on its page) and
    find it in the history, then undo it the same way?"""
    with app.app_context():
        username = factories.user("supervisor").username
        factories.customer(name="已有客户", mobile="+8613800009999")
    path = tmp_path / "客户名单.csv"
    path.write_bytes(csv_bytes([["姓名", "手机", "邮箱", "来源"], ["赵敏", "13800001111", "zhao@example.com", "展会"],
                                ["钱进", "13800002222", "", "官网"], ["重复", "13800009999", "", ""]],
                               encoding="gb18030"))
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/imports/")
    page.select_option("#import-kind", "customers")
    page.set_input_files("#import-file", str(path))
    page.click("#import-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/imports/map\?id="))
    expect(page.locator("#column-0 option:checked")).to_have_text("Name *")
    expect(page.locator("#column-1 option:checked")).to_have_text("Mobile phone")
    expect(page.locator("#column-3 option:checked")).to_have_text("Source channel")
    page.click("#import-map button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/imports/preview\?id="))
    expect(page.locator('[data-count="create"]')).to_have_text("2")
    expect(page.locator('[data-count="invalid"]')).to_have_text("1")
    expect(page.locator('tr[data-row="4"] td[data-problem="mobile"]')).to_contain_text("has this value already")
    page.check("#valid-only")
    page.click("#import-confirm")
    page.wait_for_url(re.compile(r"/admin/jobs/job\?id="))
    expect(page.locator(".crm-job-outcome")).to_contain_text("2 created, 0 updated, 0 unchanged, 1 rejected.")
    page.click(".crm-job-back")
    page.wait_for_url(re.compile(r"/admin/imports/$"))
    row = page.locator("#import-history tbody tr").first
    expect(row).to_contain_text("客户名单.csv")
    expect(row).to_contain_text(username)
    with app.app_context():
        names = set(db.session.scalars(select(Customer.name)))
    assert names == {"已有客户", "赵敏", "钱进"}
    row.locator("button", has_text="Undo").click()
    page.wait_for_url(re.compile(r"/admin/jobs/job\?id="))
    expect(page.locator(".crm-job-outcome")).to_contain_text("was undone (2 changes)")
    with app.app_context():
        assert set(db.session.scalars(select(Customer.name))) == {"已有客户"}


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_an_import_job_is_watched_to_100_percent_in_chinese(app, live_server, open_page, job_worker, monkeypatch,  # noqa: F811
                                                              tmp_path, width, height):
    """Import pressed in Chinese: does the job's bar rise to 100% by itself, the outcome appear in Chinese with the
    way back to the history one click away, and do the job, the Jobs list and the history fit the width?"""
    monkeypatch.setitem(app.config, "CRM_IMPORT_FLUSH_ROWS", 50)
    with app.app_context():
        username = factories.user("supervisor", display_name="张敏").username
    path = tmp_path / "华东客户名单.csv"
    path.write_bytes(csv_bytes([["姓名", "手机"]] + [[f"华东客户{i:04d}", f"139{i:08d}"] for i in range(1500)]))
    page = open_page(width, height)
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/imports/")
    page.set_input_files("#import-file", str(path))
    page.click("#import-upload button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/imports/map\?id="))
    page.click("#import-map button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/imports/preview\?id="))
    page.click("#import-confirm")
    page.wait_for_url(re.compile(r"/admin/jobs/job\?id="))
    expect(page.locator("#job-title")).to_contain_text("华东客户名单.csv")
    _shot(page, f"import-job-running-{width}")
    expect(page.locator(".crm-job-outcome")).to_contain_text("新建 1500 条", timeout=60000)
    expect(page.locator("progress")).to_have_attribute("aria-valuenow", "100")
    _shot(page, f"import-job-{width}")
    for address, name in (("/admin/jobs/", "jobs-with-import"), ("/admin/imports/", "imports-history")):
        page.goto(f"{live_server}{address}")
        _shot(page, f"{name}-{width}")
        assert "Import of" not in page.content() and "Imported" not in page.content()
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (address, overflow)
    page.goto(f"{live_server}/admin/jobs/")
    page.click("#jobs a[href*='/admin/jobs/job']")
    page.click(".crm-job-back")
    expect(page.locator("#import-history tbody tr").first).to_contain_text("华东客户名单.csv")
