"""Working through follow-ups in a real headless Chromium (issue 28): a clerk logs a contact in the list's dialog and
the row moves to its next date without a reload; a bad entry is marked in the dialog and saves nothing; a reschedule
with a reason moves the row; the dialog is a keyboard-usable modal (focus inside, Tab kept in, Esc closes). Screens of
the list and the open dialog in zh_CN at 1366×768 and 390×844 go to CRM_SHOTS."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from crmadmin.extensions import db
from crmadmin.models import AuditEntry, CustomerStanding, Interaction, utcnow
from crmadmin.standing import today
from tests import factories
from tests.test_browser import TIMEOUT_MS, browser, live_server, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import OVERFLOW, _shot, open_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
URL = "/admin/followups/"


@pytest.fixture
def desk(app):
    """A clerk with three overdue customers (each with a contact that set the date) and a colleague's customer."""
    with app.app_context():
        clerk = factories.user("clerk", display_name="王伟")
        day = today()
        ids = {}
        for n, name in enumerate(("张敏", "李娜", "上海浦江国际物流与供应链管理咨询服务有限公司华东区域采购中心")):
            customer = factories.customer(name=name, owner_id=clerk.id, mobile=f"+861381234567{n}",
                                          created_at=utcnow() - timedelta(days=60))
            factories.interaction(customer, next_follow_up_on=day - timedelta(days=3 + n),
                                  summary="电话回访，客户对新产品很感兴趣，希望下周收到详细报价单和交货时间安排" * 2)
            ids[name] = customer.id
        return {"username": clerk.username, "ids": ids, "day": day}


def _row(page, name: str):
    return page.locator("table.model-list tbody tr", has=page.locator("td.col-customer", has_text=name))


def _contacts(app, customer_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Interaction).where(
            Interaction.customer_id == customer_id))


def _due(app, customer_id: int):
    with app.app_context():
        return db.session.get(CustomerStanding, customer_id).next_follow_up_on


def test_a_clerk_logs_a_contact_in_the_dialog_and_the_row_moves_to_its_next_date(app, live_server, open_page, desk):  # noqa: F811
    """Log contact → dialog (focus in it, Tab kept in) → a summary and a date in ten days → saved once, the row gone
    from the overdue list without a reload, a status said; the focus back on the list."""
    page = open_page(1366, 768)
    sign_in(page, live_server, desk["username"])
    page.goto(f"{live_server}{URL}?due=overdue")
    marker = page.evaluate("() => { window.crmNoReload = 1; return 1; }")
    row = _row(page, "张敏")
    expect(row.locator("td.col-customer\\.mobile a[href^='tel:']")).to_have_text("138 1234 5670")
    row.locator("a.log-contact").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    expect(dialog.locator("#crm-dialog-title")).to_contain_text("张敏")
    assert page.evaluate("() => document.getElementById('follow-up-dialog').contains(document.activeElement)")
    for _ in range(15):  # Tab around: the focus never leaves the dialog
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.getElementById('follow-up-dialog').contains(document.activeElement)")
    expect(dialog.get_by_label("摘要")).to_be_visible()  # fields named by their labels
    next_date = (desk["day"] + timedelta(days=10)).isoformat()
    dialog.get_by_label("摘要").fill("电话沟通，客户同意下周签约")
    dialog.get_by_label("下次回访").fill(next_date)
    dialog.get_by_label("下次回访").press("Escape")  # the picker's Esc closes the calendar, not the dialog
    expect(dialog).to_be_visible()
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, "张敏")).to_have_count(0)
    expect(page.locator("#follow-up-status")).to_contain_text("张敏")
    expect(page.locator("#follow-up-status")).to_have_attribute("aria-live", "polite")
    assert page.evaluate("() => window.crmNoReload") == marker  # the same page: no reload
    assert _contacts(app, desk["ids"]["张敏"]) == 2  # the old contact and this one, stored once
    assert _due(app, desk["ids"]["张敏"]).isoformat() == next_date
    assert page.evaluate("() => !!document.activeElement.closest('table.model-list')")  # the next row's button


def test_bad_input_in_the_dialog_is_marked_there_and_saves_nothing(app, live_server, open_page, desk):  # noqa: F811
    """No summary and today as the next date: the dialog shows both messages in Chinese, the field focused and
    described by its error; nothing saved; Esc closes and gives the focus back to the row's button."""
    page = open_page(1366, 768)
    sign_in(page, live_server, desk["username"])
    page.goto(f"{live_server}{URL}?due=overdue")
    customer_id = desk["ids"]["李娜"]
    _row(page, "李娜").locator("a.log-contact").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("下次回访").fill(desk["day"].isoformat())
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator(".invalid-feedback").first).to_be_visible()
    expect(dialog).to_contain_text("请")  # the messages in the user's language
    summary = dialog.get_by_label("摘要")
    expect(summary).to_have_attribute("aria-invalid", "true")
    expect(summary).to_be_focused()
    assert page.evaluate("id => document.getElementById(id).textContent",
                         summary.get_attribute("aria-describedby").split()[-1]).strip()
    assert _contacts(app, customer_id) == 1 and _due(app, customer_id) == desk["day"] - timedelta(days=4)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(_row(page, "李娜").locator("a.log-contact")).to_be_focused()


def test_a_reschedule_with_a_reason_moves_the_row(app, live_server, open_page, desk):  # noqa: F811
    """Reschedule → no reason: refused in the dialog; a reason from the list and a date in a week → the row leaves the
    overdue list and the reason is in the operation log."""
    page = open_page(1366, 768)
    sign_in(page, live_server, desk["username"])
    page.goto(f"{live_server}{URL}?due=overdue")
    customer_id = desk["ids"]["李娜"]
    _row(page, "李娜").locator("a.reschedule").click()
    dialog = page.get_by_role("dialog")
    new_date = (desk["day"] + timedelta(days=7)).isoformat()
    dialog.get_by_label("新的回访日期").fill(new_date)
    dialog.get_by_label("新的回访日期").press("Tab")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_contain_text("请填写回访改期的原因。")
    assert _due(app, customer_id) == desk["day"] - timedelta(days=4)
    dialog.get_by_label("原因").fill("客户外出或休假")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, "李娜")).to_have_count(0)
    assert _due(app, customer_id).isoformat() == new_date
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "follow_up_rescheduled")).one()
        assert "客户外出或休假" in entry.changes and entry.record_id == str(customer_id)


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_the_list_and_the_open_dialog_fit_the_screen(app, live_server, open_page, desk, width, height):  # noqa: F811
    """zh_CN, a 36-character name and 90-character summaries: the list with phone, tier, last contact and due, for the
    clerk and for a supervisor (an owner column more), and the open dialog, without sideways scrolling; the dialog
    inside the screen's width."""
    with app.app_context():
        supervisor = factories.user("supervisor", display_name="赵主管").username
    page = open_page(width, height)
    sign_in(page, live_server, supervisor)
    page.goto(live_server + URL)
    expect(page.locator("table.model-list tbody tr").first).to_be_visible()
    _shot(page, f"followups-dialog-list-{width}-supervisor")
    assert page.evaluate(OVERFLOW) == {"page": 0, "box": 0}
    page.context.clear_cookies()
    sign_in(page, live_server, desk["username"])
    page.goto(live_server + URL)
    expect(page.locator("table.model-list tbody tr").first).to_be_visible()
    _shot(page, f"followups-dialog-list-{width}")
    assert page.evaluate(OVERFLOW) == {"page": 0, "box": 0}
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    _row(page, "张敏").locator("a.log-contact").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    _shot(page, f"followups-dialog-log-{width}")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate(overflow) == 0
    page.keyboard.press("Escape")
    _row(page, "张敏").locator("a.reschedule").click()
    expect(dialog).to_be_visible()
    _shot(page, f"followups-dialog-reschedule-{width}")


def _tab_count(page, bucket: str):
    return page.locator(f".follow-up-buckets a[data-bucket='{bucket}'] .badge")


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_a_never_contacted_customer_is_rescheduled_and_the_tabs_count_again(
        app, live_server, open_page, desk, width, height):  # noqa: F811
    """A customer nobody has called yet (overdue by the cadence after registration): Reschedule → a date and a reason
    → the row leaves the overdue list and the tab says one fewer, without a reload; logging a contact in the dialog
    lowers it again; the tab list is a polite live region."""
    with app.app_context():
        clerk_id = db.session.scalar(select(factories.User.id).where(factories.User.username == desk["username"]))
        never = factories.customer(name="陈静", owner_id=clerk_id, mobile="+8613912345678",
                                   created_at=utcnow() - timedelta(days=30)).id
    page = open_page(width, height)
    sign_in(page, live_server, desk["username"])
    page.goto(f"{live_server}{URL}?due=overdue")
    marker = page.evaluate("() => { window.crmNoReload = 2; return 2; }")
    expect(_tab_count(page, "overdue")).to_have_text("4")
    expect(page.locator(".follow-up-buckets")).to_have_attribute("aria-live", "polite")
    _row(page, "陈静").locator("a.reschedule").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#crm-dialog-title")).to_contain_text("陈静")
    _shot(page, f"followups-reschedule-never-contacted-{width}")
    new_date = (desk["day"] + timedelta(days=9)).isoformat()
    dialog.get_by_label("新的回访日期").fill(new_date)
    dialog.get_by_label("新的回访日期").press("Tab")
    dialog.get_by_label("原因").fill("客户外出或休假")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, "陈静")).to_have_count(0)
    expect(_tab_count(page, "overdue")).to_have_text("3")
    assert _due(app, never).isoformat() == new_date and _contacts(app, never) == 0
    _row(page, "张敏").locator("a.log-contact").click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("摘要").fill("电话沟通，客户同意下周签约")
    dialog.get_by_label("下次回访").fill((desk["day"] + timedelta(days=2)).isoformat())
    dialog.get_by_label("下次回访").press("Escape")
    dialog.locator("button[type=submit]").click()
    expect(dialog).to_be_hidden()
    expect(_tab_count(page, "overdue")).to_have_text("2")
    expect(_tab_count(page, "week")).to_have_text("1")
    assert page.evaluate("() => window.crmNoReload") == marker
    _shot(page, f"followups-counts-after-saves-{width}")
    assert page.evaluate(OVERFLOW) == {"page": 0, "box": 0}
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "follow_up_rescheduled",
                                                            AuditEntry.record_id == str(never))).one()
        assert "客户外出或休假" in entry.changes
