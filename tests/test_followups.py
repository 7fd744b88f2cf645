"""The Follow-ups screen (客户跟踪与回访): who is due, for whom, logging the contact from the row, and its cost."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import CustomerStanding, Interaction, User, utcnow
from crmadmin.reports.followups import bucket_counts
from crmadmin.standing import today
from crmadmin.standing.maintain import local
from tests import factories
from tests.exporting import export
from tests.forms import csrf_token, read_form

URL = "/admin/followups/"


def business_today(app) -> date:
    with app.app_context():
        return today()


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def due_customer(name: str, owner_id: int | None, due: date):
    """A customer whose latest contact set this due date explicitly."""
    customer = factories.customer(name=name, owner_id=owner_id, created_at=utcnow() - timedelta(days=60))
    factories.interaction(customer, next_follow_up_on=due, summary=f"Spoke with {name}")
    return customer


def listed(client, query: str = "") -> list[str]:
    """The customer names in the list's rows, in their order."""
    page = client.get(URL + query)
    assert page.status_code == 200
    table = page.get_data(as_text=True).split('class="table table-striped table-bordered table-hover model-list"')[1]
    table = table.split("</table>")[0]
    return re.findall(r'<a href="/admin/customer/details/\?id=\d+[^"]*">([^<]+)</a>', table)


def due_of(app, customer_id: int) -> date | None:
    with app.app_context():
        return db.session.get(CustomerStanding, customer_id).next_follow_up_on


def contacts_of(app, customer_id: int) -> list[tuple]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(Interaction.summary, Interaction.handled_by_id).where(Interaction.customer_id == customer_id)
            .order_by(Interaction.id))]


@pytest.fixture
def book(app, login_as):
    """A clerk with customers on each side of each bucket boundary, and a colleague with two due customers."""
    clerk = login_as("clerk")
    clerk_id = user_id(app, clerk.username)
    day = business_today(app)
    with app.app_context():
        colleague = factories.user("clerk", display_name="Colleague Zhao")
        mine = {
            "Olga Overdue": due_customer("Olga Overdue", clerk_id, day - timedelta(days=1)),
            "Tom Today": due_customer("Tom Today", clerk_id, day),
            "Sam Six": due_customer("Sam Six", clerk_id, day + timedelta(days=6)),
            "Sid Seven": due_customer("Sid Seven", clerk_id, day + timedelta(days=7)),
            "Ed Eight": due_customer("Ed Eight", clerk_id, day + timedelta(days=8)),
            # never contacted, registered 20 days ago: due at registration + 14 days, so about 6 days overdue
            "Nina Never": factories.customer(name="Nina Never", owner_id=clerk_id,
                                             created_at=utcnow() - timedelta(days=20)),
            # registered just now: due in 14 days, not this week
            "Fay Fresh": factories.customer(name="Fay Fresh", owner_id=clerk_id),
        }
        theirs = {
            "Lee Late": due_customer("Lee Late", colleague.id, day - timedelta(days=3)),
            "Ann Around": due_customer("Ann Around", colleague.id, day + timedelta(days=2)),
        }
        never_due = local(mine["Nina Never"].created_at).date() + timedelta(days=14)
    return {"client": clerk, "clerk_id": clerk_id, "colleague_id": colleague.id, "day": day,
            "mine": {k: v.id for k, v in mine.items()}, "theirs": {k: v.id for k, v in theirs.items()},
            "never_due": never_due}


# --- what is listed, and for whom ------------------------------------------------------------------
def test_each_bucket_lists_the_customers_on_its_side_of_the_boundary(book):
    """Overdue before today, due today, due this week up to today + 6 (not + 7 or + 8); most overdue first?"""
    client = book["client"]
    assert book["never_due"] < book["day"] - timedelta(days=1)  # Nina is the most overdue
    assert listed(client) == ["Nina Never", "Olga Overdue", "Tom Today", "Sam Six"]
    assert listed(client, "?due=overdue") == ["Nina Never", "Olga Overdue"]
    assert listed(client, "?due=today") == ["Tom Today"]
    assert listed(client, "?due=week") == ["Sam Six"]
    assert listed(client, "?due=nonsense") == ["Nina Never", "Olga Overdue", "Tom Today", "Sam Six"]


def test_the_rows_say_how_late_and_the_tabs_count_each_bucket(book):
    """Does a row show days overdue and the last contact's summary, and each tab its number of customers?"""
    page = book["client"].get(URL).get_data(as_text=True)
    assert "1 day overdue" in page and "Due today" in page and "in 6 days" in page
    assert "Phone: Spoke with Olga Overdue" in page and "Never contacted" in page
    tabs = dict(re.findall(r'data-bucket="(\w+)">\s*[^<]+<span class="badge badge-light">(\d+\+?)</span>', page))
    assert tabs == {"overdue": "2", "today": "1", "week": "1"}
    assert "My follow-ups" in page and "follow-up-owners" not in page


def test_a_capped_count_stops_at_the_cap(app, book):
    """Are the tab counts capped, so that a million overdue customers are not all counted on each page view?"""
    with app.app_context():
        counts = db.session.execute(bucket_counts(book["day"], cap=1)).one()._asdict()
    assert counts == {"overdue": 2, "today": 1, "week": 2}  # overdue: 3 due, counted up to cap + 1


def test_a_clerk_sees_only_their_own_due_customers(book):
    """Does a clerk's list, or any owner argument they add, show a colleague's customer?"""
    client = book["client"]
    for query in ("", "?due=overdue", f"?owner={book['colleague_id']}", "?owner=none"):
        names = listed(client, query)
        assert "Lee Late" not in names and "Ann Around" not in names, query
    assert listed(client, f"?owner={book['colleague_id']}") == listed(client)


def test_the_owner_column_is_shown_to_the_team_not_to_a_clerk(app, book, login_as):
    """Is the owner column left out of a clerk's own list (always them), and shown to a supervisor?"""
    def headers(client):
        page = client.get(URL).get_data(as_text=True)
        return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", page, re.S)]

    assert "Owner" not in headers(book["client"])
    assert "Owner" in headers(login_as("supervisor"))


def test_a_supervisor_sees_the_team_grouped_by_owner(app, book, login_as):
    """Does a supervisor see every owner's due customers, a per-owner summary, and each owner's list on a click?"""
    supervisor = login_as("supervisor")
    assert set(listed(supervisor)) == {"Nina Never", "Olga Overdue", "Tom Today", "Sam Six", "Lee Late", "Ann Around"}
    page = supervisor.get(URL).get_data(as_text=True)
    assert "Team follow-ups" in page
    summary = page.split('class="mb-3 follow-up-owners"')[1].split("</section>")[0]
    rows = {owner: re.findall(r'<td class="text-right">(?:<a href="[^"]+">)?(\d+)', row)
            for owner, row in re.findall(r'data-owner="(\w+)">(.*?)</tr>', summary, re.S)}
    assert rows == {str(book["clerk_id"]): ["2", "1", "1"], str(book["colleague_id"]): ["1", "0", "1"]}
    assert "Colleague Zhao" in summary
    assert listed(supervisor, f"?owner={book['colleague_id']}") == ["Lee Late", "Ann Around"]
    assert listed(supervisor, f"?owner={book['colleague_id']}&due=overdue") == ["Lee Late"]
    with app.app_context():
        due_customer("Una Unassigned", None, book["day"])
    assert listed(supervisor, "?owner=none") == ["Una Unassigned"]
    for junk in ("99999999999999999999", "abc", "-1", "²"):
        assert len(listed(supervisor, f"?owner={junk}")) == 7, junk  # ignored: the whole team
    assert supervisor.get(f"{URL}log/?id=99999999999999999999").status_code == 404


def test_a_role_without_customers_view_cannot_open_the_screen(app, login_as):
    """Is the screen refused to a user whose roles do not let them see customers?"""
    with app.app_context():
        factories.role("campaigns only", {"campaigns.view"})
    client = login_as("campaigns only")
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}log/?id=1").status_code == 403


# --- logging the contact from the row --------------------------------------------------------------
def _log_link(client, query: str, customer_id: int) -> str:
    page = client.get(URL + query).get_data(as_text=True)
    links = re.findall(r'href="(/admin/followups/log/\?id=%d&amp;url=[^"]+)"' % customer_id, page)
    assert len(links) == 1, "no Log contact button on the row"
    return links[0].replace("&amp;", "&")


def test_logging_a_contact_from_the_row_moves_the_customer_to_their_next_date(app, book):
    """After logging the call, is Olga off the overdue list, due on the chosen date, with one contact by the clerk?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _log_link(client, "?due=overdue", olga)
    form_page = client.get(link).get_data(as_text=True)
    assert "Olga Overdue" in form_page and "Spoke with Olga Overdue" in form_page  # the last contact
    data = read_form(form_page, "log-contact")
    next_on = book["day"] + timedelta(days=10)
    data.update(summary="Renewal agreed, sends the order next week", next_follow_up_on=next_on.isoformat())
    response = client.post(link, data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/followups/?due=overdue&page_size=20")
    assert due_of(app, olga) == next_on
    assert contacts_of(app, olga)[1:] == [("Renewal agreed, sends the order next week", book["clerk_id"])]
    assert "Olga Overdue" not in listed(client, "?due=overdue")
    assert "Olga Overdue" not in listed(client)  # due in 10 days: beyond this week


def test_without_a_date_the_next_follow_up_is_the_cadence_after_the_contact(app, book):
    """Leaving the next date empty: is Tom due 14 days (the default cadence) after today's call?"""
    client, tom = book["client"], book["mine"]["Tom Today"]
    link = _log_link(client, "", tom)
    data = read_form(client.get(link).get_data(as_text=True), "log-contact")
    data.update(summary="Left a voicemail", channel="phone")
    response = client.post(link, data=data, follow_redirects=True)
    assert "Contact with Tom Today logged" in response.get_data(as_text=True)
    assert due_of(app, tom) == book["day"] + timedelta(days=14)
    assert "Tom Today" not in listed(client)


def test_a_clerk_cannot_log_a_contact_for_another_owners_customer(app, book, snapshot):
    """Typing a colleague's customer id into the log URL: not found, and nothing stored?"""
    client, lee = book["client"], book["theirs"]["Lee Late"]
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    assert client.get(f"{URL}log/?id={lee}").status_code == 404
    response = client.post(f"{URL}log/?id={lee}", data={"csrf_token": token, "channel": "phone",
                                                        "direction": "outbound", "occurred_at": "2025-01-02T10:00",
                                                        "summary": "Stolen call"})
    assert response.status_code == 404
    for junk in ("999999", "", "abc", "-1", "1.5"):
        assert client.get(f"{URL}log/?id={junk}").status_code == 404, junk
    assert snapshot() == rows


def test_a_user_without_interactions_create_is_refused_and_offered_no_button(app, book, login_as, snapshot):
    """Can the auditor (reads everything, changes nothing) log a contact, or see the button?"""
    auditor = login_as("auditor")
    olga = book["mine"]["Olga Overdue"]
    page = auditor.get(URL).get_data(as_text=True)
    assert "Olga Overdue" in page and "/admin/followups/log/" not in page and "Log contact" not in page
    token = csrf_token(auditor.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    assert auditor.get(f"{URL}log/?id={olga}").status_code == 403
    response = auditor.post(f"{URL}log/?id={olga}", data={"csrf_token": token, "channel": "phone",
                                                      "direction": "outbound", "occurred_at": "2025-01-02T10:00",
                                                      "summary": "Audited call"})
    assert response.status_code == 403
    assert snapshot() == rows


def test_a_signed_out_visitor_is_sent_to_sign_in(app, client, snapshot):
    """Does the log URL ask an anonymous visitor to sign in, storing nothing?"""
    rows = snapshot()
    response = client.post(f"{URL}log/?id=1", data={"summary": "x"})
    assert response.status_code in (302, 400)
    assert snapshot() == rows


@pytest.mark.parametrize("changes, message", [
    ({"summary": "   "}, "Write what was discussed."),
    ({"occurred_at": (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")}, "This date cannot be in the future."),
    ({"occurred_at": "yesterday"}, "Enter a date and time such as 2026-03-31 14:30."),
    ({"next_follow_up_on": "TODAY"}, "The next follow-up must be after today."),
    ({"next_follow_up_on": "2020-01-01"}, "The next follow-up must be after today."),
    ({"channel": "pigeon"}, "Not a valid choice."),
])
def test_a_bad_submission_is_refused_with_a_message_and_nothing_stored(app, book, snapshot, changes, message):
    """An empty summary, a contact in the future, a next date that is not after today: refused, nothing stored?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _log_link(client, "?due=overdue", olga)
    data = read_form(client.get(link).get_data(as_text=True), "log-contact")
    data.update(summary="A real call")
    changes = {k: (book["day"].isoformat() if v == "TODAY" else v) for k, v in changes.items()}
    data.update(changes)
    rows = snapshot()
    response = client.post(link, data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page and "The contact was not logged" in page
    assert snapshot() == rows


def test_a_post_without_the_csrf_token_is_refused(app, book, snapshot):
    """Can another site make a signed-in clerk's browser log a contact?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    rows = snapshot()
    response = client.post(f"{URL}log/?id={olga}", data={"channel": "phone", "direction": "outbound",
                                                     "occurred_at": "2025-01-02T10:00", "summary": "Forged"})
    assert response.status_code == 400
    assert snapshot() == rows


def test_the_return_url_stays_on_this_site(app, book):
    """Can a crafted link send the clerk to another site after logging the contact?"""
    client, sam = book["client"], book["mine"]["Sam Six"]
    link = f"{URL}log/?id={sam}&url=https://evil.example/phish"
    data = read_form(client.get(link).get_data(as_text=True), "log-contact")
    data.update(summary="Checked in")
    response = client.post(link, data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(URL)


# --- complaints waiting for feedback -----------------------------------------------------------------
def test_complaints_waiting_for_feedback_are_listed_in_the_viewers_scope(app, book, login_as):
    """Are in-progress complaints listed (overdue marked, first), a colleague's hidden from the clerk, others not?"""
    with app.app_context():
        olga = db.session.get(CustomerStanding, book["mine"]["Olga Overdue"]).customer
        lee = db.session.get(CustomerStanding, book["theirs"]["Lee Late"]).customer
        db.session.expunge_all()
        factories.complaint(olga, subject="Refund being paid", status="in_progress",
                            due_at=utcnow() - timedelta(days=1))
        factories.complaint(olga, subject="Still assessing", status="assessed")
        factories.complaint(olga, subject="Already reported", status="result_reported")
        factories.complaint(lee, subject="Colleague repair", status="in_progress")
    page = book["client"].get(URL).get_data(as_text=True)
    section = page.split('id="complaints-waiting"')[1].split("</section>")[0]
    assert "Refund being paid" in section and "Overdue" in section
    assert "Colleague repair" not in section
    assert "Still assessing" not in section and "Already reported" not in section
    assert "/admin/complaint/?flt0_" in section  # the full list, filtered by status
    supervisor = login_as("supervisor").get(URL).get_data(as_text=True)
    section = supervisor.split('id="complaints-waiting"')[1].split("</section>")[0]
    assert section.index("Refund being paid") < section.index("Colleague repair")  # overdue first
    only_colleague = login_as("supervisor").get(f"{URL}?owner={book['colleague_id']}").get_data(as_text=True)
    assert "Colleague repair" in only_colleague and "Refund being paid" not in only_colleague


def test_the_complaints_section_needs_complaints_view(app, login_as):
    """Does a role that sees customers but not complaints get the list without the complaints section?"""
    with app.app_context():
        factories.role("customers only", {"customers.view"})
    page = login_as("customers only").get(URL)
    assert page.status_code == 200 and 'id="complaints-waiting"' not in page.get_data(as_text=True)


# --- cost ------------------------------------------------------------------------------------------
def _fill(app, owner_id: int, n: int, day: date):
    with app.app_context():
        for i in range(n):
            customer = due_customer(f"Due {owner_id}-{i}-{n}", owner_id, day - timedelta(days=i % 9 - 2))
            factories.complaint(customer, status="in_progress", assignee_id=owner_id)


def _statements(client, count_queries, url):
    client.get(url)  # warm caches that are built once per process
    with count_queries() as statements:
        response = client.get(url)
        assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["clerk", "supervisor"])
def test_the_screen_runs_the_same_statements_for_3_due_customers_as_for_30(app, login_as, count_queries, role):
    """Does showing more due customers (and complaints) cost more queries: an N+1 on owner, last contact, tier?"""
    client = login_as(role)
    owner_id = user_id(app, client.username) if role == "clerk" else None
    with app.app_context():
        owner_id = owner_id or factories.user("clerk").id
    day = business_today(app)
    url = URL + "?page_size=50"
    _fill(app, owner_id, 3, day)
    few, page = _statements(client, count_queries, url)
    assert page.count('class="btn btn-sm btn-outline-primary text-nowrap log-contact"') == 3
    _fill(app, owner_id, 27, day)
    many, page = _statements(client, count_queries, url)
    assert page.count('class="btn btn-sm btn-outline-primary text-nowrap log-contact"') == 30
    assert few == many, f"{few} statements with 3 rows, {many} with 30"
    # the user and their rights (3), the rows, the tab counts, complaints, the owner summary, the saved views and
    # columns, and for those who may share a view the roles to share it with
    assert many <= 9


def test_the_export_lists_the_due_customers_as_text(app, book, login_as, snapshot, job_worker):
    """Does the CSV export (for those who may export; its job's file) carry names and 'days overdue' as plain text?"""
    response = export(login_as("supervisor"), URL + "export/csv/?due=overdue")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    assert "Olga Overdue" in text and "1 day overdue" in text and "<a" not in text and "<span" not in text
    rows = snapshot()
    assert book["client"].get(URL + "export/csv/").status_code == 403  # a clerk may not export: no job started
    assert snapshot() == rows


def test_the_log_contact_page_shows_the_phone_as_people_read_it_and_calls_it(app, login_as):
    """Before the call, does the page show 138 1234 5678 (not +8613812345678) as a link the phone dials?"""
    client = login_as("administrator")
    with app.app_context():
        customer_id = factories.customer(name="王芳", mobile="+8613812345678").id
    page = client.get(f"{URL}log/?id={customer_id}").get_data(as_text=True)
    assert '<a href="tel:+8613812345678">138 1234 5678</a>' in page
