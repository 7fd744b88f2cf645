"""Working through follow-ups from the list (issue 28): the phone on each row, logging a contact through the list's
dialog (the same view as the log-contact page, answering the dialog with the form alone or the row's new cells), and
rescheduling with a reason in the operation log; a scoped clerk can do neither for another owner's customer."""
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import AuditEntry, Interaction
from tests import factories
from tests.forms import read_form
from tests.test_followups import URL, book, contacts_of, due_of, listed  # noqa: F401 (fixture)

DIALOG = {"X-CRM-Dialog": "1"}


def _link(client, kind: str, customer_id: int, query: str = "?due=overdue") -> str:
    """The row button's address (log or reschedule) on the list, as the dialog script opens it."""
    page = client.get(URL + query).get_data(as_text=True)
    found = re.findall(r'href="(/admin/followups/%s/\?id=%d&amp;url=[^"]+)" data-dialog="%s_view"'
                       % (kind, customer_id, kind), page)
    assert found, f"no {kind} button for customer {customer_id}"
    return found[0].replace("&amp;", "&")


def _dialog_form(client, link: str, form_id: str) -> dict:
    response = client.get(link, headers=DIALOG)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and 'id="crm-dialog-title"' in html  # the form alone, titled for the dialog
    return read_form(html, form_id)


def _reschedules(app, customer_id: int) -> list[dict]:
    with app.app_context():
        return [json.loads(e.changes) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "follow_up_rescheduled",
                                     AuditEntry.record_id == str(customer_id)))]


def test_does_each_row_show_the_phone_as_a_link_people_dial(app, book):
    """Is a due customer's mobile on their row as 138 1234 5678, a tel: link?"""
    with app.app_context():
        db.session.get(factories.Customer, book["mine"]["Olga Overdue"]).mobile = "+8613812345678"
        db.session.commit()
    page = book["client"].get(URL).get_data(as_text=True)
    assert '<a href="tel:+8613812345678" class="crm-tel">138 1234 5678</a>' in page
    assert "Mobile phone" in page


def test_a_contact_logged_in_the_dialog_is_stored_once_and_the_row_leaves_the_overdue_list(app, book):
    """Logged through the dialog: one contact, due on the chosen date, and the answer tells the row to go?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "log", olga)
    data = _dialog_form(client, link, "dialog-log")
    next_date = book["day"] + timedelta(days=10)
    data.update(summary="Called from the dialog", next_follow_up_on=next_date.isoformat())
    response = client.post(link, data=data, headers=DIALOG)
    assert response.status_code == 200 and response.is_json
    assert response.json["stays"] is False and "Contact with Olga Overdue logged" in response.json["message"]
    assert response.json["counts"] == {"overdue": "1", "today": "1", "week": "1"}  # the tabs' new numbers
    assert [c[0] for c in contacts_of(app, olga)] == ["Spoke with Olga Overdue", "Called from the dialog"]
    assert due_of(app, olga) == next_date
    assert "Olga Overdue" not in listed(client, "?due=overdue")


def test_a_row_still_due_this_week_gets_its_new_cells(app, book):
    """On the all-due list, a next date within the week keeps the row, with the new due date and summary to show?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "log", olga, "")
    data = _dialog_form(client, link, "dialog-log")
    data.update(summary="Will call again", next_follow_up_on=(book["day"] + timedelta(days=3)).isoformat())
    outcome = client.post(link, data=data, headers=DIALOG).json
    assert outcome["stays"] is True
    assert "in 3 days" in outcome["cells"]["due"] and "Will call again" in outcome["cells"]["last_interaction"]


@pytest.mark.parametrize("changes, message", [
    ({"summary": ""}, "Write what was discussed."),
    ({"next_follow_up_on": "TODAY"}, "The next follow-up must be after today."),
    ({"occurred_at": "2026-13-40 10:00"}, None),
])
def test_bad_input_in_the_dialog_shows_the_message_there_and_saves_nothing(app, book, snapshot, changes, message):
    """An empty summary, today as the next date, an impossible time: the form again with its message, nothing saved?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "log", olga)
    data = _dialog_form(client, link, "dialog-log")
    data.update(summary="A real call")
    data.update({k: book["day"].isoformat() if v == "TODAY" else v for k, v in changes.items()})
    before = snapshot()
    response = client.post(link, data=data, headers=DIALOG)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and "<html" not in html
    if message:
        assert message in html
    assert snapshot() == before


def test_the_dialogs_message_is_in_the_users_language(app, book):
    """A Chinese clerk who leaves the summary empty: is the dialog's message Chinese?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "log", olga)
    data = _dialog_form(client, link, "dialog-log")
    data.update(summary="")
    html = client.post(link, data=data, headers={**DIALOG, "Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Write what was discussed." not in html and re.search(r'class="invalid-feedback[^>]*><div>[^<]*[\u4e00-\u9fff]', html)


def test_a_dialog_post_without_its_csrf_token_is_refused(app, book, snapshot):
    """Does the dialog's POST need the page's CSRF token like any other form?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "log", olga)
    data = _dialog_form(client, link, "dialog-log")
    data.pop("csrf_token")
    data.update(summary="No token")
    before = snapshot()
    assert client.post(link, data=data, headers=DIALOG).status_code in (400, 422)
    assert snapshot() == before


# --- rescheduling -------------------------------------------------------------------------------
def test_rescheduling_with_a_reason_moves_the_date_and_logs_the_reason(app, book):
    """Moved to a date in ten days with a reason: due then, off the overdue list, and the reason in the log?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "reschedule", olga)
    data = _dialog_form(client, link, "dialog-reschedule")
    new_date = book["day"] + timedelta(days=10)
    data.update(next_follow_up_on=new_date.isoformat(), reason="The customer is away")
    response = client.post(link, data=data, headers=DIALOG)
    assert response.status_code == 200 and response.json["stays"] is False
    assert due_of(app, olga) == new_date
    assert "Olga Overdue" not in listed(client, "?due=overdue")
    assert _reschedules(app, olga) == [{"previous_due": (book["day"] - timedelta(days=1)).isoformat(),
                                        "new_due": new_date.isoformat(), "reason": "The customer is away",
                                        "contact": _reschedules(app, olga)[0]["contact"]}]
    assert len(contacts_of(app, olga)) == 1  # no contact invented: the latest one carries the new date


def test_rescheduling_without_a_script_goes_through_its_own_page(app, book):
    """Without the dialog, does the reschedule page move the date and come back to the list with a message?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "reschedule", olga)
    data = read_form(client.get(link).get_data(as_text=True), "reschedule")
    data.update(next_follow_up_on=(book["day"] + timedelta(days=5)).isoformat(), reason="Waiting for a quote")
    response = client.post(link, data=data, follow_redirects=True)
    assert "Next follow-up with Olga Overdue moved to" in response.get_data(as_text=True)
    assert due_of(app, olga) == book["day"] + timedelta(days=5)


@pytest.mark.parametrize("reason", ["", "   "])
def test_rescheduling_without_a_reason_is_refused(app, book, snapshot, reason):
    """No reason (or only spaces): refused with a message, the date and the log unchanged?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "reschedule", olga)
    data = _dialog_form(client, link, "dialog-reschedule")
    data.update(next_follow_up_on=(book["day"] + timedelta(days=10)).isoformat(), reason=reason)
    before = snapshot()
    response = client.post(link, data=data, headers=DIALOG)
    assert response.status_code == 422 and "Give the reason for moving the follow-up." in response.get_data(as_text=True)
    assert snapshot() == before and _reschedules(app, olga) == []


def test_a_customer_never_contacted_is_rescheduled_and_their_first_contact_clears_it(app, book):
    """No contact carries their date: moved all the same, logged, kept by a full refresh, and replaced by the next
    date of their first contact?"""
    from crmadmin.standing import refresh_all

    client, nina = book["client"], book["mine"]["Nina Never"]
    link = _link(client, "reschedule", nina)
    data = _dialog_form(client, link, "dialog-reschedule")
    new_date = book["day"] + timedelta(days=12)
    data.update(next_follow_up_on=new_date.isoformat(), reason="The customer is away")
    response = client.post(link, data=data, headers=DIALOG)
    assert response.status_code == 200 and response.json["stays"] is False
    assert response.json["counts"] == {"overdue": "1", "today": "1", "week": "1"}
    assert due_of(app, nina) == new_date and contacts_of(app, nina) == []
    assert "Nina Never" not in listed(client)
    assert _reschedules(app, nina) == [{"previous_due": book["never_due"].isoformat(), "new_due": new_date.isoformat(),
                                        "reason": "The customer is away", "contact": None}]
    with app.app_context():
        refresh_all(db.engine)  # the nightly refresh honours the moved date
    assert due_of(app, nina) == new_date
    link = f"{URL}log/?id={nina}"  # off the list now (due past this week): the contact logged from its page
    data = read_form(client.get(link).get_data(as_text=True), "log-contact")
    data.update(summary="First call", next_follow_up_on="")
    assert client.post(link, data=data).status_code == 302
    with app.app_context():
        from crmadmin.models import CustomerStanding
        standing = db.session.get(CustomerStanding, nina)
        assert standing.rescheduled_to is None and standing.last_contact_at is not None
        assert standing.next_follow_up_on != new_date  # the cadence after the contact, no longer the moved date
        refresh_all(db.engine)
        db.session.expire_all()
        assert db.session.get(CustomerStanding, nina).rescheduled_to is None


@pytest.mark.parametrize("value, message", [
    ("2026-02-30", None), ("not a date", None), ("", "Choose the new follow-up date."),
    ("TODAY", "The next follow-up must be after today.")])
def test_a_bad_date_for_a_never_contacted_customer_is_refused_with_a_message(app, book, snapshot, value, message):
    """An impossible, empty or past date: the form again, its message, nothing saved, nothing logged?"""
    client, nina = book["client"], book["mine"]["Nina Never"]
    link = _link(client, "reschedule", nina)
    data = _dialog_form(client, link, "dialog-reschedule")
    data.update(next_follow_up_on=book["day"].isoformat() if value == "TODAY" else value, reason="Away")
    before = snapshot()
    response = client.post(link, data=data, headers=DIALOG)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'aria-invalid="true"' in html
    if message:
        assert message in html
    assert snapshot() == before and _reschedules(app, nina) == []


# --- data scope -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["log", "reschedule"])
def test_a_scoped_clerk_can_neither_log_nor_reschedule_another_owners_customer(app, book, snapshot, kind):
    """A colleague's customer (contacted or never), with a valid token and valid fields: not found, nothing changed?"""
    client, mine, lee = book["client"], book["mine"]["Olga Overdue"], book["theirs"]["Lee Late"]
    data = _dialog_form(client, _link(client, kind, mine), f"dialog-{kind}")
    data.update(summary="Not mine", reason="Not mine",
                next_follow_up_on=(book["day"] + timedelta(days=9)).isoformat())
    with app.app_context():
        never = factories.customer(name="Ned Theirs", owner_id=book["colleague_id"]).id
    before = snapshot()
    for other in (lee, never):
        for headers in (DIALOG, {}):
            assert client.get(f"{URL}{kind}/?id={other}", headers=headers).status_code == 404
            assert client.post(f"{URL}{kind}/?id={other}", data=data, headers=headers).status_code == 404
    assert snapshot() == before and _reschedules(app, never) == []


def test_a_supervisor_may_reschedule_any_owners_customer(app, book, login_as):
    """Whoever may log contacts for the customer may reschedule: a supervisor, for a clerk's customer?"""
    supervisor, lee = login_as("supervisor"), book["theirs"]["Lee Late"]
    link = f"{URL}reschedule/?id={lee}"
    data = read_form(supervisor.get(link).get_data(as_text=True), "reschedule")
    data.update(next_follow_up_on=(book["day"] + timedelta(days=4)).isoformat(), reason="Customer asked")
    assert supervisor.post(link, data=data).status_code == 302
    assert due_of(app, lee) == book["day"] + timedelta(days=4)
    with app.app_context():
        assert db.session.scalar(select(Interaction.next_follow_up_on).where(Interaction.customer_id == lee)) == \
            book["day"] + timedelta(days=4)


def test_the_operation_log_shows_a_reschedule_in_the_readers_words(app, book, login_as):
    """Does an administrator reading the log in Chinese see 回访已改期 with the reason and both dates labelled?"""
    client, olga = book["client"], book["mine"]["Olga Overdue"]
    link = _link(client, "reschedule", olga)
    data = _dialog_form(client, link, "dialog-reschedule")
    data.update(next_follow_up_on=(book["day"] + timedelta(days=10)).isoformat(), reason="客户外出或休假")
    assert client.post(link, data=data, headers=DIALOG).status_code == 200
    with app.app_context():
        entry_id = db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "follow_up_rescheduled"))
    page = login_as("administrator").get(f"/admin/auditentry/details/?id={entry_id}",
                                         headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    for words in ("回访已改期", "原回访日期", "新的回访日期", "原因", "客户外出或休假"):
        assert words in page, words
