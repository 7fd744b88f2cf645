"""End to end in a real headless Chromium: the pages, their JavaScript and the server together."""
import os
import re
import threading
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from crmadmin.extensions import db
from crmadmin.models import Customer, Interaction, Role
from tests import factories

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 10_000
SERVED = {}  # the app the live server serves: sign_in reads a user's authenticator secret from its database


@pytest.fixture
def live_server(app):
    """The session app served over real HTTP on a free port of 127.0.0.1; yields its base URL."""
    SERVED["app"] = app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; CI fails (never skips) when it is missing."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium); the browser tests need it"
        if os.environ.get("CI"):
            pytest.fail(reason + " and CI must not skip them.")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A fresh page in its own context (no cookies shared between tests), English-speaking browser."""
    context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page, base_url: str, username: str, password: str = factories.PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/?$|/login/code$"))
    if page.url.endswith("/login/code"):
        type_code(page, username)
    page.wait_for_url(re.compile(r"/admin/?$"))


def type_code(page, username: str) -> None:
    """The code step, as a user does with the code their authenticator app shows now."""
    with SERVED["app"].app_context():
        code = factories.next_unused_code(username)
    page.fill("#code", code)
    page.click("#code-form button[type=submit]")


def choose(page, field: str, label: str) -> None:
    """Pick an option of an enumeration the way a user does: through its Select2 widget."""
    page.click(f"#s2id_{field} .select2-choice")
    page.locator("#select2-drop").get_by_role("option", name=label, exact=True).click()
    expect(page.locator(f"#s2id_{field} .select2-chosen")).to_have_text(label)
    expect(page.locator(f"select#{field} option:checked")).to_have_text(label)


def test_a_clerk_creates_finds_and_opens_a_customer(app, live_server, page, tmp_path):
    """Can a clerk sign in, create a customer, find them by search and open their details in a real browser?"""
    with app.app_context():
        username = factories.user("clerk").username
    suffix = uuid.uuid4().hex[:6]
    name = f"王小明{suffix}"
    email = f"wang.{suffix}@example.com"

    sign_in(page, live_server, username)
    expect(page.locator(".signed-in-as")).to_contain_text(username)

    page.goto(f"{live_server}/admin/customer/new/")
    page.fill("#name", name)
    choose(page, "kind", "Person")
    choose(page, "gender", "Male")
    page.fill("#mobile", "13812345678")
    page.fill("#email", email)
    page.click("form.admin-form input[type=submit][value='Save']")
    expect(page.locator(".alert-success")).to_contain_text("Record was successfully created.")

    page.goto(f"{live_server}/admin/customer/")
    search = page.locator("form[role=search] input[name=search]")
    search.fill(f"小明{suffix}")
    search.press("Enter")
    page.wait_for_url(re.compile(r"search="))
    rows = page.locator("table.model-list tbody tr")
    expect(rows).to_have_count(1)
    row = rows.filter(has_text=name)
    expect(row).to_contain_text("138 1234 5678")  # as a clerk dials it (stored as +8613812345678)

    row.locator("a:has(.fa-eye)").click()
    page.wait_for_url(re.compile(r"/admin/customer/details/"))
    details = page.locator(".customer-head")
    expect(details).to_contain_text(name)
    expect(details).to_contain_text("138 1234 5678")
    expect(details).to_contain_text(email)
    expect(page.locator(".customer-fields dd", has_text=re.compile(r"^\s*None\s*$"))).to_have_count(0)  # no "None"
    page.screenshot(path=str(tmp_path / "customer-details.png"), full_page=True)

    with app.app_context():
        saved = db.session.scalars(select(Customer).where(Customer.name == name)).one()
        assert (saved.mobile, saved.email, saved.kind, saved.gender) == ("+8613812345678", email, "person", "male")
    assert parse_qs(urlsplit(page.url).query)["id"] == [str(saved.id)]


def test_the_language_button_turns_the_panel_chinese(app, live_server, page):
    """Does the 简体中文 button in the navbar turn the panel into Chinese, and English switch it back?"""
    with app.app_context():
        username = factories.user("clerk").username
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/customer/")
    switch = page.locator("nav form.language-switch")
    pressed = re.compile(r"(^|\s)btn-secondary(\s|$)")
    expect(switch.locator("button[value=en]")).to_have_class(pressed)

    switch.get_by_role("button", name="简体中文").click()
    tabs = page.locator(".nav-tabs")
    expect(tabs).to_contain_text("列表")  # Flask-Admin's own catalog
    expect(tabs).to_contain_text("创建")
    assert urlsplit(page.url).path == "/admin/customer/"  # back on the same screen
    expect(page.locator("nav.navbar")).to_contain_text("客户")  # crmadmin's own catalog: the menu
    expect(page.locator("#sign-out")).to_have_text("退出登录")
    expect(switch.locator("button[value=zh_CN]")).to_have_class(pressed)  # it shows which language is on

    switch.get_by_role("button", name="English").click()
    expect(switch.locator("button[value=en]")).to_have_class(pressed)
    expect(tabs).to_contain_text("List")



def test_the_admin_pages_work_under_the_content_security_policy(app, live_server, page):
    """Do the customer list, create form and details page run all their scripts under our CSP, in both languages?"""
    with app.app_context():
        username = factories.user("administrator").username
        customer = factories.customer(name="Zhou Keep")
    problems = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    dialogs = []

    def refuse(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    sign_in(page, live_server, username)

    response = page.goto(f"{live_server}/admin/customer/")
    assert "'nonce-" in response.headers["content-security-policy"]
    page.locator(".nav-tabs a.nav-link.active").click()  # a javascript:void(0) link
    page.locator("a", has_text="Add Filter").click()  # Flask-Admin's filter menu (bs4_filters.js)
    page.locator("a.filter").first.click()
    expect(page.locator(".filters .filter-val").first).to_be_visible()
    page.goto(f"{live_server}/admin/customer/")
    row = page.locator("table.model-list tbody tr", has_text="Zhou Keep")
    row.locator("form button").click()  # delete asks first (an inline handler allowed by hash)
    expect(page.locator("table.model-list")).to_contain_text("Zhou Keep")
    assert dialogs == ["Are you sure you want to delete this record?"]

    page.goto(f"{live_server}/admin/customer/new/")
    expect(page.locator(".select2-container").first).to_be_visible()
    choose(page, "kind", "Company")  # the drop-down of a Select2 widget opens and applies its styles

    page.goto(f"{live_server}/admin/customer/details/?id={customer.id}")
    expect(page.locator(".customer-head")).to_contain_text("Zhou Keep")

    page.locator("nav form.language-switch").get_by_role("button", name="简体中文").click()
    expect(page.locator("#sign-out")).to_have_text("退出登录")
    page.goto(f"{live_server}/admin/customer/")
    page.locator("table.model-list tbody tr", has_text="Zhou Keep").locator("form button").click()
    assert len(dialogs) == 2 and dialogs[1] != dialogs[0]  # the Chinese question, allowed by its own hash
    page.goto(f"{live_server}/admin/customer/new/")
    expect(page.locator(".select2-container").first).to_be_visible()

    assert problems == []
    with app.app_context():
        assert db.session.get(Customer, customer.id) is not None


def test_a_clerk_sees_only_their_customers_and_gains_delete_when_an_administrator_grants_it(app, live_server, page,
                                                                                             browser):
    """Does a clerk see only their own customers with no delete buttons, until an administrator ticks
    'Interactions: Delete' for clerks, after which the clerk can delete an interaction?"""
    with app.app_context():
        clerk = factories.user("clerk")
        colleague = factories.user("clerk")
        administrator = factories.user("administrator")
        mine = factories.customer(name="Mine Zhang", owner_id=clerk.id)
        factories.customer(name="Theirs Zhao", owner_id=colleague.id)
        note = factories.interaction(mine, summary="Call to delete later")
        clerk_role = db.session.scalar(select(Role.id).where(Role.name == "clerk"))

    sign_in(page, live_server, clerk.username)
    page.goto(f"{live_server}/admin/customer/")
    rows = page.locator("table.model-list tbody tr")
    expect(rows.filter(has_text="Mine Zhang")).to_have_count(1)
    expect(rows.filter(has_text="Theirs Zhao")).to_have_count(0)
    expect(page.locator("form[action$='/delete/']")).to_have_count(0)
    page.goto(f"{live_server}/admin/interaction/")
    expect(page.locator("form[action$='/interaction/delete/']")).to_have_count(0)

    admin_context = browser.new_context(locale="en-US")
    admin_context.set_default_timeout(TIMEOUT_MS)
    admin_page = admin_context.new_page()
    try:
        sign_in(admin_page, live_server, administrator.username)
        admin_page.goto(f"{live_server}/admin/role/edit/?id={clerk_role}")
        admin_page.check("#permissions-interactions-delete")
        admin_page.click("form.admin-form input[type=submit][value='Save']")
        expect(admin_page.locator(".alert-success")).to_be_visible()
    finally:
        admin_context.close()

    page.goto(f"{live_server}/admin/interaction/")
    row = page.locator("table.model-list tbody tr").filter(has_text="Call to delete later")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("form[action$='/interaction/delete/'] button").click()
    expect(page.locator(".alert-success")).to_be_visible()
    with app.app_context():
        assert db.session.get(Interaction, note.id) is None


def test_an_urgent_complaint_goes_from_a_clerk_to_a_supervisor_and_closed(app, live_server, browser):
    """A clerk registers an urgent complaint; a supervisor assigns, works and closes it: does the dashboard's
    open-urgent figure go up and then back down, and does the timeline show every step?"""
    with app.app_context():
        clerk = factories.user("clerk")
        supervisor = factories.user("supervisor", display_name="Zhang Wei")
        customer = factories.customer(name=f"刘洋{uuid.uuid4().hex[:6]}", owner_id=clerk.id)

    def session():
        context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        return context, context.new_page()

    def open_urgent(page) -> int:
        page.goto(f"{live_server}/admin/")
        return int(page.locator("[data-figure='complaints:open_urgent']").inner_text().replace(",", ""))

    clerk_context, desk = session()
    boss_context, boss = session()
    try:
        sign_in(boss, live_server, supervisor.username)
        before = open_urgent(boss)

        sign_in(desk, live_server, clerk.username)
        desk.goto(f"{live_server}/admin/complaint/new/")
        desk.click("#s2id_customer .select2-choice")
        desk.fill("#select2-drop input.select2-input", customer.name[:4])
        desk.locator("#select2-drop .select2-result-label", has_text=customer.name).click()
        desk.fill("#subject", "冰箱漏水")
        desk.fill("#description", "新买的冰箱第二天开始漏水")
        choose(desk, "channel", "Phone")
        choose(desk, "type", "Product quality")
        choose(desk, "urgency", "Urgent")
        desk.click("form.admin-form input[type=submit][value='Save']")
        expect(desk.locator(".alert-success")).to_contain_text("Record was successfully created.")
        row = desk.locator("table.model-list tbody tr", has_text="冰箱漏水")
        expect(row.locator(".complaint-status")).to_have_text("Received")
        expect(row.locator(".complaint-due")).to_contain_text("response: 3 h")

        assert open_urgent(boss) == before + 1
        boss.goto(f"{live_server}/admin/complaint/")
        boss.locator("table.model-list tbody tr", has_text="冰箱漏水").locator("a[href*='/details/']").first.click()
        steps = [("assess", {}), ("assign", {"select#assignee": supervisor.username}),
                 ("draft", {"#solution": "上门更换冰箱"}), ("start", {}),
                 ("report", {"#action_taken": "已更换新冰箱"}),
                 ("close", {"#customer_feedback": "客户满意", "select#satisfaction_score": "5"})]
        for move, fields in steps:
            boss.click(f".complaint-progress a[data-move='{move}']")
            for selector, value in fields.items():
                if selector.startswith("select"):
                    option = boss.locator(f"{selector} option", has_text=value).first.get_attribute("value")
                    boss.select_option(selector, option)
                else:
                    boss.fill(selector, value)
            boss.click("form.complaint-move-form button[type=submit]")
            expect(boss.locator(".alert-success")).to_be_visible()  # back on the details page
        expect(boss.locator(".complaint-progress .complaint-status")).to_have_text("Closed")
        expect(boss.locator("ol.complaint-steps li[data-move]")).to_have_count(7)
        expect(boss.locator("ol.complaint-steps li[data-move='close']")).to_contain_text("Zhang Wei")
        assert open_urgent(boss) == before
    finally:
        clerk_context.close()
        boss_context.close()


def test_a_supervisor_erases_a_customers_personal_data_on_request(app, live_server, page):
    """From the customer's page, does an erasure on request leave the customer, the search and the log without
    their name, while their purchase stays?"""
    name = f"司马{uuid.uuid4().hex[:6]}"
    with app.app_context():
        supervisor = factories.user("supervisor")
        customer = factories.customer(name=name, mobile="+8613966667777")
        factories.transaction(customer, product="会员卡")
    sign_in(page, live_server, supervisor.username)
    page.goto(f"{live_server}/admin/customer/details/?id={customer.id}")
    page.click("text=Erase personal data")
    expect(page.locator("table.erasure-fields")).to_contain_text(name)
    page.fill("#received_on", "2026-11-20")
    page.select_option("#channel", label="Email")
    page.fill("#reference", "REQ-7")
    page.check("#confirm")
    page.click("form.personal-data-form button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text(f"Personal data of customer #{customer.id} erased")
    expect(page.locator(".customer-erased")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("会员卡")
    page.goto(f"{live_server}/admin/customer/?search={name}")
    expect(page.locator("table.model-list")).not_to_contain_text(name)
    page.goto(f"{live_server}/admin/auditentry/?search={name}")
    expect(page.locator("body")).not_to_contain_text(name)
    page.goto(f"{live_server}/admin/personaldata/")
    expect(page.locator("table.model-list")).to_contain_text("REQ-7")
