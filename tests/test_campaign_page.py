"""A campaign's page in the customer page's shape (issue 28): a header with its state, dates, counts and owner, the
quick actions the role may take, and a timeline of its participants' responses, keyset-paged, in the viewer's scope."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import CampaignParticipant, utcnow
from tests import factories
from tests.conftest import sign_in

PAGE = "/admin/campaign/details/?id={}"


def _items(html: str) -> list[int]:
    """The participant ids of the timeline's responses, in the order shown."""
    return [int(i) for i in re.findall(r'<li class="timeline-item" data-kind="response" data-id="(\d+)"', html)]


def _actions(html: str) -> list[str]:
    return re.findall(r'class="btn btn-sm [\w-]+ quick-action" data-action="(\w+)"', html)


def _older(html: str) -> str | None:
    found = re.search(r'class="btn btn-sm btn-outline-secondary timeline-older" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _responses(campaign, customers, start, response="responded"):
    """Participants who responded an hour apart (every third at the same moment as the one before), newest last."""
    rows = []
    for n, customer in enumerate(customers):
        at = start + timedelta(hours=n - n % 3 if n % 3 == 1 else n)
        rows.append(CampaignParticipant(campaign_id=campaign.id, customer_id=customer.id, response=response,
                                        responded_at=at.replace(microsecond=0)))
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


@pytest.fixture
def book(app):
    """A running campaign: a clerk's two customers responded, a colleague's one converted, one only invited."""
    with app.app_context():
        clerk, colleague = factories.user("clerk"), factories.user("clerk")
        owner = factories.user("supervisor", display_name="Zhou Owner")
        campaign = factories.campaign(name="Autumn customer evening", status="running", owner_id=owner.id,
                                      type="appreciation_event", description=None)
        mine = [factories.customer(name=f"Mine {n}", owner_id=clerk.id) for n in range(2)]
        theirs = factories.customer(name="Theirs Only", owner_id=colleague.id)
        quiet = factories.customer(name="Quiet Invitee", owner_id=clerk.id)
        start = utcnow() - timedelta(days=3)
        ids = _responses(campaign, mine, start)
        converted = _responses(campaign, [theirs], start + timedelta(days=1), "converted")
        factories.participant(campaign, quiet)
        return {"clerk": clerk.username, "campaign": campaign.id, "mine": ids, "theirs": converted[0]}


def test_the_header_names_the_campaign_with_its_state_dates_counts_and_owner(app, book, login_as):
    """Name, state, kind, channel, dates, target list of 4, 3 responded, 75.0 %, the owner: all in the header?"""
    html = login_as("supervisor").get(PAGE.format(book["campaign"])).get_data(as_text=True)
    head = html.split('<header class="customer-head">')[1].split("</header>")[0]
    for words in ("Autumn customer evening", 'data-status="running"', "Customer appreciation event", "Zhou Owner",
                  "75.0%"):
        assert words in head, words
    assert re.search(r'campaign-invited"><a [^>]+>4</a>', head) and 'campaign-responded">3<' in head
    assert re.search(r'campaign-dates">\d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d<', head)
    assert 'data-field="description"' not in html  # empty fields left out


@pytest.mark.parametrize("role, expected", [
    ("supervisor", ["targets", "participant", "response", "edit", "results", "compare"]),
    ("administrator", ["targets", "participant", "response", "edit", "results", "compare"]),
    ("clerk", ["results", "compare"]),
    ("auditor", ["results", "compare"]),
])
def test_quick_actions_are_only_those_the_role_may_take(app, book, login_as, role, expected):
    """Does each role see exactly the actions its rights allow, and does each one open?"""
    client = login_as(role)
    html = client.get(PAGE.format(book["campaign"])).get_data(as_text=True)
    assert _actions(html) == expected
    for url in re.findall(r'quick-action" data-action="\w+" href="([^"#]+)"', html):
        assert client.get(url.replace("&amp;", "&")).status_code == 200, url


def test_a_finished_campaign_offers_no_adding(app, book, login_as):
    """A finished campaign's list is history: no adding customers, responses still recorded?"""
    with app.app_context():
        db.session.get(factories.Campaign, book["campaign"]).status = "finished"
        db.session.commit()
    html = login_as("supervisor").get(PAGE.format(book["campaign"])).get_data(as_text=True)
    assert _actions(html) == ["response", "edit", "results", "compare"]


def test_adding_a_customer_from_the_page_starts_with_this_campaign(app, book, login_as):
    """Does "Add a customer" open the participant form with the campaign chosen and come back here?"""
    client = login_as("supervisor")
    html = client.get(PAGE.format(book["campaign"])).get_data(as_text=True)
    url = re.search(r'data-action="participant" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    form = client.get(url).get_data(as_text=True)
    assert re.search(r'name="campaign"[^>]*value="%d"' % book["campaign"], form) or \
        re.search(r'value="%d"[^>]*name="campaign"' % book["campaign"], form)
    assert url.endswith(f"url=/admin/campaign/details/?id%3D{book['campaign']}")  # back here after saving


def test_the_timeline_shows_each_response_newest_first_and_filters_by_response(app, book, login_as):
    """Three responses (not the invitee), newest first; "Converted" shows only the conversion?"""
    client = login_as("supervisor")
    html = client.get(PAGE.format(book["campaign"])).get_data(as_text=True)
    assert _items(html) == [book["theirs"], *reversed(book["mine"])]
    assert "Quiet Invitee" not in html.split('id="timeline"')[1].split("</section>")[0]
    converted = client.get(PAGE.format(book["campaign"]) + "&response=converted").get_data(as_text=True)
    assert _items(converted) == [book["theirs"]]


def test_a_scoped_clerk_sees_only_their_own_customers_responses(app, book):
    """A clerk limited to their own customers: their two responses, not the colleague's conversion?"""
    client = app.test_client()
    sign_in(client, book["clerk"])
    html = client.get(PAGE.format(book["campaign"])).get_data(as_text=True)
    assert sorted(_items(html)) == sorted(book["mine"]) and "Theirs Only" not in html
    assert "Counts and responses of your own customers." in html


def test_keyset_pages_return_every_response_exactly_once(app, login_as):
    """Walking 47 responses (many at the same moment) by the Older links: each once, in order, then no more?"""
    with app.app_context():
        campaign = factories.campaign()
        customers = [factories.customer() for _ in range(47)]
        ids = _responses(campaign, customers, utcnow() - timedelta(days=5))
        campaign_id = campaign.id
    client = login_as("supervisor")
    seen, url, pages = [], PAGE.format(campaign_id), 0
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += _items(html)
        url, pages = _older(html), pages + 1
    assert pages == 3 and len(seen) == len(set(seen)) == 47
    with app.app_context():
        stored = db.session.execute(select(CampaignParticipant.id, CampaignParticipant.responded_at)
                                    .where(CampaignParticipant.id.in_(ids))).all()
    assert seen == [i for i, _ in sorted(stored, key=lambda r: (r[1], r[0]), reverse=True)]
    for bad in ("x", "2026-13-01T00:00:00~1", "2026-03-01T08:30:00+08:00~1", "2026-03-01T08:30:00~y"):
        assert _items(client.get(PAGE.format(campaign_id) + "&before=" + bad).get_data(as_text=True)) == seen[:20]


def test_a_page_of_the_timeline_costs_the_same_at_any_size(app, login_as, count_queries):
    """Do a campaign with 3 responses and one with 300 take the same number of statements to open?"""
    with app.app_context():
        small, large = factories.campaign(), factories.campaign()
        customers = [factories.customer() for _ in range(300)]
        _responses(small, customers[:3], utcnow() - timedelta(days=2))
        _responses(large, customers, utcnow() - timedelta(days=20))
        small_id, large_id = small.id, large.id
    client = login_as("supervisor")

    def statements(campaign_id):
        client.get(PAGE.format(campaign_id))
        with count_queries() as found:
            assert client.get(PAGE.format(campaign_id)).status_code == 200
        return len(found)

    assert statements(large_id) == statements(small_id)


@pytest.mark.parametrize("role", ["clerk", "auditor", "supervisor"])
def test_a_role_without_campaigns_cannot_open_the_page_and_nothing_changes(app, book, login_as, snapshot, role):
    """A role without campaigns.view (a custom one) gets 403, and reading the page changes nothing for any role?"""
    with app.app_context():
        factories.role("no campaigns", {"customers.view"})
        user = factories.user("no campaigns")
        name = user.username
    client, reader = app.test_client(), login_as(role)
    sign_in(client, name)
    before = snapshot()
    assert client.get(PAGE.format(book["campaign"])).status_code == 403
    assert reader.get(PAGE.format(book["campaign"])).status_code == 200
    assert snapshot() == before
