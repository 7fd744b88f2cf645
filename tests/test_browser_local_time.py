"""Local time in a real browser, in Chinese at a laptop's 1366×768: a clerk logs a contact at 17:24 and reads
17:24 on the customer's page; the operation log says 17:24 too.

With CRM_SHOTS set, the screens that changed (log-contact form, a list with times, the account page's zone)
are also photographed there at 1366×768 and 390×844, for a person to look at.
"""
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.localtime import now_local
from crmadmin.models import Interaction, User, utcnow
from tests import factories
from tests.test_browser import CHROMIUM_ARGS, TIMEOUT_MS, browser, live_server, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
LAPTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


def _page(browser, viewport):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def test_a_clerk_logs_a_contact_at_local_time_and_reads_it_back(app, live_server, browser, monkeypatch):
    """In zh_CN, Shanghai time: 17:24 typed in the log-contact form is 09:24 UTC stored, and 17:24 on the customer's
    page and in the operation log entry of the contact?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", "Asia/Shanghai")
    with app.app_context():
        clerk = factories.user("clerk", locale="zh_CN", display_name="王芳")
        auditor = factories.user("auditor", locale="zh_CN")
        customer = factories.customer(name="吴桂珍", owner_id=clerk.id)
        day = (now_local() - timedelta(days=1)).date()  # yesterday: 17:24 today may not have come yet
    typed = f"{day.isoformat()} 17:24"

    context, page = _page(browser, LAPTOP)
    try:
        sign_in(page, live_server, clerk.username)
        page.goto(f"{live_server}/admin/followups/log/?id={customer.id}")
        expect(page.locator("label[for=occurred_at]")).to_have_text(re.compile(r"^时间"))
        expect(page.locator("form#log-contact")).to_contain_text("本地时间：中国（上海）时间")
        expect(page.locator("#occurred_at")).to_have_attribute("data-picker", "datetime")
        page.fill("#occurred_at", typed)
        page.fill("#summary", "电话回访，客户满意")
        page.click("form#log-contact button[type=submit]")
        expect(page.locator(".alert-success")).to_be_visible()
        with app.app_context():
            [contact] = db.session.scalars(select(Interaction).where(Interaction.customer_id == customer.id)).all()
            assert contact.occurred_at.strftime("%H:%M") == "09:24"

        page.goto(f"{live_server}/admin/customer/details/?id={customer.id}")
        expect(page.locator("#timeline")).to_contain_text(typed)
        expect(page.locator("body")).not_to_contain_text(f"{day.isoformat()} 09:24")
    finally:
        context.close()

    context, page = _page(browser, LAPTOP)
    try:
        sign_in(page, live_server, auditor.username)
        view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "auditentry")
        with app.test_request_context():
            log_url = view.filter_url(record_type="interaction", record_id=str(contact.id))
        page.goto(f"{live_server}{log_url}")
        page.locator("table.model-list a[href*='/details/']").first.click()
        page.wait_for_url(re.compile(r"/admin/auditentry/details/"))
        expect(page.locator("body")).to_contain_text(typed)
    finally:
        context.close()


@pytest.mark.skipif(not os.environ.get("CRM_SHOTS"), reason="screenshots only when CRM_SHOTS is set")
def test_screens_with_times_photographed_for_review(app, live_server, browser, monkeypatch):
    """The log-contact form, the interactions list and the account page's zone, in zh_CN, laptop and phone."""
    shots = Path(os.environ["CRM_SHOTS"])
    shots.mkdir(parents=True, exist_ok=True)
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", "Asia/Shanghai")
    with app.app_context():
        clerk = factories.user("clerk", locale="zh_CN", display_name="王芳")
        customer = factories.customer(name="吴桂珍", owner_id=clerk.id, region="华东")
        for days in range(1, 6):
            factories.interaction(customer, summary=f"第 {days} 次电话回访", handled_by_id=clerk.id,
                                  occurred_at=utcnow() - timedelta(days=days * 7, minutes=days * 97))
        clerk_id = clerk.id
    for label, viewport in (("1366", LAPTOP), ("390", PHONE)):
        context, page = _page(browser, viewport)
        try:
            sign_in(page, live_server, clerk.username)
            page.goto(f"{live_server}/admin/followups/log/?id={customer.id}")
            page.screenshot(path=str(shots / f"log-contact-{label}.png"), full_page=True)
            page.goto(f"{live_server}/admin/interaction/")
            page.screenshot(path=str(shots / f"interactions-list-{label}.png"), full_page=True)
            page.goto(f"{live_server}/account/")
            page.screenshot(path=str(shots / f"account-zone-{label}.png"), full_page=True)
        finally:
            context.close()
    with app.app_context():
        assert db.session.get(User, clerk_id).timezone is None
