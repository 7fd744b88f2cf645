"""The customer's page as a workplace (客户360, issue 28): header, quick actions by permission, and one timeline of
everything about the customer, keyset-paged, the operation log's part only for its readers, the data scope kept."""
from html import unescape
import re
from datetime import datetime, timedelta

import pytest
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.localtime import business_zone
from crmadmin.models import Complaint, Interaction, Transaction, User, utcnow
from crmadmin.reports.timeline import Cursor, timeline
from crmadmin.standing import today
from tests import factories
from tests.conftest import log_entries, sign_in
from tests.forms import read_form, submit

PAGE = "/admin/customer/details/?id={}"


def _items(html: str) -> list[tuple[str, int]]:
    """(kind, id) of the timeline's items, in the order shown."""
    return [(kind, int(i)) for kind, i in re.findall(r'<li class="timeline-item[^"]*" data-kind="(\w+)" data-id="(\d+)"',
                                                     html)]


def _actions(html: str) -> set[str]:
    return set(re.findall(r'class="btn btn-sm [\w-]+ quick-action" data-action="(\w+)"', html))


def _owner(app, full):
    """A client signed in as the clerk who owns the full customer."""
    client = app.test_client()
    sign_in(client, full["clerk"])
    return client


@pytest.fixture
def full(app):
    """A clerk's customer with one record of every kind, and a colleague's customer."""
    with app.app_context():
        clerk = factories.user("clerk")
        customer = factories.customer(name="Wang Full", kind="company", owner_id=clerk.id, mobile="+8613812345678",
                                      email="full@example.com", address=None, notes=None)
        factories.transaction(customer, product="Premium membership", occurred_at=utcnow() - timedelta(days=5))
        factories.interaction(customer, summary="Asked about renewal", occurred_at=utcnow() - timedelta(days=4))
        factories.complaint(customer, subject="Wrong invoice amount", received_at=utcnow() - timedelta(days=3))
        factories.participant(factories.campaign(name="Newsletter 2026"), customer, response="responded",
                              responded_at=utcnow() - timedelta(days=2))
        factories.survey(customer, score=9, comment="Quick service")
        other = factories.customer(name="Li Other", owner_id=factories.user("clerk").id)
        factories.transaction(other, product="Spare parts set")
        return {"clerk": clerk.username, "customer": customer.id, "other": other.id}


def test_the_header_names_the_customer_with_badges_and_links_to_call_and_write(app, full, login_as):
    """Does the header show name, kind, tier and stage with their reasons, owner, a tel: and a mailto: link with copy
    buttons, and the next follow-up?"""
    page = login_as("supervisor").get(PAGE.format(full["customer"])).get_data(as_text=True)
    head = page.split('class="customer-head"')[1].split("</header>")[0]
    assert "Wang Full" in head and ">Company<" in head
    assert 'class="badge badge-primary customer-tier"' in head and 'id="tier-why"' in head
    assert 'class="badge badge-secondary customer-stage"' in head and 'id="stage-why"' in head
    assert 'href="tel:+8613812345678">138 1234 5678</a>' in head
    assert 'href="mailto:full@example.com"' in head
    assert head.count('class="btn btn-sm btn-link crm-copy"') == 2
    assert full["clerk"] in head and "Next follow-up" in head
    assert 'id="fa_filter"' not in page  # no filter box on a record's page
    assert "{% block" not in page and 'id="details"' in page


def test_empty_fields_are_left_out_of_the_details(app, full, login_as):
    """Are the customer's empty fields (no address, no notes) hidden, the filled ones shown?"""
    page = login_as("supervisor").get(PAGE.format(full["customer"])).get_data(as_text=True)
    details = page.split('id="details"')[1].split("</section>")[0]
    assert 'data-field="region"' in details and 'data-field="industry"' in details
    assert 'data-field="address"' not in details and 'data-field="notes"' not in details


@pytest.mark.parametrize("role, expected", [
    ("administrator", {"contact", "purchase", "complaint", "campaign", "survey", "edit", "correct"}),
    ("supervisor", {"contact", "purchase", "complaint", "campaign", "survey", "edit", "correct"}),
    ("clerk", {"contact", "purchase", "complaint", "survey", "edit", "correct"}),
    ("auditor", set()),
])
def test_quick_actions_are_only_those_the_role_may_take(app, login_as, role, expected):
    """Which quick actions does each role get on a customer's page (the auditor none, the clerk no campaigns)?"""
    client = login_as(role)
    with app.app_context():
        owner = db.session.scalar(select(User.id).where(User.username == client.username))
        customer = factories.customer(owner_id=owner)
    page = client.get(PAGE.format(customer.id)).get_data(as_text=True)
    assert _actions(page) == expected
    if not expected:
        assert 'class="quick-actions"' not in page


def test_each_quick_action_opens_its_form_with_this_customer_and_returns_here(app, full, login_as):
    """Does each create form start with the customer picked and come back to the customer's page after saving?"""
    client = login_as("supervisor")
    page = client.get(PAGE.format(full["customer"])).get_data(as_text=True)
    links = dict(re.findall(r'data-action="(\w+)" href="([^"]+)"', page))
    for key in ("purchase", "complaint", "campaign", "survey", "contact", "edit"):
        query = parse_qs(urlsplit(unescape(links[key])).query)
        assert query["url"] == [PAGE.format(full["customer"])], key
    for key in ("purchase", "complaint", "campaign", "survey"):
        form = client.get(links[key].replace("&amp;", "&")).get_data(as_text=True)
        assert re.search(r'<input[^>]*data-json="\[%d, &#34;Wang Full&#34;\]"' % full["customer"], form) or \
            f'value="{full["customer"]}"' in form, key


def test_a_clerk_is_never_preset_with_another_owners_customer(app, full, login_as, snapshot):
    """Opening a create form with a colleague's customer id: is the customer field left empty (nothing leaks)?"""
    client = login_as("clerk")
    before = snapshot()
    for endpoint in ("transaction", "complaint", "survey"):
        form = client.get(f"/admin/{endpoint}/new/?customer_id={full['other']}").get_data(as_text=True)
        assert "Li Other" not in form, endpoint
    assert snapshot() == before


def test_a_complaint_registered_from_the_page_comes_back_and_shows_in_the_timeline(app, full, login_as):
    """A clerk registers a complaint from the quick action: saved for this customer, back on the page, in the
    timeline?"""
    client = _owner(app, full)
    page = client.get(PAGE.format(full["customer"])).get_data(as_text=True)
    url = dict(re.findall(r'data-action="(\w+)" href="([^"]+)"', page))["complaint"].replace("&amp;", "&")
    response = submit(client, url, {"subject": "Broken seal on delivery", "description": "The box was open"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(PAGE.format(full["customer"]))
    page = client.get(PAGE.format(full["customer"])).get_data(as_text=True)
    assert "Broken seal on delivery" in page.split('id="timeline"')[1]
    assert _items(page)[0][0] == "complaint"


def test_a_logged_contact_appears_first_in_the_timeline(app, full, login_as):
    """A contact logged through the quick action's form: is it in the timeline, newest first, with its summary?"""
    client = _owner(app, full)
    page = client.get(PAGE.format(full["customer"])).get_data(as_text=True)
    url = dict(re.findall(r'data-action="(\w+)" href="([^"]+)"', page))["contact"].replace("&amp;", "&")
    form = client.get(url).get_data(as_text=True)
    data = read_form(form, "log-contact")
    data.update(summary="Called: will renew next month")
    response = client.post(url, data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE.format(full["customer"]))
    page = client.get(PAGE.format(full["customer"])).get_data(as_text=True)
    first = page.split('<li class="timeline-item')[1]
    assert 'data-kind="contact"' in first and "Called: will renew next month" in first


def test_the_timeline_holds_every_kind_newest_first(app, full, login_as):
    """Does the timeline show purchases, contacts, complaints with state, campaign responses and survey answers of
    this customer only, newest first?"""
    page = login_as("supervisor").get(PAGE.format(full["customer"])).get_data(as_text=True)
    kinds = [k for k, _ in _items(page) if k != "change"]
    assert kinds == ["survey", "campaign", "complaint", "contact", "purchase"]
    timeline_html = page.split('id="timeline"')[1]
    for text in ("Premium membership", "Asked about renewal", "Wrong invoice amount", "Received", "Newsletter 2026",
                 "Responded", "Quick service"):
        assert text in timeline_html, text
    assert "Spare parts set" not in page


def test_the_timeline_filters_by_kind(app, full, login_as):
    """Does ?kind=contact show the contacts alone, and link the full list of this customer's contacts?"""
    page = login_as("supervisor").get(PAGE.format(full["customer"]) + "&kind=contact").get_data(as_text=True)
    assert {k for k, _ in _items(page)} == {"contact"}
    assert f"/admin/interaction/?customer_id={full['customer']}" in page
    assert 'aria-current="page">Contacts<' in page


@pytest.fixture
def crowded(app):
    """A customer with 45 purchases, 12 contacts, 5 complaints and 4 survey answers, many at the very same time."""
    with app.app_context():
        customer = factories.customer()
        same = datetime(2026, 3, 1, 8, 30)
        rows = []
        for n in range(45):
            rows.append(Transaction(customer_id=customer.id, product=f"P{n}", quantity=1, amount=1, currency="CNY",
                                    occurred_at=same if n % 3 == 0 else same - timedelta(hours=n), channel="store",
                                    status="paid"))
        for n in range(12):
            rows.append(Interaction(customer_id=customer.id, channel="phone", direction="outbound", summary=f"C{n}",
                                    occurred_at=same if n % 2 == 0 else same - timedelta(hours=n)))
        db.session.add_all(rows)
        db.session.commit()
        for n in range(5):
            factories.complaint(customer, received_at=same)
        for n in range(4):
            factories.survey(customer, answered_on=(same - timedelta(days=n)).date())
        factories.survey(customer, answered_on=datetime(2026, 3, 2).date())
        return customer.id


def test_keyset_pages_return_every_item_exactly_once(app, crowded, login_as):
    """Walking the timeline page by page through its Older links: is every record there once, in order, even among
    items of several kinds at the very same time?"""
    client = login_as("supervisor")
    seen, url, pages = [], PAGE.format(crowded), 0
    while url:
        html = client.get(url.replace("&amp;", "&")).get_data(as_text=True)
        seen += [item for item in _items(html) if item[0] != "change"]
        older = re.search(r'class="btn btn-sm btn-outline-secondary timeline-older" href="([^"]+)"', html)
        url, pages = (older.group(1) if older else None), pages + 1
    assert pages == 4  # 67 items, 20 a page
    assert len(seen) == len(set(seen)) == 45 + 12 + 5 + 5
    with app.app_context():
        offset = int(datetime.now(business_zone()).utcoffset().total_seconds() // 60)  # as the page reads a day
        keys = db.session.execute(timeline(crowded, size=1000, utc_offset_minutes=offset)).all()
        assert [(k.kind, k.id) for k in keys] == seen
        ordered = sorted(keys, key=lambda k: (str(k.moment)[:19], k.kind, k.id), reverse=True)
        assert [(k.kind, k.id) for k in ordered] == seen


def test_keyset_pages_by_kind_and_a_bad_cursor_starts_at_the_newest(app, crowded, login_as):
    """Does paging within one kind keep to it, and is a forged cursor the first page rather than an error?"""
    client = login_as("supervisor")
    html = client.get(PAGE.format(crowded) + "&kind=purchase").get_data(as_text=True)
    first = _items(html)
    older = re.search(r'timeline-older" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    second = _items(client.get(older).get_data(as_text=True))
    assert {k for k, _ in first + second} == {"purchase"} and not set(first) & set(second)
    for bad in ("x", "2026-13-01T00:00:00~purchase~1", "2026-03-01T08:30:00~nope~1", "2026-03-01T08:30:00+08:00~purchase~1"):
        response = client.get(PAGE.format(crowded) + "&before=" + bad)
        assert response.status_code == 200 and _items(response.get_data(as_text=True)) == first[:0] + _items(
            client.get(PAGE.format(crowded)).get_data(as_text=True))


def test_a_page_of_the_timeline_costs_the_same_at_any_length(app, login_as, count_queries):
    """Do a customer with 3 purchases and one with 300 take the same number of statements to open?"""
    client = login_as("supervisor")
    with app.app_context():
        small, large = factories.customer(), factories.customer()
        db.session.add_all([Transaction(customer_id=c.id, product="P", quantity=1, amount=1, currency="CNY",
                                        occurred_at=utcnow() - timedelta(hours=n), channel="store", status="paid")
                            for c, n in [(small, n) for n in range(3)] + [(large, n) for n in range(300)]])
        db.session.commit()

    def statements(customer_id):
        client.get(PAGE.format(customer_id))
        with count_queries() as found:
            client.get(PAGE.format(customer_id))
        return len(found)

    assert statements(large.id) == statements(small.id)


def test_changes_from_the_log_only_for_those_who_may_read_it(app, full, login_as):
    """Are the customer's logged changes in the timeline for the supervisor and auditor, and not for a clerk?"""
    with app.app_context():
        entries = log_entries(app, record_type="customer", record_id=str(full["customer"]))
    assert entries
    for role, shown in (("supervisor", True), ("auditor", True)):
        page = login_as(role).get(PAGE.format(full["customer"])).get_data(as_text=True)
        assert ("change", entries[-1].id) in _items(page), role
    client = _owner(app, full)
    page = client.get(PAGE.format(full["customer"])).get_data(as_text=True)
    assert not [k for k, _ in _items(page) if k == "change"]
    assert client.get(PAGE.format(full["customer"]) + "&kind=change").status_code == 200
    assert not [k for k, _ in _items(client.get(PAGE.format(full["customer"]) + "&kind=change")
                                      .get_data(as_text=True)) if k == "change"]


def test_a_scoped_clerk_cannot_open_another_owners_timeline(app, full, snapshot):
    """A clerk opening a colleague's customer, any page or kind of its timeline: not found, nothing changed?"""
    client = _owner(app, full)
    before = snapshot()
    for extra in ("", "&kind=purchase", "&before=2030-01-01T00:00:00~purchase~999"):
        response = client.get(PAGE.format(full["other"]) + extra)
        assert response.status_code == 404
        assert "Spare parts set" not in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_cursor_reads_and_writes_the_same(app):
    """Is a cursor's text read back as the same cursor?"""
    cursor = Cursor(datetime(2026, 3, 1, 8, 30, 0, 123456), "purchase", 42)
    assert Cursor.parse(cursor.text()) == cursor
    assert Cursor.parse(None) is None


def _neighbours(html: str) -> tuple[int | None, int | None]:
    found = {}
    for name in ("previous", "next"):
        match = re.search(rf'class="btn btn-sm btn-outline-secondary customer-{name}" href="[^"]*\?id=(\d+)', html)
        found[name] = int(match.group(1)) if match else None
    return found["previous"], found["next"]


def test_next_and_previous_follow_the_customer_list_it_was_opened_from(app, login_as):
    """Opened from a searched customer list, does the page offer the customers either side in that list's order (and
    keep the list's address for the next one)?"""
    client = login_as("supervisor")
    with app.app_context():
        a, b, c = (factories.customer(name=f"Neighbour {n}").id for n in "ABC")
        factories.customer(name="Stranger")
    listed = "/admin/customer/?search=Neighbour"
    page = client.get(f"/admin/customer/details/?id={b}&url={listed}").get_data(as_text=True)
    assert _neighbours(page) == (c, a)  # newest first, as the list is
    assert "url=/admin/customer/?search%3DNeighbour" in page
    assert _neighbours(client.get(f"/admin/customer/details/?id={c}&url={listed}").get_data(as_text=True)) == (None, b)
    assert _neighbours(client.get(f"/admin/customer/details/?id={b}").get_data(as_text=True)) == (None, None)


def test_next_and_previous_follow_the_follow_up_list(app, login_as):
    """Opened from the follow-ups list (?from=), are the neighbours those due just before and after?"""
    client = login_as("supervisor")
    with app.app_context():
        ids = []
        for days in (3, 2, 1):
            customer = factories.customer()
            factories.interaction(customer, next_follow_up_on=today() - timedelta(days=days))
            ids.append(customer.id)
    page = client.get(f"/admin/customer/details/?id={ids[1]}&from=/admin/followups/").get_data(as_text=True)
    assert _neighbours(page) == (ids[0], ids[2])
    # and the list's own links lead there: its customer names carry the list (with its tab) along
    listed = client.get("/admin/followups/?bucket=overdue").get_data(as_text=True)
    link = re.search(rf'href="(/admin/customer/details/\?id={ids[1]}&[^"]*)"', listed).group(1).replace("&amp;", "&")
    assert "from=/admin/followups/?bucket%3Doverdue" in link or "from=/admin/followups/?bucket=overdue" in link
    assert _neighbours(client.get(link).get_data(as_text=True)) == (ids[0], ids[2])


@pytest.mark.parametrize("target", ["https://evil.example/admin/customer/", "//evil.example/admin/customer/",
                                    "/admin/transaction/", "/admin/customer/?flt0_0=not-a-number&sort=99"])
def test_a_foreign_or_odd_list_address_gives_no_neighbours_and_no_error(app, login_as, target):
    """Is a `from` address off this site or of another list ignored, and an odd one harmless?"""
    client = login_as("supervisor")
    with app.app_context():
        first, second = factories.customer().id, factories.customer().id
    response = client.get("/admin/customer/details/", query_string={"id": first, "from": target})
    assert response.status_code == 200
    if not target.startswith("/admin/customer/"):
        assert _neighbours(response.get_data(as_text=True)) == (None, None)


def test_a_scoped_clerks_neighbours_are_their_own_customers(app, full):
    """Does a clerk's next customer skip a colleague's, even when the list address asks for all?"""
    client = _owner(app, full)
    with app.app_context():
        owner = db.session.scalar(select(User.id).where(User.username == full["clerk"]))
        newer = factories.customer(owner_id=owner).id
    page = client.get(f"/admin/customer/details/?id={full['customer']}&url=/admin/customer/").get_data(as_text=True)
    assert _neighbours(page) == (newer, None)


def test_a_complaints_page_has_a_header_with_its_customer_and_hides_empty_fields(app, full, login_as):
    """Does a complaint's page name its state and customer (a link, a tel: to call) and leave out empty fields?"""
    with app.app_context():
        complaint_id = db.session.scalar(select(Complaint.id).where(Complaint.customer_id == full["customer"]))
    page = login_as("supervisor").get(f"/admin/complaint/details/?id={complaint_id}").get_data(as_text=True)
    head = page.split('class="customer-head"')[1].split("</header>")[0]
    assert "Wrong invoice amount" in head and 'class="badge badge-secondary complaint-status"' in head
    assert PAGE.format(full["customer"]) in head and 'href="tel:+8613812345678"' in head
    details = page.split('id="details"')[1].split("</section>")[0]
    assert 'data-field="description"' in details and 'data-field="solution"' not in details
    assert 'id="fa_filter"' not in page
