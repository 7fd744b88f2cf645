"""The one date and time picker in a real Chromium: its language, its buttons, typing, and saving what it fills."""
import re
from datetime import date, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Customer, Interaction
from tests import factories
from tests.test_browser import CHROMIUM_ARGS, TIMEOUT_MS, browser, live_server, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

CALENDAR = ".flatpickr-calendar.open"


@pytest.fixture
def open_page(browser):
    """open_page(locale, width, height) -> a fresh page whose browser asks for that language; every CSP violation
    and script error it meets is collected in page.problems."""
    contexts = []

    def _open(locale: str = "zh-CN", width: int = 1366, height: int = 768):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda message: page.problems.append(message.text)
                if "Content Security Policy" in message.text else None)
        page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
        return page

    yield _open
    for context in contexts:
        context.close()


def _previous_month_day(day: int) -> date:
    first = date.today().replace(day=1)
    return (first - timedelta(days=1)).replace(day=day)


def test_a_chinese_clerk_picks_a_birthday_in_chinese_or_types_it_and_it_is_saved(app, live_server, open_page):
    """In zh_CN, does the birthday picker speak Chinese with 今天/清除, fill YYYY-MM-DD, accept typing, and save?"""
    with app.app_context():
        username = factories.user("clerk").username
    page = open_page("zh-CN")
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/customer/new/")

    page.click("#birthday")
    calendar = page.locator(CALENDAR)
    expect(calendar).to_be_visible()
    months = ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"]
    expect(calendar.locator(".flatpickr-monthDropdown-months option:checked")).to_have_text(
        months[date.today().month - 1])
    expect(calendar.locator(".flatpickr-weekdays")).to_contain_text("周一")
    expect(calendar.locator(".picker-today")).to_have_text("今天")
    expect(calendar.locator(".picker-clear")).to_have_text("清除")
    assert not re.search(r"[A-Za-z]", calendar.inner_text())  # no English word in the calendar

    calendar.locator(".flatpickr-prev-month").click()
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)", has_text=re.compile(r"^15$")).click()
    expect(page.locator("#birthday")).to_have_value(_previous_month_day(15).isoformat())
    expect(calendar).to_be_hidden()

    page.click("#birthday")
    page.locator(CALENDAR).locator(".picker-clear").click()
    expect(page.locator("#birthday")).to_have_value("")

    page.fill("#birthday", "1990-05-17")
    page.keyboard.press("Escape")  # closes the calendar, keeps the typing
    expect(page.locator(CALENDAR)).to_have_count(0)
    page.fill("#name", "李四")
    page.fill("#mobile", "13912345678")
    page.locator("form.admin-form input[type=submit]").first.click()
    expect(page.locator(".alert-success")).to_be_visible()
    with app.app_context():
        saved = db.session.scalars(select(Customer).where(Customer.name == "李四")).one()
        assert saved.birthday == date(1990, 5, 17)

    page.goto(f"{live_server}/admin/customer/edit/?id={saved.id}")
    expect(page.locator("#birthday")).to_have_value("1990-05-17")
    page.fill("#birthday", "1990-02-30")  # no such day: left as typed for the server to refuse, never another day
    page.locator("#name").click()
    expect(page.locator("#birthday")).to_have_value("1990-02-30")
    page.locator("form.admin-form input[type=submit]").first.click()
    expect(page.locator("#birthday")).to_have_value("1990-02-30")
    with app.app_context():
        assert db.session.get(Customer, saved.id).birthday == date(1990, 5, 17)
    assert page.problems == []


def test_an_english_clerk_gets_english_names_and_today(app, live_server, open_page):
    """In English, does the same picker show English month and day names and Today/Clear?"""
    with app.app_context():
        username = factories.user("clerk").username
    page = open_page("en-US")
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/customer/new/")
    page.click("#birthday")
    calendar = page.locator(CALENDAR)
    expect(calendar.locator(".flatpickr-monthDropdown-months option:checked")).to_have_text(
        date.today().strftime("%B"))
    expect(calendar.locator(".flatpickr-weekdays")).to_contain_text("Mon")
    expect(calendar.locator(".picker-clear")).to_have_text("Clear")
    calendar.locator(".picker-today").click()
    expect(page.locator("#birthday")).to_have_value(date.today().isoformat())
    assert page.problems == []


def test_a_chinese_clerk_picks_a_day_and_a_time_for_a_contact(app, live_server, open_page):
    """On the log-contact form, does choosing a day and a time fill "YYYY-MM-DD HH:MM", and is the contact saved?"""
    with app.app_context():
        username = factories.user("clerk").username
        customer = factories.customer(owner=db.session.scalars(
            select(factories.User).where(factories.User.username == username)).one())
        customer_id = customer.id
    page = open_page("zh-CN")
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/followups/log/?id={customer_id}")
    box = page.locator("#occurred_at")
    expect(box).to_have_attribute("data-picker", "datetime")

    box.click()
    calendar = page.locator(CALENDAR)
    expect(calendar.locator(".picker-today")).to_have_text("今天")
    calendar.locator(".flatpickr-prev-month").click()
    calendar.locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)", has_text=re.compile(r"^10$")).click()
    calendar.locator("input.flatpickr-hour").fill("9")
    calendar.locator("input.flatpickr-hour").press("Tab")
    calendar.locator("input.flatpickr-minute").fill("5")
    calendar.locator("input.flatpickr-minute").press("Tab")
    chosen = f"{_previous_month_day(10).isoformat()} 09:05"
    expect(box).to_have_value(chosen)
    page.keyboard.press("Escape")
    expect(box).to_have_value(chosen)

    page.fill("#summary", "电话回访")
    page.locator("form:has(#summary) button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    with app.app_context():
        contact = db.session.scalars(select(Interaction).where(Interaction.customer_id == customer_id)).one()
        assert contact.occurred_at.minute == 5  # zones move hours, never the minute chosen
    assert page.problems == []


def test_a_date_filter_uses_the_same_picker(app, live_server, open_page):
    """Does a list's date filter open the same Chinese picker, in the format the filter reads, and filter?"""
    with app.app_context():
        username = factories.user("administrator").username
        created_at = factories.customer().created_at  # now
        # the day the filter compares it by: the business zone's (the browser's calendar is the machine's)
        created_on = created_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(app.config["CRM_TIMEZONE"])).date()
    page = open_page("zh-CN")
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/customer/")
    page.locator("a[data-toggle=dropdown]", has_text="添加筛选器").click()
    page.locator("a.filter", has_text="创建时间").click()
    value = page.locator(".filters .filter-val").last
    value.click()
    calendar = page.locator(CALENDAR)
    expect(calendar.locator(".picker-today")).to_have_text("今天")
    calendar.locator(".picker-today").click()
    chosen = value.input_value()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d)?", chosen)
    page.locator("#filter_form button[type=submit]").click()
    page.wait_for_url(re.compile(r"flt"))
    expect(page.locator(".alert-danger")).to_have_count(0)  # Flask-Admin read the value ("Invalid filter value" else)
    expect(page.locator(".filters .filter-val").last).to_have_value(chosen)

    # "between": a range of days on the same calendar, from the first day's start to the last day's end
    page.goto(f"{live_server}/admin/customer/")
    page.locator("a[data-toggle=dropdown]", has_text="添加筛选器").click()
    page.locator("a.filter", has_text="创建时间").click()
    page.locator(".filters tr").last.locator(".select2-choice").click()
    page.locator(".select2-results li", has_text=re.compile(r"^之间$")).click()
    value = page.locator(".filters .filter-val").last
    value.click()
    days = page.locator(CALENDAR).locator(".flatpickr-day:not(.prevMonthDay):not(.nextMonthDay)")
    days.nth(0).click()
    days.nth(6).click()
    month = date.today().strftime("%Y-%m")
    expect(value).to_have_value(f"{month}-01 00:00:00 to {month}-07 23:59:59")
    page.locator("#filter_form button[type=submit]").click()
    page.wait_for_url(re.compile(r"flt"))
    expect(page.locator(".alert-danger")).to_have_count(0)
    # the customer's row, or none: an empty list's body still has the row saying so
    within = created_on.strftime("%Y-%m") == month and created_on.day <= 7
    expect(page.locator("table.model-list tbody td.col-name")).to_have_count(1 if within else 0)
    assert page.problems == []
