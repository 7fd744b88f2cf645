"""The campaign's page in a real headless Chromium, in zh_CN (issue 28): the header with state, dates, counts and
owner, the quick actions a supervisor may take, a timeline of responses paged by its Older link; on a laptop and on a
phone (390 px) nothing scrolls sideways. Screens go to CRM_SHOTS."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crmadmin.extensions import db
from crmadmin.models import CampaignParticipant, utcnow
from tests import factories
from tests.test_browser import browser, live_server, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import LONG_NAME, _shot, open_page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
NAMES = ("张敏", "李娜", "王伟", "刘洋", "陈静", LONG_NAME[:40])


@pytest.fixture
def evening(app):
    """A running appreciation evening with 26 responses of every kind (one customer with a 40-character name)."""
    with app.app_context():
        owner = factories.user("supervisor", display_name="赵主管")
        campaign = factories.campaign(name="2026 年度客户答谢会（华东区）", type="appreciation_event", channel="event",
                                      status="running", owner_id=owner.id, budget=50000,
                                      description="邀请华东区高价值客户参加年度答谢晚宴，介绍明年新产品线。")
        rows = []
        for n in range(30):
            customer = factories.customer(name=f"{NAMES[n % len(NAMES)]}{n}", owner_id=owner.id)
            response = ("invited", "responded", "attended", "converted")[n % 4] if n < 28 else "invited"
            rows.append(CampaignParticipant(
                campaign_id=campaign.id, customer_id=customer.id, response=response, segment="高价值客户",
                note="带家属两人出席" if n % 5 == 0 else None,
                responded_at=None if response == "invited" else (utcnow() - timedelta(hours=n)).replace(microsecond=0)))
        db.session.add_all(rows)
        db.session.commit()
        return owner.username, campaign.id


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_the_campaign_page_shows_its_header_actions_and_responses(live_server, open_page, evening, width, height):
    """zh_CN: the header's state, dates, counts and owner, the quick actions, twenty responses then the older ones by
    the Older link; filtered to conversions; nothing scrolls sideways."""
    username, campaign_id = evening
    page = open_page(width, height)
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/campaign/details/?id={campaign_id}")
    head = page.locator("header.customer-head")
    expect(head.locator(".campaign-name")).to_have_text("2026 年度客户答谢会（华东区）")
    expect(head.locator(".campaign-status")).to_have_text("进行中")
    expect(head.locator(".campaign-owner")).to_have_text("赵主管")
    expect(head.locator(".campaign-invited")).to_have_text("30")
    expect(head.locator(".quick-action[data-action='targets']")).to_be_visible()
    expect(page.locator("#timeline .timeline-item")).to_have_count(20)
    _shot(page, f"campaign-page-{width}")
    assert page.evaluate(SIDEWAYS) == 0
    page.locator(".timeline-older").click()
    expect(page.locator("#timeline .timeline-item")).to_have_count(1)
    expect(page.locator(".timeline-newest")).to_be_visible()
    page.locator(".timeline-filter[data-response='converted']").click()
    expect(page.locator("#timeline .timeline-item")).to_have_count(7)
    expect(page.locator("#timeline .timeline-badge").first).to_have_text("已转化")
    assert page.evaluate(SIDEWAYS) == 0
