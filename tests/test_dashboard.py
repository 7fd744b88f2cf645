"""The dashboard (home page): figures over the viewer's data scope, each a link to the list it counts."""
import json
import re
import time as time_module
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crmadmin.extensions import cache, db
from crmadmin.models import CustomerStanding, User, utcnow
from crmadmin.reports.dashboard import month_firsts
from crmadmin.standing import today
from tests import factories
from tests.pages import FigureParser, figures_on, listed_ids
from tests.test_browser import browser, live_server, page, sign_in  # noqa: F401 (fixtures)


def figures(client) -> dict[str, tuple[str, str | None]]:
    return figures_on(client, "/admin/")


def number(shown: str) -> Decimal:
    return Decimal(shown.replace(",", ""))


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_a_clerk_counts_only_their_own_customers_revenue_and_complaints_while_a_supervisor_counts_all(app, login_as):
    """Does a clerk's dashboard count only their own book, and a supervisor's everyone's?"""
    clerk, supervisor = login_as("clerk"), login_as("supervisor")
    with app.app_context():
        me, other = user_id(app, clerk.username), factories.user("clerk")
        mine = [factories.customer(owner_id=me, source="referral", region="华南") for _ in range(2)]
        theirs = [factories.customer(owner_id=other.id, source="exhibition", region="西北") for _ in range(3)]
        factories.transaction(mine[0], amount=Decimal("100.00"))
        factories.transaction(theirs[0], amount=Decimal("250.00"))
        factories.complaint(mine[0], due_at=utcnow() - timedelta(hours=1))
        for customer in theirs[:2]:
            factories.complaint(customer, due_at=utcnow() - timedelta(hours=1))
        factories.interaction(theirs[2], next_follow_up_on=today() - timedelta(days=2))

    seen = figures(clerk)
    assert number(seen["customers:customers"][0]) == 2
    assert number(seen["source:referral:customers"][0]) == 2
    assert number(seen["source:exhibition:customers"][0]) == 0
    assert "region:西北:customers" not in seen
    assert number(seen["customers:overdue"][0]) == 0
    assert number(seen["revenue:revenue"][0]) == Decimal("100.00")
    assert number(seen["complaints:open"][0]) == 1
    assert number(seen["complaints:past_due"][0]) == 1

    seen = figures(supervisor)
    assert number(seen["customers:customers"][0]) == 5
    assert number(seen["source:exhibition:customers"][0]) == 3
    assert number(seen["region:西北:customers"][0]) == 3
    assert number(seen["customers:overdue"][0]) == 1
    assert number(seen[f"overdue:{other.username}:customers"][0]) == 1
    assert number(seen["revenue:revenue"][0]) == Decimal("350.00")
    assert number(seen["complaints:open"][0]) == 3


def test_each_section_shows_only_for_a_role_that_may_view_its_records(app, login_as):
    """Does a role without complaints.view (or transactions.view) see no such section, while one with it does?"""
    with app.app_context():
        factories.role("file keeper", {"customers.view"})
        factories.role("campaign reader", {"campaigns.view"})
        factories.customer(owner_id=factories.user("clerk").id)
    keeper = login_as("file keeper").get("/admin/").get_data(as_text=True)
    assert 'id="section-customers"' in keeper
    for hidden in ("section-complaints", "section-revenue", "section-campaigns", "/admin/complaint/",
                   "/admin/transaction/"):
        assert hidden not in keeper

    reader = login_as("campaign reader").get("/admin/").get_data(as_text=True)
    assert 'id="section-campaigns"' in reader and 'id="section-customers"' not in reader
    assert "Revenue (paid)" not in reader  # no revenue without transactions.view

    clerk = login_as("clerk").get("/admin/").get_data(as_text=True)
    for shown in ("section-customers", "section-revenue", "section-complaints", "section-campaigns"):
        assert f'id="{shown}"' in clerk


def test_a_role_with_no_record_rights_gets_a_page_without_figures(app, login_as):
    """Does a user whose roles see no records still get a working home page, with nothing counted?"""
    with app.app_context():
        factories.role("nobody", set())
        factories.customer()
    page = login_as("nobody").get("/admin/")
    assert page.status_code == 200
    assert "data-figure" not in page.get_data(as_text=True)


def _a_varied_book(app):
    """Customers in every tier, 12 regions and none, overdue follow-ups, complaints of every kind, campaigns."""
    with app.app_context():
        owners = [factories.user("clerk"), factories.user("clerk")]
        customers = []
        for i in range(14):
            owner = owners[i % 2].id if i < 12 else None
            region = f"Region {i:02d}" if i < 12 else None
            customers.append(factories.customer(owner_id=owner, region=region,
                                                source=None if i == 13 else ("website", "referral")[i % 2]))
        for _ in range(4):
            factories.transaction(customers[0], amount=Decimal("6000.00"))
        for _ in range(2):
            factories.transaction(customers[1], amount=Decimal("3000.00"))
        factories.transaction(customers[2], amount=Decimal("100.00"))
        factories.transaction(customers[3], amount=Decimal("80.00"), status="refunded")
        for customer in customers[4:7] + customers[12:]:
            factories.interaction(customer, next_follow_up_on=today() - timedelta(days=3))
        past, soon = utcnow() - timedelta(hours=2), utcnow() + timedelta(days=2)
        factories.complaint(customers[0], urgency="urgent", due_at=past)
        factories.complaint(customers[1], urgency="urgent", due_at=soon)
        factories.complaint(customers[2], urgency="common_question", due_at=past, status="in_progress")
        factories.complaint(customers[3], urgency="normal", status="closed", satisfaction_score=5)
        factories.complaint(customers[4], urgency="normal", status="closed", satisfaction_score=2)
        factories.complaint(customers[5], urgency="urgent", due_at=past, status="rejected")
        campaign = factories.campaign(status="finished", actual_cost=Decimal("1000.00"))
        for customer, response in zip(customers, ("converted", "attended", "responded", "invited", "invited")):
            factories.participant(campaign, customer, response=response)
        factories.transaction(customers[0], amount=Decimal("1500.00"), campaign_id=campaign.id)
        factories.campaign(status="planned")
        return customers, campaign


@pytest.mark.parametrize("role", ["supervisor", "clerk"])
def test_every_count_links_to_a_list_of_exactly_the_rows_it_counts(app, login_as, role):
    """Does each figure lead to a list with exactly as many rows as it says, for a supervisor and a clerk?"""
    client = login_as(role)
    customers, _campaign = _a_varied_book(app)
    if role == "clerk":  # give the clerk a share of the book
        with app.app_context():
            me = db.session.get(User, user_id(app, client.username))
            for customer in customers[:6]:
                db.session.get(type(customer), customer.id).owner_id = me.id
            db.session.commit()
    seen = figures(client)
    counted = {key: (int(number(text)), href) for key, (text, href) in seen.items()
               if href and re.fullmatch(r"[\d,]+", text) and ":revenue" not in key}
    assert len(counted) > 30
    for key, (count, href) in counted.items():
        assert len(listed_ids(client, href)) == count, f"{key}: {count} counted, list at {href}"
    if role == "supervisor":
        assert int(number(seen["region:other:customers"][0])) == 2
        assert int(number(seen["region:none:customers"][0])) == 2
        assert int(number(seen["tier:high:customers"][0])) == 1
        assert int(number(seen["overdue:none:customers"][0])) == 2
        assert int(number(seen["complaints:past_due"][0])) == 2


def test_the_tier_link_lists_exactly_the_customers_in_that_tier(app, login_as):
    """Following 'medium value' shows the very customers whose standing is medium, and no one else."""
    client = login_as("supervisor")
    _a_varied_book(app)
    with app.app_context():
        medium = set(db.session.scalars(select(CustomerStanding.customer_id).where(CustomerStanding.tier == "medium")))
    assert medium
    shown, href = figures(client)["tier:medium:customers"]
    assert int(shown) == len(medium)
    assert listed_ids(client, href) == medium


def test_revenue_by_month_counts_paid_purchases_only_in_their_local_month(app, login_as):
    """Are refunded and pending purchases left out, and each paid one counted in its month (CRM_TIMEZONE)?"""
    client = login_as("supervisor")
    zone = ZoneInfo(app.config["CRM_TIMEZONE"])
    firsts = month_firsts(today())

    def at(first, day=2):  # noon local time on a day of that month, stored as naive UTC
        local = datetime.combine(first.replace(day=day), time(12), zone)
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    with app.app_context():
        customer = factories.customer()
        this, two_ago, too_old = firsts[-2], firsts[-4], firsts[0].replace(year=firsts[0].year - 1)
        paid = [factories.transaction(customer, amount=Decimal("100.00"), occurred_at=at(this)).id,
                factories.transaction(customer, amount=Decimal("20.50"), occurred_at=at(this, 1)).id]
        factories.transaction(customer, amount=Decimal("50.00"), occurred_at=at(this), status="refunded")
        factories.transaction(customer, amount=Decimal("70.00"), occurred_at=at(this), status="pending")
        earlier = factories.transaction(customer, amount=Decimal("200.00"), occurred_at=at(two_ago)).id
        factories.transaction(customer, amount=Decimal("999.00"), occurred_at=at(too_old))
    seen = figures(client)
    months = {key.split(":")[1]: (number(text), href) for key, (text, href) in seen.items()
              if key.startswith("revenue:") and key.count(":") == 2}
    assert len(months) == 12
    assert months[f"{this:%Y-%m}"][0] == Decimal("120.50")
    assert months[f"{two_ago:%Y-%m}"][0] == Decimal("200.00")
    assert sum(amount for amount, _href in months.values()) == Decimal("320.50")
    assert number(seen["revenue:revenue"][0]) == Decimal("320.50")
    assert listed_ids(client, months[f"{this:%Y-%m}"][1]) == set(paid)
    assert listed_ids(client, months[f"{two_ago:%Y-%m}"][1]) == {earlier}


def test_campaign_response_rate_and_return(app, login_as):
    """Response rate counts responded, attended and converted; return is (paid revenue − cost) / cost."""
    supervisor, clerk = login_as("supervisor"), login_as("clerk")
    with app.app_context():
        me = user_id(app, clerk.username)
        mine = factories.customer(owner_id=me)
        others = [factories.customer() for _ in range(3)]
        campaign = factories.campaign(status="running", actual_cost=Decimal("1000.00"))
        for customer, response in zip([mine] + others, ("converted", "attended", "invited", "responded")):
            factories.participant(campaign, customer, response=response)
        factories.transaction(mine, amount=Decimal("600.00"), campaign_id=campaign.id)
        factories.transaction(others[0], amount=Decimal("900.00"), campaign_id=campaign.id)
        factories.transaction(others[0], amount=Decimal("500.00"), campaign_id=campaign.id, status="refunded")
        factories.campaign(status="planned")
    seen = figures(supervisor)
    key = f"campaign:{campaign.id}"
    assert [seen[f"{key}:{k}"][0] for k in ("invited", "responded", "converted", "rate", "revenue", "return")] \
        == ["4", "3", "1", "75%", "1,500.00", "50%"]
    assert len([k for k in seen if k.startswith("campaign:") and k.endswith(":invited")]) == 1  # planned: not yet

    seen = figures(clerk)  # their own customers' part only; no return on a part of the revenue
    assert [seen[f"{key}:{k}"][0] for k in ("invited", "responded", "converted", "revenue", "return")] \
        == ["1", "1", "1", "600.00", "—"]


def test_the_page_runs_under_the_content_security_policy(app, login_as):
    """No inline script without the nonce, no style attribute; the chart data is JSON, one canvas per chart."""
    client = login_as("auditor")
    _a_varied_book(app)
    response = client.get("/admin/")
    html = response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy
    assert not re.search(r"\sstyle=", html)
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
        if body.strip():
            assert 'type="application/json"' in attributes or f'nonce="{nonce}"' in attributes, attributes
    assert f'nonce="{nonce}" src="/static/vendor/chartjs/chart.umd.min.js"' in html
    data = re.search(r'<script type="application/json" id="dashboard-charts">(.*?)</script>', html, re.S).group(1)
    charts = json.loads(data)
    assert {c["id"] for c in charts} >= {"tier", "stage", "region", "source", "overdue", "revenue", "complaints",
                                          "csat", "campaigns"}
    for chart in charts:
        assert f'id="chart-{chart["id"]}"' in html
        assert all(len(ds["urls"]) == len(ds["values"]) == len(chart["labels"]) for ds in chart["datasets"])
    for script in ("vendor/chartjs/chart.umd.min.js", "js/dashboard.js"):
        with client.get(f"/static/{script}") as served:
            assert served.status_code == 200


def _book_of(app, n: int):
    with app.app_context():
        owners = [factories.user("clerk") for _ in range(2)]
        campaign = factories.campaign(status="running", actual_cost=Decimal("100.00"))
        for i in range(n):
            customer = factories.customer(owner_id=owners[i % 2].id, region=f"R{i % 13}",
                                          source=("website", "referral", "exhibition")[i % 3])
            factories.transaction(customer, campaign_id=campaign.id if i % 2 else None)
            factories.complaint(customer, urgency=("urgent", "normal")[i % 2], due_at=utcnow() - timedelta(hours=1),
                                status=("received", "closed")[i % 2], satisfaction_score=(None, 4)[i % 2])
            factories.participant(campaign, customer, response=("invited", "converted")[i % 2])
            factories.interaction(customer, next_follow_up_on=today() - timedelta(days=1))


@pytest.mark.parametrize("role", ["supervisor", "clerk"])
def test_the_dashboard_runs_as_many_statements_for_30_customers_as_for_3(app, login_as, count_queries, role):
    """Does the number of SQL statements stay fixed as the book grows (no query per row, owner or campaign)?"""
    client = login_as(role)

    def statements():
        client.get("/admin/")
        with count_queries() as run:
            assert client.get("/admin/").status_code == 200
        return len(run)

    _book_of(app, 3)
    few = statements()
    _book_of(app, 27)
    many = statements()
    assert few == many, f"{few} statements for 3 customers, {many} for 30"
    assert many <= 14


def test_cached_figures_are_kept_apart_per_scope(app, login_as):
    """With the summary cache on, does a clerk get their own figures rather than the supervisor's cached ones?"""
    supervisor, clerk = login_as("supervisor"), login_as("clerk")
    with app.app_context():
        factories.customer(owner_id=user_id(app, clerk.username))
        factories.customer()
    app.config["CRM_SUMMARY_SECONDS"] = 60
    try:
        with app.app_context():
            cache.clear()
        assert figures(supervisor)["customers:customers"][0] == "2"
        assert figures(clerk)["customers:customers"][0] == "1"
        with app.app_context():
            factories.customer()
        assert figures(supervisor)["customers:customers"][0] == "2"  # cached: a summary may be this stale
    finally:
        app.config["CRM_SUMMARY_SECONDS"] = 0
        with app.app_context():
            cache.clear()


def test_a_stale_summary_is_served_at_once_and_renewed_in_the_background(app, login_as, job_worker):
    """Past its age, is a summary still shown without waiting, then recomputed by the job worker?"""
    supervisor = login_as("supervisor")
    with app.app_context():
        factories.customer()
    app.config["CRM_SUMMARY_SECONDS"] = 60
    try:
        with app.app_context():
            cache.clear()
        assert figures(supervisor)["customers:customers"][0] == "1"
        with app.app_context():
            factories.customer()
            value, _computed_at = cache.get("dashboard:customers:all")
            # computed two minutes ago: past any key's age limit (60 s and up to half again: reports.max_age)
            cache.set("dashboard:customers:all", (value, datetime.now().timestamp() - 121))
        response = supervisor.get("/admin/")
        parser = FigureParser()
        parser.feed(response.get_data(as_text=True))
        assert parser.found["customers:customers"][0].strip() == "1"  # served stale, nobody waited
        deadline = time_module.monotonic() + 20
        while figures(supervisor)["customers:customers"][0] != "2":  # the worker's recomputation has landed
            assert time_module.monotonic() < deadline, "the summary was not recomputed"
            time_module.sleep(0.05)
    finally:
        app.config["CRM_SUMMARY_SECONDS"] = 0
        with app.app_context():
            cache.clear()


@pytest.mark.browser
def test_the_charts_draw_in_a_browser_without_csp_errors(app, page, live_server):
    """Do the charts render in Chromium under the real CSP, without console errors, and does a bar open its list?"""
    _a_varied_book(app)
    with app.app_context():
        username = factories.user("supervisor").username
    sign_in(page, live_server, username)
    problems = []  # a CSP refusal shows as a console error; a missing file as a failed response
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.reload()
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-tier')")
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas[id^=chart-]')].map(c => [c.id, !!Chart.getChart(c), c.width])")
    assert len(drawn) == 9 and all(ok and width > 0 for _id, ok, width in drawn), drawn
    assert not problems, problems
    x, y = page.evaluate("""() => { const bar = Chart.getChart('chart-region').getDatasetMeta(0).data[0];
                                     return [bar.x, (bar.y + bar.base) / 2]; }""")
    box = page.locator("#chart-region").bounding_box()
    first_region = page.locator("#numbers-region a").first.get_attribute("href")
    page.mouse.click(box["x"] + x, box["y"] + y)  # a click on a bar opens the list it counts
    page.wait_for_url(re.compile(r"/admin/customer/\?flt0_"))
    assert page.url == live_server + first_region
