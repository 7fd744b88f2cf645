"""Merging duplicates through the panel: every related record moves, the chosen values are kept, the merge is one
logged batch that undo restores exactly, and whoever may not merge changes nothing."""
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crmadmin import merge
from crmadmin.auth.permissions import MERGE_CUSTOMERS, perm
from crmadmin.extensions import db
from crmadmin.models import (CampaignParticipant, Complaint, Customer, CustomerStanding, Interaction,
                             PersonalDataRequest, SurveyResponse, Transaction, User)
from tests import factories
from tests.conftest import log_entries
from tests.forms import csrf_token, read_form

# the tables a merge writes, compared row by row (version and updated_at aside: every write bumps them)
TABLES = ("customer", "transaction", "interaction", "complaint", "campaign_participant", "survey_response",
          "customer_match", "personal_data_request")
BOOKKEEPING = {"version", "updated_at"}


def rows(app) -> dict:
    """Every row of the tables a merge touches, without bookkeeping columns."""
    with app.app_context(), db.engine.connect() as connection:
        found = {}
        for name in TABLES:
            table = db.metadata.tables[name]
            columns = [c for c in table.c if c.key not in BOOKKEEPING]
            found[name] = sorted(tuple(map(repr, r)) for r in connection.execute(select(*columns)))
        return found


def family(app):
    """Two files of one person, each with history, plus a customer referred by the duplicate."""
    with app.app_context():
        owner = factories.user("clerk")
        keep = factories.customer(name="王小明", mobile="13812345678", email="wxm@example.com", company_name="星辰科技",
                                  address=None, region="华东", credit_rating="A", owner_id=owner.id)
        dup = factories.customer(name="王晓明", mobile="+86 138 1234 5678", email="WXM@example.com",
                                 company_name="星辰科技", address="上海市徐汇区1号", region="华南", credit_rating="B",
                                 referred_by_id=keep.id, owner_id=owner.id)
        referred = factories.customer(name="介绍来的", referred_by_id=dup.id)
        both, only_dup = factories.campaign(), factories.campaign()
        records = {
            "transaction": [factories.transaction(keep, amount=Decimal("100.00")).id,
                            factories.transaction(dup, amount=Decimal("250.50")).id,
                            factories.transaction(dup, amount=Decimal("30.00")).id],
            "interaction": [factories.interaction(keep).id, factories.interaction(dup, summary="Visited").id],
            "complaint": [factories.complaint(dup).id],
            "survey_response": [factories.survey(dup, score=3).id],
            "personal_data_request": [factories._save(PersonalDataRequest(
                customer_id=dup.id, kind="correction", received_on=date(2026, 11, 2), channel="email",
                fields="email")).id],
        }
        places = {"keep_both": factories.participant(both, keep, response="invited").id,
                  "dup_both": factories.participant(both, dup, response="converted").id,
                  "dup_only": factories.participant(only_dup, dup, response="attended").id}
    return keep, dup, referred, records, places


def open_form(client, ids, survivor=None):
    query = "&".join(f"ids={i}" for i in ids) + (f"&survivor={survivor}" if survivor else "")
    page = client.get(f"/admin/duplicates/merge/?{query}")
    return page


def post_merge(client, ids, survivor=None, changes=None):
    """Send the merge form as the page offers it, with `changes` to the radio buttons."""
    page = open_form(client, ids, survivor)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    data = read_form(html, "merge-form")
    data["ids"] = [str(i) for i in ids]
    data.update(changes or {})
    return client.post("/admin/duplicates/merge/", data=data)


def test_a_merge_moves_every_related_record_to_the_survivor(app, login_as):
    """Do purchases, contacts, complaints, surveys, campaign places and referrals all move, one place per campaign
    kept with the furthest response, and the duplicate go?"""
    keep, dup, referred, records, places = family(app)
    client = login_as("supervisor")
    page = open_form(client, [keep.id, dup.id]).get_data(as_text=True)
    assert re.search(r'data-moving="0">2<', page)  # two purchases will move
    last_before = log_entries(app)[-1].id
    response = post_merge(client, [keep.id, dup.id])
    assert response.status_code == 302 and "/admin/duplicates/merged/" in response.headers["Location"]
    with app.app_context():
        assert db.session.get(Customer, dup.id) is None
        for model in (Transaction, Interaction, Complaint, SurveyResponse, PersonalDataRequest):
            ids = records[model.__tablename__]
            assert {r.customer_id for r in db.session.scalars(select(model).where(model.id.in_(ids)))} == {keep.id}
        assert db.session.get(Customer, referred.id).referred_by_id == keep.id
        assert db.session.get(Customer, keep.id).referred_by_id is None
        kept_places = db.session.scalars(select(CampaignParticipant).order_by(CampaignParticipant.id)).all()
        assert [(p.id, p.customer_id, p.response) for p in kept_places] == [
            (places["keep_both"], keep.id, "converted"), (places["dup_only"], keep.id, "attended")]
        standing = db.session.get(CustomerStanding, keep.id)
        assert standing.purchase_count == 3 and standing.window_amount == Decimal("380.50")
    [event] = log_entries(app, action="merge")
    details = json.loads(event.changes)
    assert details["survivor"] == keep.id and details["merged"] == [dup.id]
    assert details["moved"] == {"transaction": 2, "interaction": 1, "complaint": 1, "survey_response": 1,
                                "referrals": 1, "campaign_participant": 1, "personal_data_request": 1}
    assert [d["id"] for d in details["dropped_participations"]] == [places["dup_both"]]
    changed = [e for e in log_entries(app) if e.action in ("create", "update", "delete") and e.id > last_before]
    assert len(changed) > 8 and {e.batch_id for e in changed} == {event.batch_id}  # one batch: the request's


def test_the_chosen_values_are_kept_and_empty_ones_filled(app, login_as):
    """Does the survivor take the values picked, and by default its own, or the other's where it had none?"""
    keep, dup, *_ = family(app)
    client = login_as("supervisor")
    post_merge(client, [keep.id, dup.id], changes={"choice_region": str(dup.id), "choice_name": str(dup.id)})
    with app.app_context():
        survivor = db.session.get(Customer, keep.id)
        assert (survivor.name, survivor.region) == ("王晓明", "华南")  # picked
        assert survivor.credit_rating == "A" and survivor.email == "wxm@example.com"  # its own, by default
        assert survivor.address == "上海市徐汇区1号"  # it had none
    chosen = json.loads(log_entries(app, action="merge")[0].changes)["chosen"]
    assert chosen["region"] == {"from": dup.id, "value": "华南"}


def test_the_survivor_can_be_the_other_customer(app, login_as):
    """Keeping the newer file instead: do the older one's records move to it?"""
    keep, dup, _referred, records, _places = family(app)
    client = login_as("supervisor")
    post_merge(client, [keep.id, dup.id], survivor=dup.id)
    with app.app_context():
        assert db.session.get(Customer, keep.id) is None
        assert db.session.get(Transaction, records["transaction"][0]).customer_id == dup.id
        assert db.session.get(Customer, dup.id).referred_by_id is None  # referred by the customer merged into it


def test_undo_restores_every_table_exactly(app, login_as):
    """Merge, then undo from the result page: is every row of every table touched exactly as before?"""
    keep, dup, *_ = family(app)
    before = rows(app)
    client = login_as("supervisor")
    result = post_merge(client, [keep.id, dup.id]).headers["Location"]
    page = client.get(result).get_data(as_text=True)
    assert rows(app) != before
    response = client.post("/admin/duplicates/undo/", data={"id": read_form(page, "undo-merge")["id"],
                                                           "csrf_token": csrf_token(page)})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The merge was undone" in page and "merge-undone" in page
    assert rows(app) == before
    with app.app_context():
        assert db.session.get(CustomerStanding, dup.id).purchase_count == 2  # recomputed for the restored file
    assert len(log_entries(app, action="merge_undone")) == 1


def test_undo_is_refused_when_a_moved_record_changed_since(app, login_as, snapshot):
    """A moved purchase was corrected after the merge: is the undo refused, changing nothing?"""
    keep, dup, _referred, records, _places = family(app)
    client = login_as("supervisor")
    result = post_merge(client, [keep.id, dup.id]).headers["Location"]
    with app.app_context():
        sale = db.session.get(Transaction, records["transaction"][1])
        sale.product = "Corrected"
        db.session.commit()
    page = client.get(result).get_data(as_text=True)
    state = snapshot()
    response = client.post("/admin/duplicates/undo/", data={"id": read_form(page, "undo-merge")["id"],
                                                           "csrf_token": csrf_token(page)})
    assert "Nothing was undone" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert snapshot() == state


def test_a_merge_of_customers_changed_since_the_form_was_shown_is_refused(app, login_as, snapshot):
    """Someone edits the duplicate while the form is open: is the merge refused, changing nothing?"""
    keep, dup, *_ = family(app)
    client = login_as("supervisor")
    page = open_form(client, [keep.id, dup.id]).get_data(as_text=True)
    data = {**read_form(page, "merge-form"), "ids": [str(keep.id), str(dup.id)]}
    with app.app_context():
        db.session.get(Customer, dup.id).notes = "Called meanwhile"
        db.session.commit()
    state = snapshot()
    response = client.post("/admin/duplicates/merge/", data=data)
    assert "changed by someone else" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert snapshot() == state
    assert log_entries(app, action="merge") == []


@pytest.mark.parametrize("role", ["clerk", "auditor"])
def test_roles_that_may_not_merge_change_nothing(app, login_as, snapshot, role):
    """Can a clerk or an auditor open the duplicates, post a merge or undo one?"""
    keep, dup, *_ = family(app)
    post_merge(login_as("supervisor"), [keep.id, dup.id])
    [event] = log_entries(app, action="merge")
    with app.app_context():
        other = factories.customer(name="Other")
    client = login_as(role)
    state = snapshot()
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.get("/admin/duplicates/").status_code == 403
    assert client.get(f"/admin/duplicates/merge/?ids={keep.id}&ids={other.id}").status_code == 403
    assert client.post("/admin/duplicates/merge/", data={
        "csrf_token": token, "ids": [str(keep.id), str(other.id)], "survivor": str(keep.id),
        f"version_{keep.id}": "9", f"version_{other.id}": "1"}).status_code == 403
    assert client.post("/admin/duplicates/undo/", data={"csrf_token": token, "id": str(event.id)}).status_code \
        in (403, 404)
    assert snapshot() == state
    assert "/admin/duplicates/" not in client.get("/admin/customer/").get_data(as_text=True)


def test_a_merge_without_its_csrf_token_changes_nothing(app, login_as, snapshot):
    """Is a merge posted without the form's token refused?"""
    keep, dup, *_ = family(app)
    client = login_as("supervisor")
    data = {**read_form(open_form(client, [keep.id, dup.id]).get_data(as_text=True), "merge-form"),
            "ids": [str(keep.id), str(dup.id)]}
    del data["csrf_token"]
    state = snapshot()
    assert client.post("/admin/duplicates/merge/", data=data).status_code == 400
    assert snapshot() == state


def test_a_role_limited_to_its_own_customers_merges_only_those(app, login_as, snapshot):
    """A scoped role with the merge right: does it see only its own pairs and fail to merge another's customer?"""
    with app.app_context():
        factories.role("scoped merger", {perm("customers", a) for a in ("view", "edit", "delete")} | {MERGE_CUSTOMERS},
                       own_customers_only=True)
    client = login_as("scoped merger")
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.username == client.username))
        mine = factories.customer(name="Mine", mobile="13500001111", owner_id=me)
        mine_too = factories.customer(name="Mine too", mobile="135 0000 1111", owner_id=me)
        theirs = factories.customer(name="Theirs", mobile="+86 13500001111")
    page = client.get("/admin/duplicates/").get_data(as_text=True)
    assert f'data-ids="{mine.id},{mine_too.id}"' in page and f'data-customer="{theirs.id}"' not in page
    state = snapshot()
    assert open_form(client, [mine.id, theirs.id]).status_code == 404
    token = csrf_token(page)
    response = client.post("/admin/duplicates/merge/", data={
        "csrf_token": token, "ids": [str(mine.id), str(theirs.id)], "survivor": str(mine.id),
        f"version_{mine.id}": "1", f"version_{theirs.id}": "1"})
    assert response.status_code == 404
    assert snapshot() == state
    assert post_merge(client, [mine.id, mine_too.id]).status_code == 302
    with app.app_context():
        assert db.session.get(Customer, mine_too.id) is None


def test_the_customer_list_offers_merge_as_a_bulk_action(app, login_as):
    """Does selecting customers in the list and choosing Merge open the merge form for them?"""
    with app.app_context():
        a, b = factories.customer(name="A"), factories.customer(name="B")
    client = login_as("supervisor")
    page = client.get("/admin/customer/").get_data(as_text=True)
    assert "'merge'" in page or '"merge"' in page
    response = client.post("/admin/customer/action/", data={"action": "merge", "rowid": [str(a.id), str(b.id)],
                                                            "csrf_token": csrf_token(page)})
    assert response.status_code == 302 and "/admin/duplicates/merge/" in response.headers["Location"]
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'data-customer="{a.id}"' in form and f'data-customer="{b.id}"' in form


def test_the_duplicates_page_costs_the_same_statements_for_few_and_many_groups(app, login_as, count_queries):
    """Does showing 20 groups send as many statements as showing 2 (no query per group or per customer)?"""
    client = login_as("supervisor")

    def statements():
        client.get("/admin/duplicates/")
        with count_queries() as sent:
            page = client.get("/admin/duplicates/")
        assert page.status_code == 200
        return len(sent), page.get_data(as_text=True).count('class="card mb-3 duplicate-group"')

    def pairs(start, n):
        with app.app_context():
            for k in range(start, start + n):
                factories.customer(mobile=f"1390000{k:04d}", email=f"p{k}@example.com")
                factories.customer(mobile=f"+86 1390000{k:04d}", email=f"P{k}@Example.com")
                factories.customer(name=f"客户{k}", company_name=f"公司{k}", mobile=None, email=None)
                factories.customer(name=f"客户 {k}", company_name=f"公司 {k}", mobile=None, email=None)

    pairs(0, 1)
    few, shown_few = statements()
    pairs(1, 9)
    many, shown_many = statements()
    assert (shown_few, shown_many) == (3, 20)
    assert many <= few


def test_every_reference_to_a_customer_is_moved_or_derived(app):
    """Would a new table pointing at customer.id be forgotten by the merge?"""
    with app.app_context():
        references = {(table.name, fk.parent.name) for table in db.metadata.sorted_tables
                      for fk in table.foreign_keys if fk.column.table.name == "customer"}
    assert references == set(merge.MOVED) | merge.DERIVED | merge.FILES
