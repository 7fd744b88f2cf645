"""Lists that fit the screen, in a real headless Chromium (issue 28): a clerk's customers, follow-ups and complaints in
zh_CN with the demo's Chinese data, on a laptop (1366×768: no sideways scrolling, headers on one line, long text cut
with an ellipsis and whole on hover) and on a phone (390×844: one card per row)."""
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

LISTS = {"customers": "/admin/customer/", "followups": "/admin/followups/", "complaints": "/admin/complaint/"}
LONG_NAME = ("上海浦江国际物流与供应链管理咨询服务有限公司华东区域采购中心" * 4)[:120]
CLERKS = ("张敏", "李娜", "王伟", "刘洋", "陈静")

# How much a page and its list's own scroll box are wider than what they show (0: no sideways scrolling).
OVERFLOW = """() => {
  const box = document.querySelector('.table-responsive');
  const page = document.documentElement;
  return {page: page.scrollWidth - page.clientWidth, box: box ? box.scrollWidth - box.clientWidth : 0};
}"""
# Each cell's content: on one line when every box of it (text, link, badge, button) overlaps every other vertically, a
# wrapped line starting below the one before; its height against the cell's line height.
LINES = """selector => [...document.querySelectorAll(selector)].filter(c => c.textContent.trim()).map(c => {
  const range = document.createRange();
  range.selectNodeContents(c);
  const boxes = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
  const oneLine = Math.max(...boxes.map(r => r.top)) < Math.min(...boxes.map(r => r.bottom));
  return {text: c.textContent.trim(), lines: oneLine ? 1 : 2,
          height: range.getBoundingClientRect().height, lineHeight: parseFloat(getComputedStyle(c).lineHeight)};
})"""


@pytest.fixture
def clerk_with_demo(app):
    """A clerk owning a share of 150 Chinese demo customers (with their purchases, contacts and complaints), one of
    them with a 120-character name and a complaint; returns the clerk's username."""
    with app.app_context():
        clerks = [factories.user("clerk", display_name=name) for name in CLERKS]  # the demo's owners
    result = app.test_cli_runner().invoke(args=["crm", "seed-demo", "--customers", "150"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        owner = db.session.execute(select(Customer.owner_id).group_by(Customer.owner_id)
                                   .order_by(func.count().desc()).limit(1)).scalar_one()
        clerk = next(c for c in clerks if c.id == owner)
        long = factories.customer(name=LONG_NAME, kind="company", company_name=LONG_NAME, owner_id=clerk.id,
                                  mobile="+8613812345678", region="华东", industry="物流")
        factories.complaint(long, subject="送货延误三天，包装破损，要求赔偿并说明原因" * 3)
        assert db.session.scalar(select(func.count()).where(Customer.owner_id == clerk.id)) >= 21
        return clerk.username


@pytest.fixture
def open_page(browser):  # noqa: F811
    """open_page(width, height) -> a page in a fresh zh-CN context of that viewport (another locale, or a context
    option such as accept_downloads, by keyword)."""
    contexts = []

    def _open(width: int, height: int, locale: str = "zh-CN", **options):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def _shot(page, name: str) -> None:
    """A full-page screenshot into CRM_SHOTS (the worktree's shots/, never committed), when it is set."""
    if os.environ.get("CRM_SHOTS"):
        folder = Path(os.environ["CRM_SHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        page.screenshot(path=str(folder / f"{name}-screen.png"))  # what the first look shows


@pytest.mark.parametrize("role", ["clerk", "supervisor"])
def test_do_the_lists_fit_a_laptop_without_sideways_scrolling(app, live_server, open_page, clerk_with_demo, role):  # noqa: F811
    """zh_CN at 1366×768: no horizontal scrollbar on any of the three lists, every header and every short value on one
    line, and the 120-character name cut with an ellipsis, whole in its title; for a clerk, and for a supervisor who
    sees every row with more buttons (delete, selection, export, more of a complaint's next steps)."""
    username = clerk_with_demo
    if role == "supervisor":
        with app.app_context():
            username = factories.user("supervisor", display_name="赵主管").username
    page = open_page(1366, 768)
    sign_in(page, live_server, username)
    for name, url in LISTS.items():
        page.goto(live_server + url)
        rows = page.locator("table.model-list tbody tr")
        expect(rows.first).to_be_visible()
        _shot(page, f"{name}-1366{'' if role == 'clerk' else '-' + role}")
        if name == "customers":
            assert rows.count() >= 20
        assert page.evaluate(OVERFLOW) == {"page": 0, "box": 0}, name
        headers = page.evaluate(LINES, "table.model-list thead th")
        assert len(headers) >= 5 and all(h["lines"] == 1 and h["height"] <= h["lineHeight"] for h in headers), \
            (name, [h for h in headers if h["lines"] != 1 or h["height"] > h["lineHeight"]])
        cells = page.evaluate(LINES, "table.model-list tbody td")
        assert cells and all(c["lines"] == 1 for c in cells), (name, [c for c in cells if c["lines"] != 1][:3])

    page.goto(live_server + LISTS["customers"])
    cell = page.locator("table.model-list td.col-name", has_text=LONG_NAME[:10])
    expect(cell).to_have_attribute("title", LONG_NAME)
    assert cell.evaluate("td => getComputedStyle(td).textOverflow") == "ellipsis"
    assert cell.evaluate("td => td.scrollWidth > td.clientWidth")  # cut, not wrapped: the rest is on hover
    assert cell.evaluate("td => td.getBoundingClientRect().width") < 300


def test_do_a_clerks_lists_become_cards_on_a_phone(app, live_server, open_page, clerk_with_demo):  # noqa: F811
    """zh_CN at 390×844: each list's rows are cards (title first, labelled fields, the row's buttons) and nothing
    needs sideways scrolling, the toolbar included."""
    page = open_page(390, 844)
    sign_in(page, live_server, clerk_with_demo)
    for name, url in LISTS.items():
        page.goto(live_server + url)
        card = page.locator("table.model-list tbody tr").first
        expect(card).to_be_visible()
        _shot(page, f"{name}-390")
        assert page.evaluate(OVERFLOW) == {"page": 0, "box": 0}, name
        expect(page.locator("table.model-list thead")).to_be_hidden()
        assert card.evaluate("tr => getComputedStyle(tr).display") == "flex", name
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
        title = card.locator("td.crm-card-title")
        expect(title).to_be_visible()
        assert title.evaluate("td => td.getBoundingClientRect().top") <= \
            card.locator("td[data-label]:not(.crm-card-title)").first.evaluate("td => td.getBoundingClientRect().top")
        label = card.locator("td[data-label]:not(.crm-card-title)").first.evaluate(
            "td => getComputedStyle(td, '::before').content")
        assert label.strip('"'), name  # each field under its label
        expect(card.locator("td.list-buttons-column a, td.list-buttons-column button").first).to_be_visible()
        toolbar = page.locator("ul.nav-tabs").first.bounding_box()
        assert toolbar["x"] + toolbar["width"] <= 390, name
