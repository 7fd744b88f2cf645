"""The customer's page in a real headless Chromium, in zh_CN (issue 28): a clerk registers a complaint from it in three
clicks or fewer and finds it in the timeline; the badges say why on focus; the copy buttons copy; on a laptop and on a
phone (390 px) the header and quick actions are there and nothing scrolls sideways."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crmadmin.models import utcnow
from tests import factories
from tests.test_browser import browser, live_server, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import LONG_NAME, _shot, open_page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def clerks_customer(app):
    """A clerk's company customer with a long Chinese name and a history of every kind; (username, customer id)."""
    with app.app_context():
        clerk = factories.user("clerk", display_name="张敏")
        customer = factories.customer(name=LONG_NAME[:60], kind="company", owner_id=clerk.id, mobile="+8613812345678",
                                      email="caigou.zhongxin@pujiang-wuliu.example.com", region="华东",
                                      industry="物流", company_name=LONG_NAME, position="采购经理")
        campaign = factories.campaign(name="2026 客户答谢会")
        for n in range(6):
            factories.transaction(customer, product=f"年度物流服务套餐 {n}", amount=12800 + n,
                                  occurred_at=utcnow() - timedelta(days=40 * n + 3), campaign_id=campaign.id)
        factories.interaction(customer, summary="电话回访：客户对上月配送时效表示满意，希望下季度增加冷链线路，需要报价" * 2,
                              outcome="需再次跟进", occurred_at=utcnow() - timedelta(days=2))
        factories.complaint(customer, subject="送货延误三天，包装破损", received_at=utcnow() - timedelta(days=10))
        factories.participant(campaign, customer, response="attended", responded_at=utcnow() - timedelta(days=20))
        factories.survey(customer, score=8, comment="服务及时")
        return clerk.username, customer.id


def test_a_clerk_registers_a_complaint_in_three_clicks_and_sees_it_in_the_timeline(live_server, open_page,
                                                                                  clerks_customer):
    """From the customer's page: the quick action, the two texts typed, Save — back on the page with the complaint
    first in the timeline, in three clicks or fewer?"""
    username, customer_id = clerks_customer
    page = open_page(1366, 768)
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/customer/details/?id={customer_id}")
    clicks = 0
    page.click(".quick-action[data-action=complaint]")
    clicks += 1
    expect(page.locator("#s2id_customer .select2-chosen")).to_contain_text(LONG_NAME[:10])  # the customer is there
    page.fill("#subject", "发票金额与合同不符")
    page.fill("#description", "客户来电：三月发票多开了一千元")
    page.click("form.admin-form input[type=submit]")
    clicks += 1
    page.wait_for_url(f"{live_server}/admin/customer/details/?id={customer_id}")
    assert clicks <= 3
    first = page.locator("#timeline li.timeline-item").first
    expect(first).to_contain_text("发票金额与合同不符")
    expect(first).to_contain_text("投诉")


def test_the_badges_say_why_and_the_copy_buttons_copy(live_server, open_page, clerks_customer):
    """Does focusing the tier badge show its reason, and does the mobile's copy button say it copied?"""
    username, customer_id = clerks_customer
    page = open_page(1366, 768)
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/customer/details/?id={customer_id}")
    expect(page.locator("#stage-why")).to_be_hidden()
    page.focus(".customer-stage")
    expect(page.locator("#stage-why")).to_be_visible()
    expect(page.locator(".customer-mobile a[href^='tel:']")).to_have_text("138 1234 5678")
    page.click(".customer-mobile .crm-copy")
    expect(page.locator(".customer-mobile .crm-copied")).to_contain_text("已复制")


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_the_page_fits_the_screen_with_the_actions_at_hand(live_server, open_page, clerks_customer, width, height):
    """At a laptop's and a phone's width: no sideways scrolling, the header and every quick action within the width,
    the timeline readable (its items not squeezed to a column of characters)?"""
    username, customer_id = clerks_customer
    page = open_page(width, height)
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/customer/details/?id={customer_id}")
    expect(page.locator(".customer-head")).to_be_visible()
    assert page.evaluate(SIDEWAYS) <= 0
    for box in [a.bounding_box() for a in page.locator(".quick-action").all()]:
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.locator(".quick-action").count() == 6
    item = page.locator("#timeline li.timeline-item").first.bounding_box()
    assert item["width"] >= width * 0.6 - 60
    _shot(page, f"customer-page-{width}")
    page.click(".quick-action[data-action=contact]")
    assert page.evaluate(SIDEWAYS) <= 0
    _shot(page, f"customer-page-log-contact-{width}")


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_a_complaints_page_has_the_same_shape_and_fits(app, live_server, open_page, clerks_customer, width, height):
    """Does a complaint's page show its state, due time, customer to call and next steps in a header, and fit a laptop
    and a phone without sideways scrolling?"""
    from crmadmin.extensions import db
    from crmadmin.models import Complaint
    from sqlalchemy import select

    username, customer_id = clerks_customer
    with app.app_context():
        complaint_id = db.session.scalar(select(Complaint.id).where(Complaint.customer_id == customer_id))
    page = open_page(width, height)
    sign_in(page, live_server, username)
    page.goto(f"{live_server}/admin/complaint/details/?id={complaint_id}")
    head = page.locator(".customer-head")
    expect(head.locator(".complaint-status")).to_be_visible()
    expect(head.locator(".customer-mobile a[href^='tel:']")).to_have_text("138 1234 5678")
    expect(head.locator("a.complaint-move").first).to_be_visible()
    assert page.evaluate(SIDEWAYS) <= 0
    _shot(page, f"complaint-page-{width}")
