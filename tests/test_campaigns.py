"""Campaigns: target lists built from segments, responses moved forward, and the results on hand-built data."""
import csv
import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from crmadmin.extensions import db
from crmadmin.models import AuditEntry, Campaign, CampaignParticipant, Customer, CustomerStanding, User, utcnow
from crmadmin.reports.campaigns import Results, campaign_cost
from tests import factories
from tests.exporting import download, export, start, wait
from tests.forms import csrf_token, read_form
from tests.pages import listed_ids

CAMPAIGN_CLERK = "campaign clerk"  # may build lists and record responses, for their own customers only


# --- helpers ---------------------------------------------------------------------------------------
def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def set_standing(customer, tier: str | None, stage: str) -> None:
    """Give a customer a tier and stage directly (the rules would need a purchase history for each)."""
    with db.engine.begin() as connection:
        connection.execute(CustomerStanding.__table__.update()
                           .where(CustomerStanding.__table__.c.customer_id == customer.id)
                           .values(tier=tier, stage=stage))


def on_list(app, campaign_id: int) -> dict[int, str | None]:
    """customer id -> segment, for everyone on a campaign's target list."""
    with app.app_context():
        return dict(db.session.execute(select(CampaignParticipant.customer_id, CampaignParticipant.segment)
                                       .where(CampaignParticipant.campaign_id == campaign_id)).all())


def responses(app, campaign_id: int) -> dict[int, tuple]:
    """customer id -> (response, responded_at)."""
    with app.app_context():
        return {c: (r, at) for c, r, at in db.session.execute(
            select(CampaignParticipant.customer_id, CampaignParticipant.response, CampaignParticipant.responded_at)
            .where(CampaignParticipant.campaign_id == campaign_id))}


def preview(client, campaign_id: int, **criteria):
    """Open the target list page with these criteria: (count it announces, the page)."""
    response = client.get("/admin/campaign/targets/", query_string={"id": campaign_id, **criteria})
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    found = re.search(r'class="segment-count" data-count="(\d+)"', html)
    return (int(found.group(1)) if found else None), html


def add(client, campaign_id: int, **criteria):
    """Preview, then press the add button as a browser would: (count previewed, response to the POST)."""
    count, html = preview(client, campaign_id, **criteria)
    assert count, f"nothing to add for {criteria}"
    return count, client.post(f"/admin/campaign/targets/?id={campaign_id}", data=adding_form(html))


def adding_form(html: str) -> MultiDict:
    """The add button's form: hidden fields only, a name repeated once per chosen value, as a browser sends it."""
    form = re.search(r'<form [^>]*id="add-targets".*?</form>', html, re.S).group(0)
    return MultiDict([(unescape(name), unescape(value)) for name, value in
                      re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)])


@pytest.fixture
def customers(app, login_as):
    """Four customers that differ in every criterion, two clerks who own some of them, and a running campaign.

    A: high, loyal, 华东, Retail, website, "VIP, 重点客户", clerk one   B: medium, active, 华北, Finance, referral,
    "wholesale", clerk two   C: no tier, potential, 华东, Finance, exhibition, "non-VIP", nobody   D: low, at risk,
    华南, Retail, website, no tags, clerk one
    """
    with app.app_context():
        factories.role(CAMPAIGN_CLERK, {"campaigns.view", "campaigns.edit", "customers.view"},
                       own_customers_only=True)
    clerk_one, clerk_two = login_as(CAMPAIGN_CLERK), login_as(CAMPAIGN_CLERK)
    one, two = user_id(app, clerk_one.username), user_id(app, clerk_two.username)
    with app.app_context():
        made = {
            "A": factories.customer(name="A", region="华东", industry="Retail", source="website",
                                    tags="VIP, 重点客户", owner_id=one),
            "B": factories.customer(name="B", region="华北", industry="Finance", source="referral",
                                    tags="wholesale", owner_id=two),
            "C": factories.customer(name="C", region="华东", industry="Finance", source="exhibition",
                                    tags="non-VIP", owner_id=None),
            "D": factories.customer(name="D", region="华南", industry="Retail", source="website", tags=None,
                                    owner_id=one),
        }
        for key, (tier, stage) in {"A": ("high", "loyal"), "B": ("medium", "active"), "C": (None, "potential"),
                                   "D": ("low", "at_risk")}.items():
            set_standing(made[key], tier, stage)
        campaign = factories.campaign(status="running", name="Autumn appreciation event")
    return {"ids": {k: c.id for k, c in made.items()}, "names": {c.id: k for k, c in made.items()},
            "campaign": campaign.id, "one": one, "two": two, "clerk_one": clerk_one, "clerk_two": clerk_two}


# --- building the target list ---------------------------------------------------------------------
CRITERIA = [
    ({"tier": "high"}, "A"),
    ({"tier": "none"}, "C"),
    ({"tier": ["high", "low"]}, "AD"),
    ({"stage": "at_risk"}, "D"),
    ({"stage": "potential"}, "C"),
    ({"region": "华东"}, "AC"),
    ({"industry": "Finance"}, "BC"),
    ({"source": "website"}, "AD"),
    ({"tags": "vip"}, "A"),  # a whole tag, any case: not C's "non-VIP"
    ({"tags": "重点客户"}, "A"),
    ({"tags": "Wholesale，VIP"}, "AB"),  # any of them; a Chinese comma separates too
    ({"owner": "one"}, "AD"),
    ({"owner": "none"}, "C"),
    ({"region": "华东", "tier": ["high", "medium"]}, "A"),  # every criterion must hold
    ({"industry": "Retail", "stage": ["loyal", "at_risk"], "source": "website"}, "AD"),
]


@pytest.mark.parametrize("criteria, expected", CRITERIA)
def test_a_segment_adds_exactly_its_customers_and_the_preview_said_how_many(app, login_as, customers, criteria,
                                                                             expected):
    """Does each kind of criterion pick the right customers, and does the preview count equal the rows added?"""
    client = login_as("supervisor")
    if criteria.get("owner") == "one":
        criteria = {**criteria, "owner": str(customers["one"])}
    count, response = add(client, customers["campaign"], **criteria, label="Wave 1")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/campaign/details/?id={customers['campaign']}")
    listed = on_list(app, customers["campaign"])
    assert sorted(customers["names"][c] for c in listed) == sorted(expected)
    assert count == len(listed) == len(expected)
    assert set(listed.values()) == {"Wave 1"}
    assert set(r for r, _at in responses(app, customers["campaign"]).values()) == {"invited"}


def test_the_preview_shows_the_customers_it_adds(login_as, customers):
    """Does the preview list the segment's customers (and not the others) before anything is added?"""
    count, html = preview(login_as("supervisor"), customers["campaign"], region="华东")
    assert count == 2
    sample = re.findall(r'<tr data-customer="(\d+)">', html)
    assert sorted(int(i) for i in sample) == sorted([customers["ids"]["A"], customers["ids"]["C"]])
    assert 'id="add-targets"' in html


def test_adding_a_segment_is_one_statement_and_one_log_entry(app, login_as, customers, count_queries):
    """Is the batch one INSERT ... SELECT, logged as one bulk entry naming the campaign, criteria and rows?"""
    client = login_as("supervisor")
    _count, html = preview(client, customers["campaign"], industry="Finance", tags="wholesale, vip")
    form = adding_form(html)
    with count_queries() as statements:
        response = client.post(f"/admin/campaign/targets/?id={customers['campaign']}", data=form)
    assert response.status_code == 302
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO CAMPAIGN_PARTICIPANT")]
    assert len(inserts) == 1 and "SELECT" in inserts[0].upper() and "EXISTS" in inserts[0].upper()
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "bulk_insert")).all()
        assert len(entries) == 1
        entry = entries[0]
        assert (entry.record_type, entry.record_id, entry.source) == ("campaign", str(customers["campaign"]), "web")
        details = json.loads(entry.changes)
        assert details["rows"] == 1 and details["campaign"] == "Autumn appreciation event"
        assert details["criteria"] == {"industries": ["Finance"], "tags": ["wholesale", "vip"]}
        assert details["segment"] == "Industry: Finance · Tags: wholesale, vip"  # named after the criteria
        assert not db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "campaign_participant")).all()
    assert list(on_list(app, customers["campaign"]).values()) == ["Industry: Finance · Tags: wholesale, vip"]
    history = client.get(f"/admin/campaign/details/?id={customers['campaign']}").get_data(as_text=True)
    assert "Bulk load" in history  # in the campaign's own history
    entry_page = client.get(f"/admin/auditentry/details/?id={entry.id}")
    # the event's "what", in the reader's words (admin/history.py)
    assert entry_page.status_code == 200 and "Campaign targets" in entry_page.get_data(as_text=True)


def test_adding_a_segment_twice_or_an_overlapping_one_adds_nobody_twice(app, login_as, customers):
    """Run twice, or overlapping another segment: is every customer on the list once, in the segment that added them?"""
    client = login_as("supervisor")
    add(client, customers["campaign"], region="华东", label="East")
    _count, html = preview(client, customers["campaign"], region="华东", label="East")
    assert "This segment adds 0 customers to the list." in html and 'id="add-targets"' not in html
    # the same POST again (a second tab, a double click): nothing added, nothing logged
    posted = client.post(f"/admin/campaign/targets/?id={customers['campaign']}",
                         data={"region": "华东", "label": "East", "csrf_token": csrf_token(html)})
    assert posted.status_code == 302
    count, _response = add(client, customers["campaign"], source="website", label="Web")
    assert count == 1  # A is on the list already: only D is new
    names = {customers["names"][c]: segment for c, segment in on_list(app, customers["campaign"]).items()}
    assert names == {"A": "East", "C": "East", "D": "Web"}
    assert len(log_of(app, "bulk_insert")) == 2


def log_of(app, action: str) -> list:
    with app.app_context():
        return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_a_clerk_limited_to_own_customers_adds_only_their_own(app, customers, snapshot):
    """Whatever the criteria say, even a forged owner, does a scoped clerk add only the customers they own?"""
    client = customers["clerk_one"]
    count, html = preview(client, customers["campaign"], region="华东")
    assert count == 1 and 'name="owner"' not in html  # A only: C (华东 too) is nobody's
    _count, response = add(client, customers["campaign"], industry=["Retail", "Finance"])
    assert response.status_code == 302
    assert sorted(customers["names"][c] for c in on_list(app, customers["campaign"])) == ["A", "D"]
    token = csrf_token(html)
    client.post(f"/admin/campaign/targets/?id={customers['campaign']}",
                data={"owner": [str(customers["two"]), "none"], "csrf_token": token})
    client.post(f"/admin/campaign/targets/?id={customers['campaign']}",
                data={"tags": "wholesale", "csrf_token": token})
    assert sorted(customers["names"][c] for c in on_list(app, customers["campaign"])) == ["A", "D"]
    assert json.loads(log_of(app, "bulk_insert")[0].changes)["own_customers_of"] == customers["one"]


@pytest.mark.parametrize("role", ["clerk", "auditor"])
def test_who_may_not_edit_campaigns_cannot_add_targets_and_nothing_changes(app, login_as, customers, snapshot, role):
    """Can a clerk (view only) or an auditor open the list builder or add a segment?"""
    client = login_as(role)
    url = f"/admin/campaign/targets/?id={customers['campaign']}"
    assert client.get(url + "&region=华东").status_code == 403
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    assert client.post(url, data={"region": "华东", "csrf_token": token}).status_code == 403
    assert snapshot() == rows
    assert "/admin/campaign/targets/" not in client.get(f"/admin/campaign/details/?id={customers['campaign']}") \
        .get_data(as_text=True)


def test_a_forged_or_expired_form_adds_nothing(login_as, customers, snapshot):
    """Without its CSRF token, is the add refused with nothing stored?"""
    client = login_as("supervisor")
    rows = snapshot()
    response = client.post(f"/admin/campaign/targets/?id={customers['campaign']}", data={"region": "华东"})
    assert response.status_code == 400
    assert snapshot() == rows


@pytest.mark.parametrize("status", ["finished", "cancelled"])
def test_a_finished_or_cancelled_campaign_gets_no_new_targets(app, login_as, customers, snapshot, status):
    """Is adding to the list of a campaign that is over refused with a message, changing nothing?"""
    client = login_as("supervisor")
    with app.app_context():
        campaign = factories.campaign(status=status)
    _count, html = preview(client, campaign.id, region="华东")
    assert "Targets can be added while a campaign is planned or running" in html and 'id="add-targets"' not in html
    rows = snapshot()
    response = client.post(f"/admin/campaign/targets/?id={campaign.id}",
                           data={"region": "华东", "csrf_token": csrf_token(html)})
    assert response.status_code == 200
    assert snapshot() == rows
    assert "/admin/campaign/targets/" not in client.get(f"/admin/campaign/details/?id={campaign.id}") \
        .get_data(as_text=True)


def test_no_criterion_or_a_bad_owner_is_refused_with_a_message(login_as, customers, snapshot):
    """Would an empty segment add every customer, or a malformed owner break the page?"""
    client = login_as("supervisor")
    count, html = preview(client, customers["campaign"], tags="", label="")
    assert count is None and "Choose at least one criterion." in html
    count, html = preview(client, customers["campaign"], owner="'; drop table customer")
    assert count is None and "Choose owners from the list." in html
    rows = snapshot()
    client.post(f"/admin/campaign/targets/?id={customers['campaign']}", data={"csrf_token": csrf_token(html)})
    assert snapshot() == rows


def test_an_unknown_campaign_is_not_found(login_as):
    client = login_as("supervisor")
    assert client.get("/admin/campaign/targets/?id=999").status_code == 404
    assert client.get("/admin/campaign/targets/?id=x").status_code == 404
    assert client.get("/admin/campaign/targets/").status_code == 404


# --- responses ------------------------------------------------------------------------------------
@pytest.fixture
def answered(app, customers):
    """Participants at every step: A invited, B responded (a week ago), C attended, D converted."""
    week_ago = utcnow().replace(microsecond=0) - timedelta(days=7)
    with app.app_context():
        campaign = db.session.get(Campaign, customers["campaign"])
        ids = {}
        for key, response in zip("ABCD", ("invited", "responded", "attended", "converted")):
            row = factories.participant(campaign, db.session.get(Customer, customers["ids"][key]), response=response,
                                        responded_at=None if response == "invited" else week_ago)
            ids[key] = row.id
    return {**customers, "participants": ids, "week_ago": week_ago}


def act(client, action: str, ids) -> object:
    token = csrf_token(client.get("/admin/campaignparticipant/").get_data(as_text=True))
    return client.post("/admin/campaignparticipant/action/",
                       data={"action": action, "rowid": [str(i) for i in ids], "csrf_token": token})


def test_marking_attended_moves_each_participant_forward_and_never_back(app, login_as, answered):
    """Invited and responded move to attended; converted stays; the first response time is kept or set now."""
    client = login_as("supervisor")
    before = utcnow().replace(microsecond=0)
    response = act(client, "attended", answered["participants"].values())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 participants marked as Attended." in page
    assert "2 were already as far or further along and were left as they were." in page
    found = {answered["names"][c]: value for c, value in responses(app, answered["campaign"]).items()}
    assert {k: r for k, (r, _at) in found.items()} == {"A": "attended", "B": "attended", "C": "attended",
                                                       "D": "converted"}
    assert found["A"][1] >= before  # first response now
    assert found["B"][1] == found["C"][1] == found["D"][1] == answered["week_ago"]  # kept


def test_a_participant_may_jump_straight_to_converted(app, login_as, answered):
    """A customer who buys straight from the invitation: may they be marked converted at once?"""
    client = login_as("supervisor")
    act(client, "converted", [answered["participants"]["A"]])
    assert responses(app, answered["campaign"])[answered["ids"]["A"]][0] == "converted"
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.record_type == "campaign_participant", AuditEntry.action == "update")).one()
        assert json.loads(entry.changes)["response"] == ["invited", "converted"]


@pytest.mark.parametrize("role", ["clerk", "auditor"])
def test_who_may_not_edit_campaigns_cannot_move_responses(login_as, answered, snapshot, role):
    client = login_as(role)
    rows = snapshot()
    assert act(client, "converted", answered["participants"].values()).status_code == 403
    assert snapshot() == rows


def test_a_scoped_clerk_cannot_move_a_colleagues_participant_and_the_batch_stays_whole(app, answered, snapshot):
    """With one colleague's participant among the chosen, is the whole batch refused, changing nothing?"""
    client = answered["clerk_one"]
    rows = snapshot()
    ids = [answered["participants"]["A"], answered["participants"]["B"]]  # A is theirs, B is clerk two's
    response = act(client, "responded", ids)
    assert "Nothing was changed." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert snapshot() == rows
    act(client, "responded", [answered["participants"]["A"]])
    assert responses(app, answered["campaign"])[answered["ids"]["A"]][0] == "responded"


def test_responses_of_a_cancelled_campaign_are_not_recorded(app, login_as, answered, snapshot):
    client = login_as("supervisor")
    with app.app_context():
        campaign = db.session.get(Campaign, answered["campaign"])
        campaign.status = "cancelled"
        db.session.commit()
    rows = snapshot()
    response = act(client, "responded", [answered["participants"]["A"]])
    assert "was cancelled" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert snapshot() == rows


def test_moving_back_is_a_correction_in_the_edit_form(app, login_as, answered):
    """Can a converted participant be put back to invited, only by editing, with the response time cleared?"""
    client = login_as("supervisor")
    url = f"/admin/campaignparticipant/edit/?id={answered['participants']['D']}"
    form = read_form(client.get(url).get_data(as_text=True))
    refused = client.post(url, data={**form, "response": "invited"})
    assert refused.status_code == 200
    assert "An invited customer has not responded yet" in refused.get_data(as_text=True)
    assert responses(app, answered["campaign"])[answered["ids"]["D"]][0] == "converted"
    assert client.post(url, data={**form, "response": "invited", "responded_at": ""}).status_code == 302
    assert responses(app, answered["campaign"])[answered["ids"]["D"]] == ("invited", None)


def test_a_response_saved_in_the_form_gets_its_time(app, login_as, answered):
    client = login_as("supervisor")
    url = f"/admin/campaignparticipant/edit/?id={answered['participants']['A']}"
    form = read_form(client.get(url).get_data(as_text=True))
    assert client.post(url, data={**form, "response": "responded"}).status_code == 302
    response, at = responses(app, answered["campaign"])[answered["ids"]["A"]]
    assert response == "responded" and at is not None


# --- results ----------------------------------------------------------------------------------------
class _Figures(HTMLParser):
    """data-figure cells: the campaign's own (outside the segment table) and per segment row."""

    def __init__(self):
        super().__init__()
        self.all, self.segments, self._key, self._segment = {}, {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-segment" in attrs:
            self._segment = attrs["data-segment"]
            self.segments[self._segment] = {}
        if "data-figure" in attrs:
            self._key = attrs["data-figure"]
            target = self.segments[self._segment] if self._segment else self.all
            target[self._key] = ""

    def handle_data(self, data):
        if self._key:
            target = self.segments[self._segment] if self._segment else self.all
            target[self._key] += data

    def handle_endtag(self, tag):
        if tag == "tr":
            self._segment = None
        if tag in ("div", "td", "a") and self._key and tag != "a":
            target = self.segments[self._segment] if self._segment else self.all
            target[self._key] = " ".join(target[self._key].split())
            self._key = None


def results_page(client, campaign_id: int):
    response = client.get(f"/admin/campaign/details/?id={campaign_id}")
    assert response.status_code == 200
    parser = _Figures()
    parser.feed(response.get_data(as_text=True))
    return parser.all, parser.segments


@pytest.fixture
def results_book(app, login_as):
    """A campaign of cost 1,000 with ten on its list: Gold (4: one at each step), Silver (4: three invited, one
    converted), two added one by one (invited); paid purchases attributed to it: Gold 1,500, Silver 300, and 200 by
    a customer not on the list. A refund and a purchase of another campaign do not count.

    Expected: response rate 4/10, attended 3, conversions 2, revenue 2,000, cost per conversion 500, ROI 100%;
    each segment bears cost by size: Gold 400 (ROI 275%), Silver 400 (ROI −25%), one by one 200 (ROI −100%, no
    conversion so no cost per conversion)."""
    clerk = login_as("clerk")
    mine = user_id(app, clerk.username)
    with app.app_context():
        campaign = factories.campaign(status="finished", actual_cost=Decimal("1000.00"), budget=Decimal("5000.00"))
        other = factories.campaign(status="finished")
        people = [factories.customer(owner_id=mine if i == 3 else None) for i in range(11)]
        plan = [("Gold", "invited"), ("Gold", "responded"), ("Gold", "attended"), ("Gold", "converted"),
                ("Silver", "invited"), ("Silver", "invited"), ("Silver", "invited"), ("Silver", "converted"),
                (None, "invited"), (None, "invited")]
        for person, (segment, response) in zip(people, plan):
            factories.participant(campaign, person, segment=segment, response=response,
                                  responded_at=None if response == "invited" else utcnow())
        factories.transaction(people[3], amount=Decimal("1500.00"), campaign_id=campaign.id)
        factories.transaction(people[3], amount=Decimal("500.00"), campaign_id=campaign.id, status="refunded")
        factories.transaction(people[3], amount=Decimal("800.00"), campaign_id=other.id)
        factories.transaction(people[7], amount=Decimal("300.00"), campaign_id=campaign.id)
        factories.transaction(people[10], amount=Decimal("200.00"), campaign_id=campaign.id)
    return {"campaign": campaign.id, "clerk": clerk}


def test_the_campaign_page_shows_its_results_in_all_and_per_segment(login_as, results_book):
    """Response rate, attendance, conversions, revenue, cost per conversion and ROI: the known answers?"""
    figures, segments = results_page(login_as("supervisor"), results_book["campaign"])
    assert {k: figures[k] for k in ("invited", "response_rate", "attended", "converted", "revenue", "cost",
                                    "cost_from", "cost_per_conversion", "roi")} == {
        "invited": "10", "response_rate": "40.0%", "attended": "3", "converted": "2", "revenue": "2,000.00",
        "cost": "1,000.00", "cost_from": "actual cost", "cost_per_conversion": "500.00", "roi": "100.0%"}
    columns = ("invited", "responded", "response_rate", "attended", "converted", "revenue", "cost",
               "cost_per_conversion", "roi")
    table = {name: tuple(row[k] for k in columns) for name, row in segments.items()}
    assert table == {
        "Gold": ("4", "3", "75.0%", "2", "1", "1,500.00", "400.00", "400.00", "275.0%"),
        "Silver": ("4", "1", "25.0%", "1", "1", "300.00", "400.00", "400.00", "-25.0%"),
        "Added one by one": ("2", "0", "0.0%", "0", "0", "0.00", "200.00", "—", "-100.0%"),
        "Not on the target list": ("0", "0", "—", "0", "0", "200.00", "—", "—", "—"),
    }


def test_a_scoped_viewer_sees_their_part_and_no_cost_figures(results_book):
    """A clerk sees their own customer's part of the list and revenue, and no cost per conversion or ROI."""
    figures, segments = results_page(results_book["clerk"], results_book["campaign"])
    assert (figures["invited"], figures["converted"], figures["revenue"]) == ("1", "1", "1,500.00")
    assert (figures["cost_per_conversion"], figures["roi"]) == ("—", "—")
    assert list(segments) == ["Gold"] and segments["Gold"]["cost"] == "—"


def test_revenue_is_shown_only_to_those_who_may_view_transactions(app, login_as, results_book):
    with app.app_context():
        factories.role("campaign reader", {"campaigns.view"})
    response = login_as("campaign reader").get(f"/admin/campaign/details/?id={results_book['campaign']}")
    html = response.get_data(as_text=True)
    assert 'data-figure="revenue"' not in html and 'data-figure="roi"' not in html
    assert "2,000.00" not in html and "1,500.00" not in html


@pytest.mark.parametrize("actual, budget, cost, source, per_conversion, roi", [
    ("0.00", "800.00", "0.00", "actual cost", "0.00", "—"),  # a free campaign: nothing per conversion, no ratio
    (None, "800.00", "800.00", "budget", "400.00", "-75.0%"),  # no actual cost yet: the budget stands in
    (None, None, "—", "", "—", "—"),
])
def test_zero_or_unknown_cost_gives_a_dash_not_an_error(app, login_as, actual, budget, cost, source,
                                                        per_conversion, roi):
    with app.app_context():
        campaign = factories.campaign(status="running", actual_cost=None if actual is None else Decimal(actual),
                                      budget=None if budget is None else Decimal(budget))
        for response in ("converted", "converted"):
            customer = factories.customer()
            factories.participant(campaign, customer, response=response, responded_at=utcnow())
        factories.transaction(customer, amount=Decimal("200.00"), campaign_id=campaign.id)
    figures, _segments = results_page(login_as("supervisor"), campaign.id)
    assert (figures["cost"], figures["cost_from"], figures["cost_per_conversion"], figures["roi"]) == (
        cost, source, per_conversion, roi)


def test_an_empty_campaign_divides_by_nothing(app, login_as):
    with app.app_context():
        campaign = factories.campaign(status="planned", actual_cost=Decimal("0"))
    figures, segments = results_page(login_as("supervisor"), campaign.id)
    assert (figures["invited"], figures["response_rate"], figures["converted"], figures["cost_per_conversion"],
            figures["roi"]) == ("0", "—", "0", "—", "—")
    assert segments == {}


def test_the_figures_divide_safely():
    """Results on its own: every ratio with a zero or unknown part is None."""
    r = Results(invited=0, responded=0, attended=0, converted=0, revenue=Decimal("0"), cost=Decimal("0"))
    assert (r.response_rate, r.attendance_rate, r.cost_per_conversion, r.roi) == (None, None, None, None)
    r = Results(invited=8, responded=2, attended=1, converted=1, revenue=Decimal("90"), cost=Decimal("60"))
    assert (r.response_rate, r.cost_per_conversion, r.roi) == (0.25, Decimal("60"), Decimal("0.5"))
    assert Results(8, 2, 1, 1, None, Decimal("60")).roi is None
    assert Results(8, 2, 1, 1, Decimal("90"), Decimal("60"), whole_list=False).cost_per_conversion is None
    assert Results(8, 2, 1, 1, Decimal("90"), Decimal("60"), all_revenue=False).roi is None
    assert campaign_cost(None, Decimal("5")) == (Decimal("5"), "budget")
    assert campaign_cost(Decimal("0"), Decimal("5")) == (Decimal("0"), "actual")


def _grow(app, campaign_id: int, n: int, segments: int) -> None:
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        for i in range(n):
            customer = factories.customer()
            factories.participant(campaign, customer, segment=f"S{i % segments}",
                                  response=("invited", "converted")[i % 2])
            factories.transaction(customer, campaign_id=campaign_id)


def test_the_results_page_runs_as_many_statements_for_30_participants_as_for_3(app, login_as, count_queries):
    """No statement per participant or per segment on the campaign's page."""
    client = login_as("supervisor")
    with app.app_context():
        campaign = factories.campaign(status="running", actual_cost=Decimal("100"))
    url = f"/admin/campaign/details/?id={campaign.id}"

    def statements():
        client.get(url)
        with count_queries() as run:
            assert client.get(url).status_code == 200
        return len(run)

    _grow(app, campaign.id, 3, 1)
    few = statements()
    _grow(app, campaign.id, 27, 6)
    many = statements()
    assert few == many, f"{few} statements for 3 participants, {many} for 30"
    assert many <= 10


# --- comparison -------------------------------------------------------------------------------------
@pytest.fixture
def compared(app, login_as):
    """Launch (ROI 100%), Seminar (ROI −50%), Greeting (cost 0: no ROI), Cancelled (budget 10,000, ROI −100%)."""
    with app.app_context():
        def campaign(name, status, kind, starts, cost, revenue, answers):
            c = factories.campaign(name=name, status=status, type=kind, starts_on=starts, actual_cost=cost)
            for response in answers:
                customer = factories.customer()
                factories.participant(c, customer, response=response)
            if revenue:
                factories.transaction(customer, amount=revenue, campaign_id=c.id)
            return c.id
        return {
            "Launch": campaign("Launch", "finished", "product_launch", date(2025, 3, 1), Decimal("1000"),
                               Decimal("2000"), ["converted", "invited", "invited", "invited"]),
            "Seminar": campaign("Seminar", "finished", "seminar", date(2025, 6, 1), Decimal("400"),
                                Decimal("200"), ["responded", "converted"]),
            "Greeting": campaign("Greeting", "running", "care_action", date(2025, 9, 1), Decimal("0"),
                                 None, ["invited", "responded", "responded"]),
            "Cancelled": campaign("Cancelled", "cancelled", "promotion", date(2025, 10, 1), None, None, []),
        }


def comparison(client, **args) -> list[tuple[str, dict]]:
    response = client.get("/admin/campaigncomparison/", query_string=args)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = []
    for row in re.findall(r'<tr data-campaign="\d+">(.*?)</tr>', html, re.S):
        name = re.search(r"<a [^>]*>([^<]+)</a>", row).group(1)
        cells = dict(re.findall(r'data-figure="(\w+)">([^<]*)', row))
        rows.append((name, {k: v.strip() for k, v in cells.items()}))
    return rows


def test_campaigns_side_by_side_with_their_figures(login_as, compared):
    rows = dict(comparison(login_as("supervisor")))
    assert rows["Launch"] == {"invited": "4", "responded": "1", "response_rate": "25.0%", "converted": "1",
                              "revenue": "2,000.00", "cost": "1,000.00", "cost_from": "actual cost",
                              "cost_per_conversion": "1,000.00", "roi": "100.0%"}
    assert (rows["Seminar"]["response_rate"], rows["Seminar"]["cost_per_conversion"], rows["Seminar"]["roi"]) \
        == ("100.0%", "400.00", "-50.0%")
    assert (rows["Greeting"]["cost_per_conversion"], rows["Greeting"]["roi"]) == ("—", "—")


def test_the_comparison_sorts_and_filters(login_as, compared):
    client = login_as("supervisor")
    assert [n for n, _ in comparison(client)] == ["Cancelled", "Greeting", "Seminar", "Launch"]  # newest first
    # Cancelled has no actual cost: its budget of 10,000 stands in (ROI −100%); Greeting cost nothing: no ROI, last
    assert [n for n, _ in comparison(client, sort="roi", order="desc")] == ["Launch", "Seminar", "Cancelled",
                                                                            "Greeting"]
    assert [n for n, _ in comparison(client, sort="response_rate", order="asc")][:3] == ["Launch", "Greeting",
                                                                                        "Seminar"]
    assert [n for n, _ in comparison(client, status="finished")] == ["Seminar", "Launch"]
    assert [n for n, _ in comparison(client, type="seminar")] == ["Seminar"]
    assert [n for n, _ in comparison(client, starts_from="2025-05-01", starts_until="2025-09-30")] == [
        "Greeting", "Seminar"]
    assert len(comparison(client, starts_from="not a date")) == 4  # a bad date is ignored, with a warning


def test_the_comparison_hides_revenue_from_those_who_may_not_see_it(app, login_as, compared):
    with app.app_context():
        factories.role("campaign reader", {"campaigns.view"})
    client = login_as("campaign reader")
    rows = dict(comparison(client, sort="roi"))
    assert "revenue" not in rows["Launch"] and "roi" not in rows["Launch"]
    assert [n for n, _ in comparison(client, sort="revenue")] == ["Cancelled", "Greeting", "Seminar", "Launch"]


def test_the_comparison_exports_every_campaign_and_logs_it(app, login_as, compared, job_worker):
    """Does the comparison's Export start a job whose CSV holds every campaign the filters select, sorted, with plain
    numbers, and is the export logged?"""
    client = login_as("auditor")
    response = export(client, "/admin/campaigncomparison/export/?status=finished&sort=roi&order=desc")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "campaign_comparison.csv" in response.headers["Content-Disposition"]
    assert response.get_data().startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    # a negative return is a number, not neutralised like text that starts with "-"
    assert [(r["Campaign"], r["Return on investment"], r["Cost per conversion"]) for r in rows] == [
        ("Launch", "1.0000", "1000.00"), ("Seminar", "-0.5000", "400.00")]
    entry = log_of(app, "export")[-1]
    details = json.loads(entry.changes)
    assert details["screen"] == "campaigncomparison" and details["rows"] == 2


def test_the_comparison_file_is_its_owners_and_404_to_another_user(app, login_as, compared, job_worker, snapshot):
    """Is the comparison's file downloaded by the user who exported it, and 404 (nothing changed, nothing logged)
    to another user who may export comparisons too?"""
    owner, other = login_as("supervisor"), login_as("supervisor")
    job_id = start(owner, "/admin/campaigncomparison/export/")
    status = wait(owner, job_id)
    assert status["state"] == "done"
    assert download(owner, status["download"]).status_code == 200
    rows, downloads = snapshot(), len(log_of(app, "download"))
    for url in (status["download"], f"/admin/jobs/job?id={job_id}", f"/admin/jobs/status?id={job_id}"):
        assert other.get(url).status_code == 404, url
    assert snapshot() == rows and len(log_of(app, "download")) == downloads == 1


def test_the_comparison_runs_the_same_statements_for_2_campaigns_as_for_12(app, login_as, count_queries):
    client = login_as("supervisor")

    def statements():
        client.get("/admin/campaigncomparison/")
        with count_queries() as run:
            assert client.get("/admin/campaigncomparison/").status_code == 200
        return len(run)

    with app.app_context():
        for _ in range(2):
            factories.participant(factories.campaign(), factories.customer())
    few = statements()
    with app.app_context():
        for _ in range(10):
            factories.participant(factories.campaign(), factories.customer())
    assert statements() == few


def test_the_dashboard_counts_cost_and_return_as_the_campaign_page_does(app, login_as):
    """No actual cost yet: do the dashboard and the campaign page both take the budget, and agree on the return?"""
    client = login_as("supervisor")
    with app.app_context():
        campaign = factories.campaign(status="running", actual_cost=None, budget=Decimal("800.00"))
        customer = factories.customer()
        factories.participant(campaign, customer, response="converted", responded_at=utcnow())
        factories.transaction(customer, amount=Decimal("1000.00"), campaign_id=campaign.id)
    home = client.get("/admin/").get_data(as_text=True)
    assert re.search(rf'data-figure="campaign:{campaign.id}:return">\s*25%', home)
    assert "800.00 (budget)" in home
    figures, _segments = results_page(client, campaign.id)
    assert (figures["cost"], figures["cost_from"], figures["roi"]) == ("800.00", "budget", "25.0%")


def test_each_segment_links_to_its_participants(app, login_as, results_book):
    """Does a segment's name on the campaign page open the participant list of that segment only?"""
    client = login_as("supervisor")
    html = client.get(f"/admin/campaign/details/?id={results_book['campaign']}").get_data(as_text=True)
    row = r'<tr class="campaign-segment[^"]*" data-segment="[^"]*">\s*<td><a href="([^"]+)">([^<]+)</a>'
    links = {unescape(name): unescape(url) for url, name in re.findall(row, html)}
    with app.app_context():
        segments = dict(db.session.execute(select(CampaignParticipant.id, CampaignParticipant.segment)
                                           .where(CampaignParticipant.campaign_id == results_book["campaign"])).all())
    assert set(links) == {"Gold", "Silver", "Added one by one"}
    for name, segment in (("Gold", "Gold"), ("Silver", "Silver"), ("Added one by one", None)):
        assert listed_ids(client, links[name]) == {i for i, s in segments.items() if s == segment}
