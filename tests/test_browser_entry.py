"""Entry that catches mistakes, in a real headless Chromium: a paste past a field's limit, the live duplicate check
and the sectioned customer form, in zh_CN on a laptop and a phone (issue 27)."""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories
from tests.test_browser import TIMEOUT_MS, browser, live_server, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture
def open_page(browser):  # noqa: F811
    """open_page(width, height) -> a page in a fresh zh-CN context of that viewport, with the clipboard allowed."""
    contexts = []

    def _open(width: int = 1366, height: int = 768):
        context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def _shots(tmp_path) -> Path:
    """Where screenshots go: CRM_SHOTS (the worktree's shots/, never committed) or the test's own folder."""
    folder = Path(os.environ.get("CRM_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _customers(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Customer))


def test_is_a_paste_past_the_limit_kept_whole_and_refused_not_cut(app, live_server, open_page):  # noqa: F811
    """A 2,000-character paste into the name: the field keeps all of it, counts it red, and the form is not sent."""
    with app.app_context():
        username = factories.user("clerk").username
    page = open_page()
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/customer/new/")
    name = page.locator("#name")
    expect(name).to_have_attribute("maxlength", "120")
    page.evaluate("text => navigator.clipboard.writeText(text)", "张" * 2000)
    name.focus()
    page.keyboard.press("Control+V")
    assert name.evaluate("input => input.value.length") == 2000  # the browser alone cuts it to 120
    counter = page.locator("#name ~ small .crm-count")
    expect(counter).to_have_text("2000 / 120")
    expect(counter).to_have_class("crm-count crm-over")
    page.click("form.admin-form input[type=submit]")
    assert "/admin/customer/new/" in page.url and _customers(app) == 0
    name.fill("张三")
    expect(counter).to_have_text("2 / 120")
    page.click("form.admin-form input[type=submit]")
    expect(page.locator(".alert-success")).to_be_visible()
    assert _customers(app) == 1


def test_does_the_customer_form_warn_of_a_duplicate_on_a_laptop_and_a_phone(app, live_server, open_page, tmp_path):  # noqa: F811
    """zh_CN at 1366×768 and 390×844: sections, the live warning while typing, and the warning on save (shots)."""
    with app.app_context():
        clerk = factories.user("clerk", display_name="张敏")
        other = factories.user("clerk", display_name="李娜")
        mine = factories.customer(name="王小明", owner_id=clerk.id, mobile="+8613812345678", email="wxm@example.com",
                                  region="华东", industry="零售")
        factories.customer(name="秘密客户甲", owner_id=other.id, mobile="+8613987654321", email="boss@example.com",
                           address="机密路 77 号", notes="只给负责人看的备注")
    shots = _shots(tmp_path)
    for width, height in ((1366, 768), (390, 844)):
        page = open_page(width, height)
        sign_in(page, live_server, clerk.username)
        page.goto(f"{live_server}/admin/customer/new/")
        expect(page.locator("fieldset.crm-section legend")).to_have_text(
            ["身份信息", "联系方式", "公司信息", "偏好与备注", "来源与负责人"])
        page.fill("#name", "王晓明")
        page.fill("#mobile", "138-1234-5678")
        live = page.locator("#mobile ~ .crm-taken")
        expect(live).to_contain_text("这个手机号码已属于 王小明")
        expect(live.locator("a")).to_have_attribute("href", f"/admin/customer/details/?id={mine.id}")
        page.fill("#email", "BOSS@example.com")
        expect(page.locator("#email ~ .crm-taken")).to_have_text(
            "这个电子邮箱已被 李娜 的客户使用。如果这确实是另一位客户，请让主管录入。")
        page.screenshot(path=str(shots / f"customer-form-live-{width}.png"))
        page.click("form.admin-form input[type=submit]")
        expect(page.locator("#mobile ~ .invalid-feedback")).to_contain_text("这个手机号码已属于 王小明")
        expect(page.locator("#email ~ .invalid-feedback")).to_contain_text("李娜 的客户")
        html = page.content()
        assert "秘密客户甲" not in html and "机密路" not in html and "只给负责人看的备注" not in html
        page.locator("#mobile").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"customer-form-duplicate-{width}x{height}.png"))
        page.screenshot(path=str(shots / f"customer-form-duplicate-{width}-full.png"), full_page=True)
        page.context.close()
    assert _customers(app) == 2

    # a supervisor is offered the second step, and may save the new customer with it
    with app.app_context():
        supervisor = factories.user("supervisor").username
    page = open_page(1366, 768)
    sign_in(page, live_server, supervisor)
    page.goto(f"{live_server}/admin/customer/new/")
    page.fill("#name", "王晓明")
    page.fill("#mobile", "13812345678")
    expect(page.locator("#mobile ~ .crm-taken")).to_contain_text("保存时会请您确认这是另一位客户")
    page.click("form.admin-form input[type=submit]")
    confirm = page.get_by_label("保存为另一位客户（我已核对）")
    confirm.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "customer-form-confirm-1366x768.png"))
    confirm.check()
    page.click("form.admin-form input[type=submit]")
    expect(page.locator(".alert-success")).to_be_visible()
    assert _customers(app) == 3
