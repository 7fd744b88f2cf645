"""The five record types through their real screens: what is submitted is what is stored, and bad input stores nothing."""
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from config import Config
from crmadmin.extensions import db
from crmadmin.localtime import to_local
from crmadmin.models import (Campaign, CampaignParticipant, Complaint, Customer, Interaction, Role,
                             Transaction, User, utcnow)
from tests import factories
from tests.forms import csrf_token, submit

MODELS = {"customer": Customer, "transaction": Transaction, "interaction": Interaction, "complaint": Complaint,
          "campaign": Campaign, "campaignparticipant": CampaignParticipant, "user": User, "role": Role}
YESTERDAY = (utcnow() - timedelta(days=1)).replace(microsecond=0)
TOMORROW = utcnow() + timedelta(days=1)


def _fmt(moment: datetime) -> str:
    """A stored (UTC) moment as a form takes it: in the business zone's local time."""
    return to_local(moment, ZoneInfo(Config.CRM_TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def related(app):
    """A customer and a campaign for records that point at them."""
    with app.app_context():
        return {"customer": factories.customer(name="赵敏"), "campaign": factories.campaign(name="客户答谢会 2026")}


def valid_form(kind: str, related) -> tuple[dict, dict]:
    """(what the user submits, what must then be stored) for one record type."""
    customer_id, campaign_id = str(related["customer"].id), str(related["campaign"].id)
    return {
        "customer": (
            {"name": "王小明", "kind": "person", "gender": "male", "birthday": "1988-04-02", "mobile": "138 1234 5678",
             "email": "xiaoming@example.com", "region": "华东", "company_name": "上海示例贸易有限公司",
             "industry": "Retail", "source": "referral", "credit_rating": "AA", "notes": "喜欢电话联系"},
            {"name": "王小明", "kind": "person", "gender": "male", "birthday": date(1988, 4, 2), "mobile": "+8613812345678",
             "email": "xiaoming@example.com", "region": "华东", "company_name": "上海示例贸易有限公司",
             "industry": "Retail", "source": "referral", "credit_rating": "AA", "notes": "喜欢电话联系",
             "version": 1}),
        "transaction": (
            {"customer": customer_id, "product": "年度服务套餐", "quantity": "2", "amount": "5960.50", "currency": "CNY",
             "occurred_at": _fmt(YESTERDAY), "channel": "online", "status": "paid", "campaign": campaign_id},
            {"customer_id": int(customer_id), "product": "年度服务套餐", "quantity": 2, "amount": Decimal("5960.50"),
             "currency": "CNY", "occurred_at": YESTERDAY, "channel": "online", "status": "paid",
             "campaign_id": int(campaign_id)}),
        "interaction": (
            {"customer": customer_id, "occurred_at": _fmt(YESTERDAY), "channel": "visit", "direction": "outbound",
             "summary": "上门拜访，了解需求", "outcome": "有意向", "next_follow_up_on": (date.today() + timedelta(days=14)).isoformat()},
            {"customer_id": int(customer_id), "occurred_at": YESTERDAY, "channel": "visit", "direction": "outbound",
             "summary": "上门拜访，了解需求", "outcome": "有意向", "next_follow_up_on": date.today() + timedelta(days=14)}),
        "complaint": (
            {"customer": customer_id, "subject": "发货延迟", "description": "订单晚到一周", "channel": "phone",
             "received_at": _fmt(YESTERDAY), "type": "service", "severity": "major", "urgency": "urgent",
             "department": "客服部"},
            {"customer_id": int(customer_id), "subject": "发货延迟", "description": "订单晚到一周", "channel": "phone",
             "received_at": YESTERDAY, "type": "service", "severity": "major", "urgency": "urgent",
             "status": "received", "department": "客服部", "satisfaction_score": None}),
        "campaign": (
            {"name": "Spring launch 2026", "type": "product_launch", "channel": "event", "status": "planned",
             "starts_on": "2026-03-01", "ends_on": "2026-03-03", "budget": "12000", "actual_cost": "0"},
            {"name": "Spring launch 2026", "type": "product_launch", "channel": "event", "status": "planned",
             "starts_on": date(2026, 3, 1), "ends_on": date(2026, 3, 3), "budget": Decimal("12000.00"),
             "actual_cost": Decimal("0.00")}),
        "campaignparticipant": (
            {"campaign": campaign_id, "customer": customer_id, "response": "attended", "note": "came with a colleague"},
            {"campaign_id": int(campaign_id), "customer_id": int(customer_id), "response": "attended",
             "note": "came with a colleague"}),
        "user": (
            {"username": "li.lei", "display_name": "李雷", "email": "lilei@example.com", "active": "y",
             "locale": "zh_CN", "new_password": "a long enough passphrase", "roles": [str(related["clerk_role"])]},
            {"username": "li.lei", "display_name": "李雷", "email": "lilei@example.com", "active": True, "locale": "zh_CN"}),
        "role": (
            {"name": "regional lead", "description": "Leads a region", "permissions": ["customers.view", "customers.edit"]},
            {"name": "regional lead", "description": "Leads a region", "builtin": False}),
    }[kind]


@pytest.fixture
def related_with_roles(app, related):
    with app.app_context():
        related["clerk_role"] = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
    return related


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _newest(app, model):
    with app.app_context():
        return db.session.scalars(select(model).order_by(model.id.desc())).first()


@pytest.mark.parametrize("kind", list(MODELS))
def test_creating_a_record_through_its_form_stores_exactly_what_was_submitted(app, login_as, related_with_roles, kind):
    """Does the create form store each submitted value as it was entered (normalised where promised)?"""
    client = login_as("administrator")
    model = MODELS[kind]
    before = _count(app, model)
    submitted, expected = valid_form(kind, related_with_roles)
    response = submit(client, f"/admin/{kind}/new/", submitted)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert _count(app, model) == before + 1
    with app.app_context():
        record = db.session.scalars(select(model).order_by(model.id.desc())).first()
        stored = {name: getattr(record, name) for name in expected}
        assert stored == expected
        if kind == "user":
            assert record.password_hash.startswith("$argon2id$") and [r.name for r in record.roles] == ["clerk"]
        if kind == "role":
            assert record.permissions == {"customers.view", "customers.edit"}


INVALID = [
    ("customer", {"name": ""}, "This field is required."),
    ("customer", {"email": "not-an-email"}, "Invalid email address."),
    ("customer", {"mobile": "12345"}, "Enter a valid phone number"),
    ("customer", {"birthday": (date.today() + timedelta(days=3)).isoformat()}, "cannot be in the future"),
    ("customer", {"kind": "alien"}, "Not a valid choice"),
    ("customer", {"follow_up_days": "0"}, "Number must be between 1 and 365."),
    ("transaction", {"amount": "-5"}, "Enter an amount greater than zero."),
    ("transaction", {"amount": "0"}, "Enter an amount greater than zero."),
    ("transaction", {"amount": "abc"}, "Not a valid decimal value."),
    ("transaction", {"quantity": "0"}, "Number must be between 1 and 1000000."),
    ("transaction", {"occurred_at": _fmt(TOMORROW)}, "cannot be in the future"),
    ("transaction", {"customer": ""}, "This field is required."),
    ("transaction", {"currency": "yuan"}, "three-letter currency code"),
    ("user", {"username": "bad name!"}, "Use letters, digits"),
    ("interaction", {"summary": ""}, "This field is required."),
    ("interaction", {"occurred_at": _fmt(TOMORROW)}, "cannot be in the future"),
    ("complaint", {"subject": ""}, "This field is required."),
    ("complaint", {"type": "weather"}, "Not a valid choice."),
    ("complaint", {"received_at": _fmt(TOMORROW)}, "cannot be in the future"),
    ("campaign", {"ends_on": "2026-02-01"}, "cannot end before it starts"),
    ("campaign", {"budget": "-1"}, "cannot be negative"),
    ("user", {"new_password": "short"}, "at least 12 characters"),
    ("user", {"new_password": "li.lei"}, "at least 12 characters"),
    ("user", {"new_password": "password1234"}, "too common"),
    ("user", {"email": "nope"}, "Invalid email address."),
    ("role", {"name": ""}, "This field is required."),
]


@pytest.mark.parametrize("kind,changes,message", INVALID, ids=[f"{k}-{'-'.join(c)}" for k, c, _ in INVALID])
def test_invalid_input_shows_its_error_and_stores_nothing(app, login_as, related_with_roles, kind, changes, message):
    """Is each kind of bad input refused with a clear message, leaving the database as it was?"""
    client = login_as("administrator")
    model = MODELS[kind]
    before = _count(app, model)
    submitted, _ = valid_form(kind, related_with_roles)
    response = submit(client, f"/admin/{kind}/new/", {**submitted, **changes})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(app, model) == before


def test_a_duplicate_campaign_name_is_refused_without_database_details(app, login_as, related_with_roles):
    """Does a uniqueness clash read as a plain message, with no SQL shown and nothing stored?"""
    client = login_as("administrator")
    submitted, _ = valid_form("campaign", related_with_roles)
    response = submit(client, "/admin/campaign/new/", {**submitted, "name": "客户答谢会 2026"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Already exists." in page
    assert "IntegrityError" not in page and "UNIQUE" not in page.upper().replace("UNIQUE_", "")
    assert _count(app, Campaign) == 1


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("language,word", [("en", "List"), ("zh-CN", "列表")])
def test_every_screen_renders_in_both_languages(app, login_as, related_with_roles, kind, language, word):
    """Do the list, create, details and edit pages of every record type open in English and Chinese?"""
    client = login_as("administrator")
    with app.app_context():
        factories.transaction(factories.customer())
        factories.interaction(factories.customer())
        factories.complaint(factories.customer())
        factories.participant(factories.campaign(), factories.customer())
        record_id = db.session.scalar(select(func.max(MODELS[kind].id)))
    headers = {"Accept-Language": language}
    for url in (f"/admin/{kind}/", f"/admin/{kind}/new/", f"/admin/{kind}/details/?id={record_id}",
                f"/admin/{kind}/edit/?id={record_id}", f"/admin/{kind}/?search=a"):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert word in response.get_data(as_text=True), url


def test_editing_a_customer_stores_the_change_and_bumps_the_version(app, login_as):
    """Does an edit through the form change exactly the edited fields?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name="Old name", region="华北")
    response = submit(client, f"/admin/customer/edit/?id={customer.id}", {"name": "New name", "email": "new@example.com"})
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Customer, customer.id)
        assert (stored.name, stored.email, stored.region, stored.version) == ("New name", "new@example.com", "华北", 2)


def _delete(client, kind, record_id):
    page = client.get(f"/admin/{kind}/").get_data(as_text=True)
    return client.post(f"/admin/{kind}/delete/", data={"id": str(record_id), "csrf_token": csrf_token(page)})


def test_deleting_a_record_removes_it(app, login_as):
    """Does the delete button remove the record?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer()
        note = factories.interaction(customer)
    assert _delete(client, "interaction", note.id).status_code == 302
    with app.app_context():
        assert db.session.get(Interaction, note.id) is None


def test_a_customer_with_purchases_cannot_be_deleted(app, login_as):
    """Are a customer's transactions protected from a careless delete, with a message saying why?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name="Has history")
        factories.transaction(customer)
    response = _delete(client, "customer", customer.id)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "cannot be deleted" in page and "1 transactions" in page
    with app.app_context():
        assert db.session.get(Customer, customer.id) is not None
        assert db.session.scalar(select(func.count()).select_from(Transaction)) == 1


def test_deleting_a_customer_takes_their_contact_history_with_them(app, login_as):
    """Do a deleted customer's interactions and campaign places go with them?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer()
        factories.interaction(customer)
        factories.participant(factories.campaign(), customer)
    assert _delete(client, "customer", customer.id).status_code == 302
    with app.app_context():
        assert db.session.get(Customer, customer.id) is None
        assert db.session.scalar(select(func.count()).select_from(Interaction)) == 0
        assert db.session.scalar(select(func.count()).select_from(CampaignParticipant)) == 0


def test_a_bulk_delete_is_all_or_nothing(app, login_as):
    """If one selected customer cannot be deleted, are the others kept too?"""
    client = login_as("supervisor")
    with app.app_context():
        free = factories.customer(name="Free")
        kept = factories.customer(name="Kept")
        factories.transaction(kept)
    page = client.get("/admin/customer/").get_data(as_text=True)
    response = client.post("/admin/customer/action/", data={"action": "delete", "rowid": [str(free.id), str(kept.id)],
                                                             "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 2


def test_the_customer_details_page_shows_their_whole_history(app, login_as):
    """Does a customer's page show their transactions, interactions, complaints and campaigns?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name="Has everything")
        factories.transaction(customer, product="Premium membership")
        factories.interaction(customer, summary="Asked about renewal")
        factories.complaint(customer, subject="Wrong invoice amount")
        factories.participant(factories.campaign(name="Newsletter 2026"), customer, response="responded")
        other = factories.customer(name="Someone else")
        factories.transaction(other, product="Spare parts set")
    page = client.get(f"/admin/customer/details/?id={customer.id}").get_data(as_text=True)
    for text in ("Premium membership", "Asked about renewal", "Wrong invoice amount", "Newsletter 2026", "Responded"):
        assert text in page
    assert "Spare parts set" not in page


def test_a_long_history_is_shown_latest_first_with_a_link_to_all(app, login_as):
    """With more purchases than fit, does the page show the latest and link to the full list of this customer?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer()
        for n in range(25):
            factories.transaction(customer, product=f"Item {n:02d}", occurred_at=utcnow() - timedelta(days=30 - n))
        factories.transaction(factories.customer(), product="Not theirs")
    page = client.get(f"/admin/customer/details/?id={customer.id}&kind=purchase").get_data(as_text=True)
    assert "Item 24" in page and "Item 04" not in page
    assert f"/admin/transaction/?customer_id={customer.id}" in page
    listing = client.get(f"/admin/transaction/?customer_id={customer.id}&page_size=50").get_data(as_text=True)
    assert "Item 04" in listing and "Not theirs" not in listing


def test_search_finds_customers_by_name_phone_email_and_company(app, login_as):
    """Can a clerk find a customer by any of the ways customers are asked about?"""
    client = login_as("supervisor")
    with app.app_context():
        factories.customer(name="欧阳娜娜", mobile="+8613911112222", email="nana@example.cn", company_name="北京星辰科技")
        factories.customer(name="Someone else", mobile="+8615000000000", email="else@example.com")
    for term in ("欧阳", "1391111", "nana@example", "星辰"):
        page = client.get("/admin/customer/", query_string={"search": term}).get_data(as_text=True)
        assert "欧阳娜娜" in page and "Someone else" not in page, term


def test_relationship_pickers_load_by_ajax_and_never_list_the_whole_table(app, login_as):
    """Does the customer picker on the transaction form search by AJAX instead of listing every customer?"""
    client = login_as("supervisor")
    with app.app_context():
        for n in range(12):
            factories.customer(name=f"Lookup {n:02d}")
        factories.customer(name="Unique Zebra")
    form = client.get("/admin/transaction/new/").get_data(as_text=True)
    assert "Lookup 00" not in form and 'data-url="/admin/transaction/ajax/lookup/?name=customer"' in form
    found = client.get("/admin/transaction/ajax/lookup/", query_string={"name": "customer", "query": "Zebra"}).get_json()
    assert [label for _, label in found] == [f"Unique Zebra (#{found[0][0]})"]
    page = client.get("/admin/transaction/ajax/lookup/", query_string={"name": "customer", "query": "Lookup"}).get_json()
    assert len(page) == 10
