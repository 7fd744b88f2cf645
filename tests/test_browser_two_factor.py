"""Two-factor sign-in in a real Chromium: set up from the page as a phone would, then sign in with a code."""
import os
import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.test_browser import TIMEOUT_MS, browser, live_server, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

VIEWPORTS = [{"width": 1366, "height": 768}, {"width": 390, "height": 844}]


def _shot(page, name: str) -> None:
    """A full-page screenshot into CRM_SHOTS, when it is set."""
    if os.environ.get("CRM_SHOTS"):
        folder = Path(os.environ["CRM_SHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_a_supervisor_turns_two_factor_on_and_signs_in_with_a_code(app, live_server, browser, viewport):  # noqa: F811
    """Can a supervisor turn on two-factor sign-in from the page (reading its key as an app would), then sign in?"""
    with app.app_context():
        user = factories.user("supervisor")
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    size = f"{viewport['width']}"
    try:
        page.goto(f"{live_server}/login")
        page.fill("#username", user.username)
        page.fill("#password", factories.PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(re.compile(r"/admin/?$"))
        page.goto(f"{live_server}/account/")
        page.click("#two-factor-set-up")
        page.wait_for_url(re.compile(r"/account/two-factor$"))
        expect(page.locator("svg.two-factor-qr")).to_be_visible()  # drawn under the CSP, no outside service
        assert page.locator("svg.two-factor-qr").bounding_box()["width"] > 150
        expect(page.locator("h1")).to_have_text("设置两步验证")
        expect(page.get_by_text("腾讯身份验证器", exact=False)).to_be_visible()
        _fits(page)
        _shot(page, f"two-factor-setup-zh-{size}")
        secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)
        page.fill("#code", totp.now())
        page.click("#two-factor-form button[type=submit]")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        _fits(page)
        _shot(page, f"two-factor-recovery-codes-zh-{size}")
        page.click("#two-factor-done")
        page.wait_for_url(re.compile(r"/admin/?$"))
        if viewport["width"] < 768:  # the navigation folds into its toggle on a phone
            page.click(".navbar-toggler")
        page.click("#sign-out")
        page.wait_for_url(re.compile(r"/login$"))

        page.fill("#username", user.username)
        page.fill("#password", factories.PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_url(re.compile(r"/login/code$"))
        expect(page.locator("h1")).to_contain_text("登录验证码")
        _fits(page)
        _shot(page, f"two-factor-code-zh-{size}")
        page.fill("#code", totp.at(time.time() + totp.interval))  # the next window's: set-up spent this one's
        page.click("#code-form button[type=submit]")
        page.wait_for_url(re.compile(r"/admin/?$"))
        expect(page.locator("#sign-out")).to_be_attached()  # signed in

        page.goto(f"{live_server}/account/two-factor")  # later: the list of recovery codes is used up, or lost
        expect(page.locator("#recovery-codes-left")).to_have_text("还剩 10 个未用的恢复码。")
        _fits(page)
        _shot(page, f"two-factor-on-zh-{size}")
        page.fill("#codes-password", factories.PASSWORD)
        page.click("#recovery-codes-form button[type=submit]")
        expect(page.locator("h1")).to_have_text("您的新恢复码")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        _fits(page)
        _shot(page, f"two-factor-new-codes-zh-{size}")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_the_users_list_shows_who_has_two_factor_on_and_fits(app, live_server, browser, viewport):  # noqa: F811
    """Can an administrator see at a glance, on a laptop or a phone, who has two-factor sign-in on?"""
    with app.app_context():
        admin = factories.user("administrator", display_name="系统管理员")
        for number, name in enumerate(("张敏", "李娜", "王伟")):
            factories.user("clerk", display_name=name, two_factor=number == 0)
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        sign_in(page, live_server, admin.username)
        page.goto(f"{live_server}/admin/user/")
        expect(page.locator("table.model-list tbody tr").first).to_be_visible()
        expect(page.locator("table.model-list td.col-two_factor", has_text="已开启")).to_have_count(2)  # and the admin
        expect(page.locator("table.model-list td.col-two_factor", has_text="未开启")).to_have_count(2)
        _fits(page)
        _shot(page, f"users-two-factor-zh-{viewport['width']}")
    finally:
        context.close()
