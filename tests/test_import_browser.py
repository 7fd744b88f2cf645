"""The import's happy path in a real headless Chromium: upload, columns, preview, import, history."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories
from tests.imports import csv_bytes
from tests.test_browser import browser, live_server, page, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_supervisor_imports_a_chinese_customer_file(app, live_server, page, tmp_path):  # noqa: F811
    """Can a supervisor upload a CSV with Chinese headers, see it checked, import it and find it in the history?"""
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
    page.wait_for_url(re.compile(r"/admin/imports/$"))
    expect(page.locator(".alert-success")).to_contain_text("2 created, 0 updated, 0 unchanged, 1 rejected.")
    row = page.locator("#import-history tbody tr").first
    expect(row).to_contain_text("客户名单.csv")
    expect(row).to_contain_text(username)
    with app.app_context():
        names = set(db.session.scalars(select(Customer.name)))
    assert names == {"已有客户", "赵敏", "钱进"}
    row.locator("button", has_text="Undo").click()
    expect(page.locator(".alert-success")).to_contain_text("was undone (2 changes)")
    with app.app_context():
        assert set(db.session.scalars(select(Customer.name))) == {"已有客户"}
