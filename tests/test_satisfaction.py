"""Satisfaction surveys: answers entered and imported, and NPS and CSAT per month, owner and tier, within scope."""
import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crmadmin.extensions import db
from crmadmin.models import AuditEntry, Customer, SurveyResponse, User
from crmadmin.reports import satisfaction
from crmadmin.reports.dashboard import month_firsts
from crmadmin.standing import today
from tests import factories
from tests.conftest import log_entries
from tests.exporting import export
from tests.forms import csrf_token, submit
from tests import pages
from tests.pages import listed_ids

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


# --- helpers ------------------------------------------------------------------------------------
def answer(customer, kind: str, *scores: int, on=None, **kw):
    """Survey answers of one customer, made through the ORM (so logged like any other)."""
    for score in scores:
        factories.survey(customer, kind=kind, score=score, answered_on=on or today(), **kw)


def count(model=SurveyResponse) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def figures_on(client, url: str, headers=EN) -> dict[str, tuple[str, str | None]]:
    return pages.figures_on(client, url, headers)


def text_of(response) -> str:
    """The page as a reader sees it (entities such as &#39; decoded)."""
    return html.unescape(response.get_data(as_text=True))


def this_month() -> str:
    return f"{today():%Y-%m}"


# --- the figures on known answers ---------------------------------------------------------------
def test_five_promoters_three_passives_two_detractors_make_an_nps_of_30(app, app_ctx):
    """Is NPS % promoters (9–10) − % detractors (0–6), passives only in the total, and CSAT the average score?"""
    customer = factories.customer()
    answer(customer, "nps", 9, 10, 9, 10, 9, 7, 8, 7, 0, 6)
    answer(customer, "csat", 5, 4, 3, 2)
    found = satisfaction.overall(db.session, None, None, None)
    assert (found.nps_answers, found.promoters, found.passives, found.detractors) == (10, 5, 3, 2)
    assert found.nps == 30
    assert found.csat_answers == 4 and found.csat_average == 3.5 and found.satisfied_share == 0.5
    assert found.responses == 14


@pytest.mark.parametrize("scores, nps", [((10, 9), 100), ((0, 6, 3), -100), ((7, 8), 0), ((9, 0, 8), 0),
                                         ((9, 9, 6), Decimal(100) / 3)])
def test_nps_runs_from_minus_100_to_100(app, app_ctx, scores, nps):
    """All promoters make 100, all detractors −100, passives alone 0?"""
    answer(factories.customer(), "nps", *scores)
    assert satisfaction.overall(db.session, None, None, None).nps == pytest.approx(float(nps))


def test_a_period_without_answers_has_no_figures_and_divides_nothing(app, app_ctx):
    """With no answer at all, or none of one kind, are the figures None rather than a division by zero?"""
    empty = satisfaction.overall(db.session, None, None, None)
    assert (empty.nps, empty.csat_average, empty.satisfied_share, empty.responses) == (None, None, None, 0)
    answer(factories.customer(), "csat", 4)
    only_csat = satisfaction.overall(db.session, None, None, None)
    assert only_csat.nps is None and only_csat.csat_average == 4


def test_every_one_of_the_last_12_months_is_listed_empty_ones_included(app, app_ctx):
    """Are all 12 months there, oldest first, each counting only its own answers, and older ones left out?"""
    firsts = month_firsts(today())
    customer = factories.customer()
    answer(customer, "nps", 10, 10, 3, on=today())
    answer(customer, "csat", 2, on=firsts[-4] + timedelta(days=14))
    answer(customer, "nps", 0, on=firsts[0] - timedelta(days=1))  # thirteen months ago: outside
    months = satisfaction.monthly(db.session, None, today())
    assert [first for first, _f in months] == firsts[:-1]
    by_month = dict(months)
    assert by_month[firsts[-2]].nps == pytest.approx(100 / 3)
    assert by_month[firsts[-4]].csat_average == 2 and by_month[firsts[-4]].nps is None
    empty = [f for first, f in months if first not in (firsts[-2], firsts[-4])]
    assert len(empty) == 10 and all(f.responses == 0 and f.nps is None and f.csat_average is None for f in empty)


def _two_owners_three_tiers(app):
    """Owner A: a high-value customer (NPS 10, 10) and a never-bought one (NPS 0); owner B: a medium one (CSAT 5, 3);
    an unowned low-value customer (NPS 7)."""
    with app.app_context():
        a, b = factories.user("clerk", username="owner.a"), factories.user("clerk", username="owner.b")
        high = factories.customer(owner_id=a.id)
        for _ in range(4):
            factories.transaction(high, amount=Decimal("6000.00"))
        never = factories.customer(owner_id=a.id)
        medium = factories.customer(owner_id=b.id)
        for _ in range(2):
            factories.transaction(medium, amount=Decimal("3000.00"))
        low = factories.customer()
        factories.transaction(low, amount=Decimal("100.00"))
        answer(high, "nps", 10, 10)
        answer(never, "nps", 0)
        answer(medium, "csat", 5, 3)
        answer(low, "nps", 7)
        return {"a": a, "b": b, "high": high, "never": never, "medium": medium, "low": low}


def test_figures_per_owner_and_per_value_tier(app, app_ctx):
    """Is each answer counted under its customer's owner and its customer's tier, the unowned and untiered too?"""
    book = _two_owners_three_tiers(app)
    owners = {row["username"]: row["figures"] for row in satisfaction.per_owner(db.session, None, None, None)}
    assert owners["owner.a"].nps == pytest.approx(100 / 3) and owners["owner.a"].nps_answers == 3
    assert owners["owner.b"].csat_average == 4 and owners["owner.b"].nps is None
    assert owners[None].nps == 0 and owners[None].passives == 1
    assert list(owners) == ["owner.a", "owner.b", None]  # by name, nobody's last
    tiers = satisfaction.per_tier(db.session, None, None, None)
    assert tiers["high"].nps == 100 and tiers["medium"].csat_average == 4
    assert tiers["low"].passives == 1 and tiers[None].detractors == 1
    mine = satisfaction.per_tier(db.session, book["b"].id, None, None)
    assert set(mine) == {"medium"}


# --- the screen ---------------------------------------------------------------------------------
def test_the_screen_shows_the_figures_and_each_count_lists_exactly_its_answers(app, login_as):
    """Do the Satisfaction screen's figures match the answers, and does every count open a list of just those?"""
    client = login_as("supervisor")
    _two_owners_three_tiers(app)
    seen = figures_on(client, "/admin/satisfaction/")
    month = this_month()
    assert seen["total:nps"][0] == "+25"  # promoters 2, passive 1, detractor 1 of 4
    assert seen["total:csat"][0] == "4.0"
    assert seen[f"month:{month}:nps"][0] == "+25" and seen[f"month:{month}:csat_answers"][0] == "2"
    assert seen["owner:owner.a:nps"][0] == "+33" and seen["owner:owner.b:nps"][0] == "—"
    assert seen["owner:none:passives"][0] == "1"
    assert seen["tier:high:nps"][0] == "+100" and seen["tier:none:nps"][0] == "−100"
    assert seen["tier:medium:csat"][0] == "4.0" and seen["tier:medium:satisfied"][0] == "1"
    counted = {key: (int(text.replace(",", "")), href) for key, (text, href) in seen.items()
               if href and re.fullmatch(r"[\d,]+", text)}
    assert len(counted) > 50
    for key, (n, href) in counted.items():
        assert len(listed_ids(client, href)) == n, f"{key}: {n} counted, list at {href}"


def test_empty_months_show_a_dash_not_an_error(app, login_as):
    """With answers in one month only, do the other months show “—” and zero counts?"""
    client = login_as("supervisor")
    with app.app_context():
        answer(factories.customer(), "csat", 4)
    seen = figures_on(client, "/admin/satisfaction/")
    months = {key.split(":")[1] for key in seen if key.startswith("month:")}
    assert len(months) == 12
    for month in months - {this_month()}:
        assert seen[f"month:{month}:nps"][0] == seen[f"month:{month}:csat"][0] == "—"
        assert seen[f"month:{month}:nps_answers"][0] == "0"
    assert seen["total:nps"][0] == "—" and seen["total:csat"][0] == "4.0"


def test_the_period_tabs_change_the_window(app, login_as):
    """Do 'last 30 days' and 'all time' count only the answers of their period?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer()
        answer(customer, "nps", 10, on=today() - timedelta(days=40))
        answer(customer, "nps", 0, on=today() - timedelta(days=3))
        answer(customer, "nps", 9, on=today() - timedelta(days=800))
    assert figures_on(client, "/admin/satisfaction/?period=30d")["total:nps_answers"][0] == "1"
    assert figures_on(client, "/admin/satisfaction/?period=90d")["total:nps_answers"][0] == "2"
    assert figures_on(client, "/admin/satisfaction/?period=all")["total:nps_answers"][0] == "3"
    assert figures_on(client, "/admin/satisfaction/?period=nonsense")["total:nps_answers"][0] == "2"  # 12 months


def test_a_clerk_counts_only_their_own_customers_answers(app, login_as):
    """Does a clerk's Satisfaction screen, survey list and dashboard count their own customers only?"""
    clerk, supervisor = login_as("clerk"), login_as("supervisor")
    with app.app_context():
        mine = factories.customer(owner_id=user_id(app, clerk.username))
        theirs = factories.customer(owner_id=factories.user("clerk").id)
        answer(mine, "nps", 10)
        answer(theirs, "nps", 0, 0, 0)
        answer(theirs, "csat", 1)
        their_ids = set(db.session.scalars(select(SurveyResponse.id).where(SurveyResponse.customer_id == theirs.id)))
    seen = figures_on(clerk, "/admin/satisfaction/")
    assert (seen["total:nps"][0], seen["total:responses"][0], seen["total:csat"][0]) == ("+100", "1", "—")
    assert not any(key.startswith("owner:") for key in seen)  # no table of other owners
    assert figures_on(supervisor, "/admin/satisfaction/")["total:responses"][0] == "5"
    assert not listed_ids(clerk, "/admin/survey/") & their_ids
    for survey_id in their_ids:
        assert clerk.get(f"/admin/survey/details/?id={survey_id}").status_code == 404
    dashboard = figures_on(clerk, "/admin/")
    assert dashboard["satisfaction:nps"][0] == "+100" and dashboard["satisfaction:responses"][0] == "1"
    dashboard = figures_on(supervisor, "/admin/")
    assert dashboard["satisfaction:nps"][0] == "−50" and dashboard["satisfaction:responses"][0] == "5"


def test_the_screen_speaks_chinese_and_english(app, login_as):
    """Does the Satisfaction screen use the users' terms in Chinese (净推荐值, 推荐者, 贬损者) and English?"""
    client = login_as("supervisor")
    with app.app_context():
        answer(factories.customer(), "nps", 9, 3)
    chinese = client.get("/admin/satisfaction/", headers=ZH).get_data(as_text=True)
    for term in ("净推荐值", "推荐者", "贬损者", "被动者", "客户满意度", "按月", "客户分级"):
        assert term in chinese, term
    for english in ("Promoters", "Detractors", "By month"):
        assert english not in chinese, english
    english = client.get("/admin/satisfaction/", headers=EN).get_data(as_text=True)
    for term in ("Promoters (9–10)", "Detractors (0–6)", "By month", "Average CSAT"):
        assert term in english, term
    survey_list = client.get("/admin/survey/", headers=ZH).get_data(as_text=True)
    assert "满意度调查" in survey_list and "推荐者" in survey_list


@pytest.mark.parametrize("role", ["administrator", "supervisor", "clerk", "auditor"])
def test_the_screen_opens_for_those_who_may_view_surveys(app, login_as, snapshot, role):
    """Is the Satisfaction screen open with surveys.view, refused (403) otherwise, and never a way to change data?"""
    client = login_as(role)
    assert client.get("/admin/satisfaction/").status_code == 200
    with app.app_context():
        factories.role("file keeper", {"customers.view"})
    keeper = login_as("file keeper")
    rows = snapshot()
    assert keeper.get("/admin/satisfaction/").status_code == 403
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.post("/admin/satisfaction/", data={"csrf_token": token}).status_code == 405
    assert snapshot() == rows
    page = keeper.get("/admin/").get_data(as_text=True)
    assert 'id="section-satisfaction"' not in page and "/admin/satisfaction/" not in page


def test_the_record_button_shows_only_to_those_who_may_create(app, login_as):
    """Is 'Record survey' offered to a clerk and a supervisor, but not to an auditor?"""
    with app.app_context():
        customer = factories.customer()
    for role, offered in (("supervisor", True), ("auditor", False)):
        client = login_as(role)
        assert ("/admin/survey/new/" in client.get("/admin/satisfaction/").get_data(as_text=True)) is offered
        details = client.get(f"/admin/customer/details/?id={customer.id}").get_data(as_text=True)
        assert ("/admin/survey/new/?customer_id=" in details) is offered, role
        assert f"/admin/survey/?customer_id={customer.id}" in client.get(
            f"/admin/customer/details/?id={customer.id}&kind=survey").get_data(as_text=True)


# --- entering answers ---------------------------------------------------------------------------
@pytest.fixture
def clerk_book(app, login_as):
    client = login_as("clerk")
    with app.app_context():
        me = user_id(app, client.username)
        mine, other = factories.customer(owner_id=me, name="王芳"), factories.customer(owner_id=me, name="李强")
        complaint = factories.complaint(mine, status="closed")
        others_complaint = factories.complaint(other)
        campaign, elsewhere = factories.campaign(name="客户答谢会"), factories.campaign(name="Trade fair")
        factories.participant(campaign, mine, response="attended")
        factories.participant(elsewhere, other, response="attended")
    return {"client": client, "me": me, "mine": mine, "other": other, "complaint": complaint,
            "others_complaint": others_complaint, "campaign": campaign, "elsewhere": elsewhere}


def _form(book, **changes) -> dict:
    values = {"customer": str(book["mine"].id), "kind": "csat", "score": "4",
              "answered_on": today().isoformat(), "channel": "phone", "comment": "满意", "complaint": "",
              "campaign": ""}
    values.update(changes)
    return values


def test_a_clerk_records_an_answer_about_a_complaint_and_it_is_logged(app, clerk_book):
    """Does a valid answer save as typed, with the clerk as who entered it, in the operation log?"""
    book = clerk_book
    response = submit(book["client"], "/admin/survey/new/", _form(book, complaint=str(book["complaint"].id)))
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.scalars(select(SurveyResponse)).one()
        assert (saved.customer_id, saved.kind, saved.score, saved.answered_on, saved.channel, saved.comment,
                saved.complaint_id, saved.entered_by_id) == (book["mine"].id, "csat", 4, today(), "phone", "满意",
                                                             book["complaint"].id, book["me"])
    entry = log_entries(app, record_type="survey_response", action="create")[-1]
    assert entry.record_id == str(saved.id) and entry.actor == book["client"].username
    assert '"score": [null, 4]' in entry.changes


@pytest.mark.parametrize("kind, score, message", [
    ("nps", "11", "An NPS score is a whole number from 0 to 10."),
    ("nps", "-1", "An NPS score is a whole number from 0 to 10."),
    ("csat", "0", "A CSAT score is a whole number from 1 to 5."),
    ("csat", "6", "A CSAT score is a whole number from 1 to 5."),
])
def test_a_score_off_the_scale_of_its_kind_is_refused_and_nothing_is_saved(app, clerk_book, snapshot, kind, score,
                                                                           message):
    """Is an NPS 11 or a CSAT 0 refused with a clear message, storing nothing?"""
    rows = snapshot()
    response = submit(clerk_book["client"], "/admin/survey/new/", _form(clerk_book, kind=kind, score=score))
    assert response.status_code == 200
    assert message in text_of(response)
    assert snapshot() == rows


def test_the_scale_message_is_translated(app, clerk_book):
    """Does a Chinese user read the refusal in Chinese?"""
    client = clerk_book["client"]
    page = client.get("/admin/survey/new/", headers=ZH).get_data(as_text=True)
    response = client.post("/admin/survey/new/", headers=ZH,
                           data={**_form(clerk_book, kind="nps", score="12"), "csrf_token": csrf_token(page)})
    assert "净推荐值评分为 0 到 10 的整数。" in text_of(response)


def test_a_complaint_or_campaign_of_another_customer_is_refused(app, clerk_book, snapshot):
    """Can an answer point at another customer's complaint, or a campaign whose target list lacks the customer?"""
    book = clerk_book
    rows = snapshot()
    response = submit(book["client"], "/admin/survey/new/", _form(book, complaint=str(book["others_complaint"].id)))
    assert "This complaint is another customer's: pick one of 王芳's complaints, or none." in text_of(response)
    response = submit(book["client"], "/admin/survey/new/", _form(book, campaign=str(book["elsewhere"].id)))
    assert "王芳 is not on this campaign's target list: add them to it first" in text_of(response)
    assert snapshot() == rows
    response = submit(book["client"], "/admin/survey/new/", _form(book, campaign=str(book["campaign"].id)))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(SurveyResponse.campaign_id)).one() == book["campaign"].id


def test_the_pickers_offer_only_what_the_user_may_see(app, clerk_book):
    """Does the complaint picker of a clerk list only their own customers' complaints?"""
    with app.app_context():
        foreign = factories.complaint(factories.customer(owner_id=factories.user("clerk").id), subject="Late parcel")
    found = clerk_book["client"].get("/admin/survey/ajax/lookup/",
                                     query_string={"name": "complaint", "query": "Late"}).get_json()
    assert {pk for pk, _label in found} == {clerk_book["complaint"].id, clerk_book["others_complaint"].id}
    assert foreign.id not in {pk for pk, _label in found}


def test_a_future_date_is_refused(app, clerk_book, snapshot):
    """Can an answer be dated tomorrow?"""
    rows = snapshot()
    response = submit(clerk_book["client"], "/admin/survey/new/",
                      _form(clerk_book, answered_on=(today() + timedelta(days=1)).isoformat()))
    assert "This date cannot be in the future." in text_of(response)
    assert snapshot() == rows


def test_the_form_opened_from_a_customer_starts_with_that_customer(app, clerk_book):
    """From the customer's page, is the customer already chosen, and is another owner's customer never filled in?"""
    client = clerk_book["client"]
    picker = re.compile(r'<input[^>]*name="customer"[^>]*>')
    page = text_of(client.get(f"/admin/survey/new/?customer_id={clerk_book['mine'].id}"))
    assert f'value="{clerk_book["mine"].id}"' in picker.search(page).group(0)
    with app.app_context():
        foreign = factories.customer(owner_id=factories.user("clerk").id, name="Not Yours")
    page = text_of(client.get(f"/admin/survey/new/?customer_id={foreign.id}"))
    assert "value=" not in picker.search(page).group(0)


def test_the_database_refuses_a_score_off_the_scale_even_outside_the_forms(app, app_ctx):
    """Do the CHECK constraints hold NPS to 0–10 and CSAT to 1–5 whatever path writes?"""
    customer = factories.customer()
    for kind, score in (("nps", 11), ("csat", 0), ("csat", 6)):
        db.session.add(SurveyResponse(customer_id=customer.id, kind=kind, score=score, channel="phone",
                                      answered_on=today()))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert count() == 0


def test_a_customer_with_answers_is_kept(app, login_as, snapshot):
    """Is deleting a customer who answered a survey refused with a clear message, changing nothing?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name="Kept Answerer")
        answer(customer, "nps", 8)
    rows = snapshot()
    token = csrf_token(client.get("/admin/customer/").get_data(as_text=True))
    response = client.post("/admin/customer/delete/", data={"id": str(customer.id), "csrf_token": token},
                           follow_redirects=True)
    assert "Kept Answerer cannot be deleted: they answered 1 satisfaction survey" in text_of(response)
    assert snapshot() == rows


def test_an_answer_about_a_deleted_complaint_stays(app, app_ctx):
    """When the complaint an answer was about is deleted, does the answer stay, about no complaint?"""
    customer = factories.customer()
    complaint = factories.complaint(customer)
    answer(customer, "csat", 2, complaint_id=complaint.id)
    db.session.delete(db.session.get(type(complaint), complaint.id))
    db.session.commit()
    assert db.session.scalars(select(SurveyResponse.complaint_id)).one() is None


# --- importing answers --------------------------------------------------------------------------
def _import(app, tmp_path, text: str, *extra: str, encoding="utf-8"):
    path = tmp_path / "answers.csv"
    path.write_text(text, encoding=encoding)
    return app.test_cli_runner().invoke(args=["crm", "import-surveys", str(path), *extra])


@pytest.fixture
def import_book(app):
    with app.app_context():
        return {"wang": factories.customer(name="王伟", mobile="+8613811112222", email="Wang.Wei@example.com"),
                "li": factories.customer(name="李娜", mobile="+8613933334444", email="lina@example.com")}


def _good_file(book) -> str:
    day = today().isoformat()
    return ("customer_id,mobile,email,kind,score,date,channel,comment\n"
            f",138 1111 2222,,nps,9,{day},phone,很好\n"
            f",,wang.wei@example.com,CSAT,4,{day},email,\n"
            f"{book['li'].id},,,nps,3,2026-01-15,visit,\"Slow, and rude\"\n")


def test_a_good_file_is_stored_whole_and_logged(app, tmp_path, import_book):
    """Are all rows stored, each customer found by mobile, e-mail or id, and each answer in the operation log?"""
    result = _import(app, tmp_path, "\ufeff" + _good_file(import_book))  # Excel's UTF-8 mark too
    assert result.exit_code == 0, result.output
    assert "Imported 3 survey responses." in result.output
    with app.app_context():
        stored = db.session.execute(select(SurveyResponse.customer_id, SurveyResponse.kind, SurveyResponse.score,
                                           SurveyResponse.channel, SurveyResponse.comment, SurveyResponse.entered_by_id)
                                    .order_by(SurveyResponse.id)).all()
    wang, li = import_book["wang"].id, import_book["li"].id
    assert [tuple(r) for r in stored] == [(wang, "nps", 9, "phone", "很好", None),
                                          (wang, "csat", 4, "email", None, None),
                                          (li, "nps", 3, "visit", "Slow, and rude", None)]
    entries = log_entries(app, record_type="survey_response", action="create")
    assert len(entries) == 3 and len({e.batch_id for e in entries}) == 1
    assert entries[0].source == "cli" and entries[0].actor.startswith("cli:")


def test_a_file_with_bad_rows_stores_nothing_and_names_each_problem(app, tmp_path, import_book, snapshot):
    """Does one bad row keep the whole file out, with every problem reported by line?"""
    day = today().isoformat()
    tomorrow = (today() + timedelta(days=1)).isoformat()
    text = ("mobile,kind,score,date,channel,comment\n"
            f"13811112222,nps,10,{day},phone,ok\n"
            f"13811112222,nps,11,{day},phone,\n"
            f"13800000000,csat,3,{day},phone,\n"
            f"13933334444,csat,0,{day},fax,\n"
            f"13933334444,survey,x,{tomorrow},phone,\n"
            f"13933334444,nps,5,31/12/2026,phone,\n"
            f",nps,5,{day},phone,\n")
    rows = snapshot()
    result = _import(app, tmp_path, text)
    assert result.exit_code == 1
    assert "Nothing was imported: 6 rows have errors." in result.output
    for expected in ("line 3: a NPS score is from 0 to 10, not 11",
                     "line 4: no customer with mobile +8613800000000",
                     "line 5: a CSAT score is from 1 to 5, not 0; channel 'fax' is not one of",
                     "line 6: kind 'survey' is not nps or csat; score 'x' is not a whole number; "
                     f"date {tomorrow} is in the future",
                     "line 7: date '31/12/2026' is not a date like 2026-03-31",
                     "line 8: no customer: give customer_id, mobile or email"):
        assert expected in result.output, expected
    assert "line 2" not in result.output
    assert snapshot() == rows


def test_a_file_with_the_wrong_columns_is_refused(app, tmp_path, import_book, snapshot):
    """Is a file without the needed columns, or with unknown ones, refused before reading its rows?"""
    rows = snapshot()
    result = _import(app, tmp_path, "name,score\n王伟,9\n")
    assert result.exit_code == 1
    assert "line 1: unknown columns: name; missing columns: kind, date, channel; no customer column" in result.output
    assert snapshot() == rows


def test_importing_the_same_file_twice_stores_it_once(app, tmp_path, import_book, snapshot):
    """Is a second import of the same file refused as already stored, and --skip-existing then adds only new rows?"""
    assert _import(app, tmp_path, _good_file(import_book)).exit_code == 0
    rows = snapshot()
    again = _import(app, tmp_path, _good_file(import_book))
    assert again.exit_code == 1
    assert "line 2: this answer is stored already (use --skip-existing to skip such rows)" in again.output
    assert snapshot() == rows
    grown = _good_file(import_book) + f"{import_book['li'].id},,,csat,5,{today().isoformat()},phone,\n"
    result = _import(app, tmp_path, grown, "--skip-existing")
    assert result.exit_code == 0, result.output
    assert "Imported 1 survey responses (3 stored already, skipped)." in result.output
    with app.app_context():
        assert count() == 4


def test_the_same_answer_twice_in_one_file_is_an_error(app, tmp_path, import_book):
    """Is a row repeated within the file reported, rather than stored twice?"""
    day = today().isoformat()
    result = _import(app, tmp_path, f"mobile,kind,score,date,channel\n13811112222,nps,9,{day},phone\n"
                                    f"13811112222,nps,9,{day},phone\n")
    assert result.exit_code == 1 and "line 3: the same answer as line 2" in result.output


def test_a_mobile_shared_by_two_customers_asks_for_the_id(app, tmp_path, import_book):
    """When two customer files have the same mobile, is the row refused instead of guessed?"""
    with app.app_context():
        factories.customer(name="Twin", mobile="+8613811112222")
    result = _import(app, tmp_path, f"mobile,kind,score,date,channel\n13811112222,nps,9,{today()},phone\n")
    assert result.exit_code == 1 and "2 customers have mobile +8613811112222: give the customer_id" in result.output


def test_a_gb18030_file_from_chinese_excel_is_read_with_its_encoding(app, tmp_path, import_book):
    """Does --encoding read a file saved by a Chinese Excel, and is a wrong encoding a clear refusal?"""
    text = f"mobile,kind,score,date,channel,comment\n13811112222,csat,5,{today()},phone,非常满意\n"
    refused = _import(app, tmp_path, text, encoding="gb18030")
    assert refused.exit_code == 1 and "Try --encoding gb18030" in refused.output
    result = _import(app, tmp_path, text, "--encoding", "gb18030", encoding="gb18030")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(select(SurveyResponse.comment)).one() == "非常满意"


# --- the dashboard ------------------------------------------------------------------------------
def test_the_dashboard_shows_nps_and_csat_of_the_last_30_days_with_links(app, login_as):
    """Does the home page count the last 30 days' answers, and does each figure lead to exactly those answers?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer()
        answer(customer, "nps", 10, 9, 8, 2, on=today() - timedelta(days=29))
        answer(customer, "csat", 5, 4, on=today())
        answer(customer, "nps", 0, 0, on=today() - timedelta(days=30))  # the 31st day back: outside
        recent_nps = set(db.session.scalars(select(SurveyResponse.id).where(
            SurveyResponse.kind == "nps", SurveyResponse.answered_on >= today() - timedelta(days=29))))
    seen = figures_on(client, "/admin/")
    assert seen["satisfaction:nps"][0] == "+25"
    assert seen["satisfaction:csat"][0] == "4.5"
    assert seen["satisfaction:responses"][0] == "6"
    assert listed_ids(client, seen["satisfaction:nps"][1]) == recent_nps
    assert len(listed_ids(client, seen["satisfaction:responses"][1])) == 6
    page = client.get("/admin/").get_data(as_text=True)
    assert "NPS (net promoter score) is not recorded yet" not in page
    assert 'href="/admin/satisfaction/"' in page


def test_the_dashboard_says_so_when_nobody_answered(app, login_as):
    """With no answers, does the satisfaction section show dashes and a zero, not an error?"""
    seen = figures_on(login_as("clerk"), "/admin/")
    assert (seen["satisfaction:nps"][0], seen["satisfaction:csat"][0], seen["satisfaction:responses"][0]) \
        == ("—", "—", "0")


def test_the_survey_list_searches_by_customer_name_and_mobile(app, login_as):
    """Can a clerk find a customer's answers by part of their name or mobile?"""
    client = login_as("supervisor")
    with app.app_context():
        wanted = factories.customer(name="欧阳娜娜", mobile="+8613911112222")
        answer(wanted, "nps", 9)
        answer(factories.customer(name="Someone else", mobile="+8615000000000"), "nps", 9)
        wanted_ids = set(db.session.scalars(select(SurveyResponse.id).where(SurveyResponse.customer_id == wanted.id)))
    for term in ("欧阳", "1391111"):
        assert listed_ids(client, f"/admin/survey/?search={term}") == wanted_ids, term


def test_the_export_carries_the_scores_as_numbers_and_the_kinds_as_words(app, login_as, job_worker):
    """Does the CSV export (its job's file) give the plain score and the kind's label, and is the export logged?"""
    client = login_as("auditor")
    with app.app_context():
        answer(factories.customer(name="Exported"), "nps", 9)
    body = export(client, "/admin/survey/export/csv/").get_data().decode("utf-8-sig")
    assert "Exported" in body and "NPS (0–10)" in body and ",9," in body
    assert log_entries(app, action="export")[-1].changes.count("survey") >= 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")) == 1
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 1


# --- the operation log ----------------------------------------------------------------------------
def test_a_deleted_answer_is_restored_exactly_from_the_log(app, login_as):
    """Can an administrator undo the deletion of an answer, date and all, and does the log read in the user's words?"""
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer()
        answer(customer, "csat", 2, on=today() - timedelta(days=3), comment="Slow")
        saved = db.session.scalars(select(SurveyResponse)).one()
        before = {c.key: getattr(saved, c.key) for c in SurveyResponse.__table__.c if c.key not in ("version",
                                                                                                   "updated_at")}
    token = csrf_token(client.get("/admin/survey/").get_data(as_text=True))
    assert client.post("/admin/survey/delete/", data={"id": str(saved.id), "csrf_token": token}).status_code == 302
    [deletion] = log_entries(app, action="delete", record_type="survey_response")
    page = client.get(f"/admin/auditentry/details/?id={deletion.id}", headers=EN)
    shown = text_of(page)
    assert "Survey type" in shown and "CSAT (1–5)" in shown and "Answered on" in shown
    response = client.post("/admin/auditentry/undo/", data={"id": str(deletion.id), "scope": "entry",
                                                            "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    with app.app_context():
        restored = db.session.get(SurveyResponse, saved.id)
        assert {key: getattr(restored, key) for key in before} == before
