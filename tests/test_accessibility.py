"""WCAG 2.1 AA as axe-core judges it, in a real Chromium: every screen of the menu, every built-in role, both
languages, a desktop and a phone width, pages audited as they are served (their real Content-Security-Policy).

axe-core is vendored for the tests only (tests/vendor/axe-core, pinned, never served by the app nor fetched at
run time). The browser contexts bypass the CSP so that the test may inject it; the server still sends its CSP
headers, and test_browser.py checks that the pages' own scripts run under them."""
import re
from datetime import timedelta
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from crmadmin import demo
from crmadmin.extensions import db
from crmadmin.models import Complaint, Customer, Interaction, User, utcnow
from crmadmin.standing import today
from tests import factories
from tests.test_browser import TIMEOUT_MS, browser, live_server, type_code  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = {"critical", "serious"}
ROLES = ("administrator", "supervisor", "clerk", "auditor")
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
BROWSER_LOCALE = {"zh_CN": "zh-CN", "en": "en-US"}
# The browser's own check of `required` fields would stop the form before the server answers with its errors.
NO_BROWSER_CHECKS = "() => document.querySelectorAll('form.admin-form').forEach(f => { f.noValidate = true; })"

AUDIT_JS = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ') + (n.failureSummary ? ' :: ' + n.failureSummary.split('\\n').slice(1, 2).join('').trim() : ''))
  })))"""


def audit(page, label: str, found: dict) -> None:
    """Run axe on the page as it stands; record its serious and critical violations under (rule, page)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    for violation in page.evaluate(AUDIT_JS, AXE_TAGS):
        if violation["impact"] in FAILING:
            found[(violation["id"], violation["impact"], violation["help"])][label] = violation["targets"]


def report(found: dict) -> str:
    lines = []
    for (rule, impact, help_text), pages in sorted(found.items()):
        lines.append(f"{rule} ({impact}): {help_text} -- on {len(pages)} page(s)")
        for label, targets in sorted(pages.items()):
            lines.append(f"    {label}: {len(targets)} element(s)")
            lines.extend(f"        {target}" for target in targets[:4])
    return "\n".join(lines)


def menu_pages(page) -> list[str]:
    """Paths of every screen the navbar offers this user, the dashboard first."""
    hrefs = page.eval_on_selector_all(
        "#admin-navbar-collapse a[href]", "links => links.map(a => a.getAttribute('href'))")
    paths = ["/admin/"]
    for href in hrefs:
        path = urlsplit(href)
        if path.path.startswith("/admin/") and href not in paths:
            paths.append(href)
    return paths


def new_context(browser, language: str, viewport: dict):
    context = browser.new_context(locale=BROWSER_LOCALE[language], viewport=viewport, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", factories.PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/admin/?$|/login/code$"))
    if page.url.endswith("/login/code"):
        type_code(page, username)
    page.wait_for_url(re.compile(r"/admin/?$"))


def audit_role(browser, base_url: str, language: str, role: str, username: str, viewport: dict, found: dict,
               records: dict) -> int:
    """Every screen of the role's menu, a details page and a create form with a validation error; the count."""
    context = new_context(browser, language, viewport)
    page = context.new_page()
    tag = f"{role}/{language}/{viewport['width']}"
    audited = 0
    try:
        sign_in(page, base_url, username)
        for path in menu_pages(page):
            response = page.goto(base_url + path)
            assert response.status == 200, (path, response.status)
            assert "content-security-policy" in response.headers  # audited as served
            audit(page, f"{tag} {path}", found)
            audited += 1
        for path in (f"/admin/customer/details/?id={records['customer']}",
                     f"/admin/complaint/details/?id={records['complaint']}"):
            response = page.goto(base_url + path)
            if urlsplit(page.url).path == urlsplit(path).path:  # roles that may not see it are sent away
                audit(page, f"{tag} {path}", found)
                audited += 1
        page.goto(f"{base_url}/admin/customer/?search=1")  # a search and a filter in use: their boxes named
        menu = page.locator("li.dropdown", has=page.locator("a.filter"))
        menu.locator("a.dropdown-toggle").click()
        menu.locator("a.filter").first.click()
        page.locator(".filters .filter-val").first.wait_for()
        audit(page, f"{tag} /admin/customer/ (search and filter)", found)
        audited += 1
        for path in ("/admin/customer/new/", "/admin/complaint/new/"):
            page.goto(base_url + path)
            if urlsplit(page.url).path != path or not page.locator("form.admin-form").count():
                continue  # not this role's to create
            page.evaluate(NO_BROWSER_CHECKS)
            with page.expect_navigation():
                page.click("form.admin-form input[type=submit]")
            page.wait_for_selector(".is-invalid", state="attached")
            audit(page, f"{tag} {path} (error shown)", found)
            audited += 1
    finally:
        context.close()
    return audited


@pytest.fixture
def populated(app):
    """A small demo (every kind of row, every badge), half of its customers given to one clerk; one user per role."""
    with app.app_context():
        demo.seed(40, progress=None, locale="zh_CN")
        users = {role: factories.user(role).username for role in ROLES}
        clerk_id = db.session.scalar(select(User.id).where(User.username == users["clerk"]))
        for customer in db.session.scalars(select(Customer).where(Customer.id % 2 == 0)):
            customer.owner_id = clerk_id
        db.session.commit()
        records = {"customer": db.session.scalar(select(Customer.id).where(Customer.owner_id == clerk_id).limit(1)),
                   "complaint": db.session.scalar(select(Complaint.id).limit(1))}
    return users, records


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_page_passes_axe_for_every_role(live_server, browser, populated, language):
    """Does every screen of the menu, for every built-in role, pass axe-core's WCAG 2.1 A/AA rules with no serious
    or critical finding, at 1366 px and at 390 px, and the sign-in page at both?"""
    users, records = populated
    found = defaultdict(dict)
    audited = 0
    for viewport in (DESKTOP, PHONE):
        context = new_context(browser, language, viewport)
        page = context.new_page()
        page.goto(f"{live_server}/login")
        audit(page, f"anonymous/{language}/{viewport['width']} /login", found)
        context.close()
        audited += 1
    for viewport in (DESKTOP, PHONE):
        for role in ROLES:
            audited += audit_role(browser, live_server, language, role, users[role], viewport, found, records)
    assert audited > 120
    assert not found, f"axe-core found serious or critical violations:\n{report(found)}"


# --- the keyboard alone ----------------------------------------------------------------------------
FOCUSED_MATCHES = "s => !!document.activeElement && document.activeElement.matches(s)"
FOCUS_RING = """() => { const e = document.activeElement, box = e.closest('.select2-container') || e, s = getComputedStyle(box);
  return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"""


def tab_to(page, selector: str, limit: int = 150) -> None:
    """Press Tab until the focus is on `selector`, as a keyboard user does; it must show where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_MATCHES, selector):
            if "select2-focusser" not in selector:
                assert page.evaluate(FOCUS_RING), f"no visible focus ring on {selector}"
            return
    raise AssertionError(f"{selector} cannot be reached with Tab on {page.url}")


def menu_to(page, menu: str, href: str) -> None:
    """Open a navbar menu with Enter and go to one of its screens with the arrow keys and Enter."""
    for _ in range(10):
        tab_to(page, "#admin-navbar-collapse a.dropdown-toggle")
        if page.evaluate("() => document.activeElement.textContent.trim()") == menu:
            break
    page.keyboard.press("Enter")
    for _ in range(30):
        page.keyboard.press("ArrowDown")
        if page.evaluate(FOCUSED_MATCHES, f".dropdown-menu a[href$='{href}']"):
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")


def select2_pick(page, field: str, typed: str, expected: str) -> None:
    """A Select2 box by keyboard: Tab to it, Enter opens it, typing narrows it, Enter takes the highlighted choice."""
    tab_to(page, f"#s2id_{field} input.select2-focusser")
    page.keyboard.press("Enter")
    page.keyboard.type(typed)
    page.locator("#select2-drop .select2-highlighted", has_text=expected).wait_for()
    page.keyboard.press("Enter")
    page.locator(f"#s2id_{field} .select2-chosen", has_text=expected).wait_for()


def test_a_clerk_finds_a_customer_logs_a_contact_and_registers_a_complaint_with_the_keyboard_alone(app, live_server,
                                                                                                   browser):
    """Can a clerk sign in, skip to the content, find a customer by search, log a contact from the follow-up list and
    register a complaint with Tab, Enter, arrow keys and typing only, never the mouse?"""
    with app.app_context():
        clerk = factories.user("clerk")
        customer = factories.customer(name="Kay Keyboard", owner_id=clerk.id, created_at=utcnow() - timedelta(days=60))
        factories.interaction(customer, summary="First call", next_follow_up_on=today() - timedelta(days=1))
        customer_id, username = customer.id, clerk.username
    context = new_context(browser, "en", DESKTOP)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        assert page.evaluate("() => document.activeElement.id") == "username"  # autofocus
        page.keyboard.type(username)
        page.keyboard.press("Tab")
        page.keyboard.type(factories.PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")

        page.keyboard.press("Tab")  # the first stop of every page: the skip link, shown when it has the focus
        assert page.evaluate(FOCUSED_MATCHES, "a.skip-link")
        box = page.locator("a.skip-link").bounding_box()
        assert box and box["y"] >= 0 and box["height"] > 10
        page.keyboard.press("Enter")
        assert page.evaluate(FOCUSED_MATCHES, "main#content")

        # find the customer
        menu_to(page, "Records", "/admin/customer/")
        tab_to(page, "form[role=search] input[name=search]")
        page.keyboard.type("Kay Key")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        tab_to(page, f"table.model-list a[href*='/customer/details/?id={customer_id}']")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Kay Keyboard" in page.title()

        # log a contact from the follow-up list, in its dialog (Tab stays inside it; the list is not left)
        menu_to(page, "Customer care", "/admin/followups/")
        tab_to(page, f"a[href*='/followups/log/?id={customer_id}']")
        page.keyboard.press("Enter")
        page.get_by_role("dialog").wait_for()
        tab_to(page, "#channel")
        page.keyboard.press("ArrowDown")  # a plain select changes with the arrow keys
        channel = page.evaluate("() => document.activeElement.value")
        tab_to(page, "#summary")
        page.keyboard.type("Called back, renewal agreed")
        tab_to(page, "#dialog-log button[type=submit]")
        page.keyboard.press("Enter")
        page.get_by_role("dialog").wait_for(state="hidden")
        # the polite status is written a moment after it is emptied (so that it is read out again): wait for it
        page.wait_for_function("() => document.querySelector('#follow-up-status').textContent.includes('Kay Keyboard')")

        # register a complaint: the first Save shows the errors, tied to their fields and focused
        menu_to(page, "Records", "/admin/complaint/")
        tab_to(page, ".nav-tabs a[href*='/complaint/new/']")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.evaluate(NO_BROWSER_CHECKS)
        tab_to(page, "form.admin-form input[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        invalid = page.evaluate("""() => { const e = document.activeElement, ids = (e.getAttribute('aria-describedby') || '').split(' ');
            return [e.getAttribute('aria-invalid'), ids.map(id => document.getElementById(id)).filter(Boolean)
                    .map(n => n.getAttribute('role') + ':' + n.textContent.trim())]; }""")
        assert invalid[0] == "true" and any(text.startswith("alert:") and len(text) > 6 for text in invalid[1]), invalid
        page.keyboard.press("Shift+Tab")  # back to the top of the form
        select2_pick(page, "customer", "Kay", "Kay Keyboard")
        tab_to(page, "#subject")
        page.keyboard.type("Screen cracked on delivery")
        tab_to(page, "#description")
        page.keyboard.type("The box was dented too")
        select2_pick(page, "channel", "Pho", "Phone")
        select2_pick(page, "type", "Product", "Product quality")
        select2_pick(page, "urgency", "Urg", "Urgent")
        tab_to(page, "form.admin-form input[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator(".alert-success").count() == 1
    finally:
        context.close()

    with app.app_context():
        contacts = db.session.scalars(select(Interaction).where(Interaction.customer_id == customer_id)
                                      .order_by(Interaction.id)).all()
        assert [(c.summary, c.channel) for c in contacts][1:] == [("Called back, renewal agreed", channel)]
        complaint = db.session.scalars(select(Complaint).where(Complaint.customer_id == customer_id)).one()
        assert (complaint.subject, complaint.channel, complaint.urgency) == ("Screen cracked on delivery", "phone",
                                                                            "urgent")


NARROW = {"width": 320, "height": 640}  # 1280 px at 400 %, or 640 px at 200 % (WCAG 1.4.10 reflow)
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth, cut = [];
  document.querySelectorAll('main *, nav *').forEach(e => {
    if (e.closest('.crm-scroll, .table-responsive, .select2-offscreen, .sr-only, .skip-link, .d-none')) return;
    const box = e.getBoundingClientRect();
    if (box.width && box.height && (box.right > width + 1 || box.left < -1) && getComputedStyle(e).visibility !== 'hidden')
      cut.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.') + ' ' + Math.round(box.right));
  });
  return {page: document.documentElement.scrollWidth - width, cut: cut.slice(0, 5)};
}"""


def test_at_320_px_nothing_is_cut_off_and_only_tables_scroll_sideways(live_server, browser, populated):
    """At 320 px wide (200 % zoom of a small window), does every screen of the clerk's menu, a details page and a
    form fit the width, with only tables scrolling sideways inside their own focusable box?"""
    users, records = populated
    context = new_context(browser, "zh_CN", NARROW)
    page = context.new_page()
    problems = {}
    try:
        sign_in(page, live_server, users["clerk"])
        paths = menu_pages(page) + [f"/admin/customer/details/?id={records['customer']}", "/admin/customer/new/",
                                    "/admin/complaint/new/"]
        for path in paths:
            page.goto(live_server + path)
            found = page.evaluate(OVERFLOW_JS)
            if found["page"] > 1 or found["cut"]:
                problems[path] = found
            for box in page.locator(".crm-scroll").all():  # a table that scrolls can be scrolled by keyboard
                if box.evaluate("b => b.scrollWidth > b.clientWidth + 1"):
                    assert box.get_attribute("tabindex") == "0" and box.get_attribute("aria-label"), path
    finally:
        context.close()
    assert len(paths) > 10
    assert not problems, "\n".join(f"{path}: {found}" for path, found in problems.items())
