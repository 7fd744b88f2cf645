"""My sessions in a real browser, in Chinese: the account page lists where the user is signed in, and signing out
another browser from it sends that browser to the sign-in page at its next click.

With CRM_SHOTS set, the list is photographed there at 1366×768 and 390×844, for a person to look at.
"""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from crmadmin.extensions import db
from tests import factories
from tests.conftest import sign_in as sign_in_client
from tests.test_browser import CHROMIUM_ARGS, TIMEOUT_MS, browser, live_server, sign_in  # noqa: F401 (fixtures)
from tests.test_sessions_list import ANDROID_WECHAT, IPHONE_SAFARI, WINDOWS_CHROME, device

pytestmark = pytest.mark.browser
LAPTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


def _page(browser, viewport, agent: str | None = None):
    context = browser.new_context(locale="zh-CN", viewport=viewport, **({"user_agent": agent} if agent else {}))
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def test_a_supervisor_signs_out_their_other_browser_from_the_account_page(app, live_server, browser):
    """Signed in on a Windows laptop and an iPhone, does the laptop's list show both in Chinese, and does signing out
    the iPhone from it send the iPhone to the sign-in page while the laptop stays in?"""
    with app.app_context():
        supervisor = factories.user("supervisor", locale="zh_CN")
    laptop, page = _page(browser, LAPTOP, WINDOWS_CHROME)
    phone, phone_page = _page(browser, PHONE, IPHONE_SAFARI)
    try:
        sign_in(phone_page, live_server, supervisor.username)
        sign_in(page, live_server, supervisor.username)
        page.goto(f"{live_server}/account/")
        items = page.locator("#session-list li")
        expect(items).to_have_count(2)
        expect(items.first).to_contain_text("Windows 上的 Chrome 131")
        expect(items.first).to_contain_text("当前会话")
        expect(items.nth(1)).to_contain_text("iOS 17 上的 Safari 17")
        items.nth(1).get_by_role("button", name="退出").click()
        expect(page.locator(".alert-success")).to_contain_text("已退出会话：iOS 17 上的 Safari 17。")
        expect(page.locator("#session-list li")).to_have_count(1)
        phone_page.goto(f"{live_server}/admin/")
        phone_page.wait_for_url(re.compile(r"/login"))
        page.goto(f"{live_server}/admin/")
        expect(page).to_have_url(re.compile(r"/admin/$"))
    finally:
        laptop.close()
        phone.close()


@pytest.mark.skipif(not os.environ.get("CRM_SHOTS"), reason="screenshots only when CRM_SHOTS is set")
def test_the_sessions_list_photographed_for_review(app, live_server, browser, monkeypatch):
    """The account page with four sessions (this one, an iPhone, WeChat on Android, an unknown client), zh_CN,
    laptop and phone."""
    shots = Path(os.environ["CRM_SHOTS"])
    shots.mkdir(parents=True, exist_ok=True)
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", "Asia/Shanghai")
    with app.app_context():
        clerk = factories.user("clerk", locale="zh_CN", display_name="王芳")
        username = clerk.username
    for address, agent in (("198.51.100.20", IPHONE_SAFARI), ("2001:db8:85a3::8a2e:370:7334", ANDROID_WECHAT),
                           ("192.0.2.99", "python-requests/2.32.3")):
        assert sign_in_client(device(app, address, agent), username).status_code == 302
    for label, viewport in (("1366", LAPTOP), ("390", PHONE)):
        context, page = _page(browser, viewport, WINDOWS_CHROME)
        try:
            sign_in(page, live_server, username)
            page.goto(f"{live_server}/account/#sessions")
            expect(page.locator("#session-list li")).to_have_count(4 if label == "1366" else 5)
            page.screenshot(path=str(shots / f"account-sessions-{label}.png"), full_page=True)
        finally:
            context.close()
    with app.app_context():
        db.session.remove()
