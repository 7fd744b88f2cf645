"""A customer's personal data requests: corrected with the request recorded, or erased everywhere, log included."""
import json
import re
import unicodedata
from datetime import date
from urllib.parse import quote, quote_plus

import pytest
from sqlalchemy import LargeBinary, String, Text, select, text

from crmadmin import search
from crmadmin.audit.chain import chain_rows, leaves, verify
from crmadmin.audit.undo import UndoRefused, undo_batch, undo_entry
from crmadmin.extensions import db
from crmadmin.models import (AuditEntry, Complaint, ComplaintStep, Customer, Interaction, PersonalDataRequest,
                             Transaction)
from tests import factories
from tests.forms import submit
from tests.imports import csv_bytes, import_file, upload

NAME, OLD_MOBILE, MOBILE, EMAIL = "欧阳娜娜", "+8613911112222", "+8613833334444", "Nana.Ouyang@example.cn"
ADDRESS = "北京市朝阳区建国路88号"
REQUEST = {"received_on": "2026-11-20", "channel": "email", "reference": "REQ-42"}


def _verdict(app):
    with app.app_context(), db.engine.connect() as connection, chain_rows(connection) as rows:
        return verify(rows)


@pytest.fixture
def person(app, login_as, job_worker):
    """A customer with a history: a changed phone, purchases, contacts and a complaint that name them, an export."""
    with app.app_context():
        customer = factories.customer(name=NAME, mobile=OLD_MOBILE, email=EMAIL, address=ADDRESS,
                                      birthday=date(1990, 5, 6), notes="喜欢高尔夫", company_name="独立设计工作室")
        factories.transaction(customer, product="年度会员")
        factories.interaction(customer, summary=f"给{NAME}回电，确认新号码 13833334444", outcome="OK")
        factories.complaint(customer, description=f"{NAME} ({EMAIL.lower()}) 投诉配送延误")
        factories.customer(name="张三", mobile="+8613700001111")  # someone else, who must stay as they are
    supervisor = login_as("supervisor")
    url = f"/admin/customer/edit/?id={customer.id}"
    assert submit(supervisor, url, {"mobile": "13833334444"}).status_code == 302  # the old number is in the log
    supervisor.get("/admin/customer/export/csv/", query_string={"search": EMAIL}).close()  # the log keeps the search
    # an import whose error report lists a rejected row with their e-mail, and an upload not yet imported
    rows = [["姓名", "手机", "邮箱"], ["李四", "13600001111", "li.si@example.cn"], [NAME, "not a phone", EMAIL]]
    import_file(supervisor, "customers", csv_bytes(rows), valid_only=True)
    assert upload(supervisor, "customers", csv_bytes([["姓名", "邮箱"], [NAME, EMAIL]])).status_code == 302
    return customer.id, supervisor


def _everywhere(app, needle: str) -> list[str]:
    """Every table and column whose text contains `needle`, ignoring case: the whole database is searched."""
    found = []
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, (String, Text, LargeBinary))]
            for row in connection.execute(select(*columns)) if columns else ():
                texts = [value.decode("utf-8", "replace") if isinstance(value, bytes) else value for value in row]
                found += [f"{table.name}.{c.name}" for c, value in zip(columns, texts)
                          if isinstance(value, str) and needle.casefold() in value.casefold()]
    return found


def test_erasure_leaves_no_personal_value_anywhere_and_the_log_still_verifies(app, person):
    """After an erasure, is no name, phone (old or new), e-mail or address left in any table, the log included?"""
    customer_id, supervisor = person
    assert _everywhere(app, OLD_MOBILE)  # they were there before, in the log and the import's files
    assert {"import_run.report", "import_run.content", "audit_entry.changes"} <= set(_everywhere(app, EMAIL))
    response = submit(supervisor, f"/admin/personaldata/erase/?id={customer_id}", {**REQUEST, "confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    for value in (NAME, OLD_MOBILE, MOBILE, "13833334444", "13911112222", EMAIL, ADDRESS, "喜欢高尔夫",
                  "独立设计工作室", "1990-05-06"):
        assert _everywhere(app, value) == [], value
    verdict = _verdict(app)
    assert verdict.ok, verdict
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        assert customer.erased_at is not None and customer.mobile is None and customer.name == "(erased)"
        # the figures keep their facts: the purchase, the contact and the complaint are still the customer's
        product = db.session.scalar(select(Transaction.product).where(Transaction.customer_id == customer_id))
        assert product == "年度会员"
        summary = db.session.scalar(select(Interaction.summary).where(Interaction.customer_id == customer_id))
        assert summary == "给***回电，确认新号码 ***"
        other = db.session.scalars(select(Customer).where(Customer.name == "张三")).one()
        assert other.mobile == "+8613700001111"
        request = db.session.scalars(select(PersonalDataRequest)).one()
        assert (request.kind, request.reference, request.performed_by.username) == ("erasure", "REQ-42",
                                                                                   supervisor.username)
        assert "mobile" in request.fields.split(",") and request.batch_id
        if db.engine.dialect.name == "sqlite":  # the search index forgot them too
            with db.engine.connect() as connection:
                found = connection.execute(search.matching_ids("customer", ("name", "mobile", "email"), "13833334444",
                                                               "sqlite")).all()
            assert found == []
    event = [e for e in _log(app) if e.action == "personal_data_erased"][-1]
    assert json.loads(event.changes)["log_entries"] >= 3


def _log(app):
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return entries


def test_an_erased_entry_still_catches_tampering(app, person):
    """Once values are erased from an entry, is a change to what it still holds, or to the erased marks, caught?"""
    customer_id, supervisor = person
    submit(supervisor, f"/admin/personaldata/erase/?id={customer_id}", {**REQUEST, "confirm": "y"})
    erased = [e for e in _log(app) if e.erasure and e.record_type == "customer" and e.action == "create"][0]
    assert erased.seal is None and "(erased)" in erased.changes and '"region"' in erased.changes
    original = {"changes": erased.changes, "erasure": erased.erasure}
    forgeries = [("changes", erased.changes.replace("华东", "华南")),  # a value that stayed
                 ("changes", erased.changes.replace("(erased)", "someone else", 1)),  # an erased mark
                 ("erasure", erased.erasure.replace('"erased": {"', '"erased": {"x', 1))]
    for column, forged in forgeries:
        with app.app_context(), db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(f"UPDATE audit_entry SET {column} = :v WHERE id = :id"),
                               {"v": forged, "id": erased.id})
        verdict = _verdict(app)
        assert not verdict.ok and verdict.entry_id == erased.id, column
        with app.app_context(), db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(f"UPDATE audit_entry SET {column} = :v WHERE id = :id"),
                               {"v": original[column], "id": erased.id})
    assert _verdict(app).ok


def test_erased_data_cannot_be_brought_back_by_undo(app, person):
    """Can undoing the erasure, or an older change of the customer, put their data back?"""
    customer_id, supervisor = person
    submit(supervisor, f"/admin/personaldata/erase/?id={customer_id}", {**REQUEST, "confirm": "y"})
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.record_type == "customer",
                                                              AuditEntry.record_id == str(customer_id),
                                                              AuditEntry.action == "update")
                                     .order_by(AuditEntry.id)).all()
        with pytest.raises(UndoRefused):
            undo_batch(db.session, entries[-1].batch_id)
        db.session.rollback()
        with pytest.raises(UndoRefused):
            undo_entry(db.session, entries[0])
        db.session.rollback()
        assert db.session.get(Customer, customer_id).mobile is None


@pytest.mark.parametrize("role", ["clerk", "auditor"])
def test_who_may_not_erase_changes_nothing(app, login_as, snapshot, role):
    """Can a clerk who owns the customer, or an auditor, erase personal data? The database must stay as it was."""
    client = login_as(role)
    with app.app_context():
        owner = db.session.scalar(select(factories.User.id).where(factories.User.username == client.username))
        customer = factories.customer(name=NAME, owner_id=owner)
    before = snapshot()
    page = client.get(f"/admin/personaldata/erase/?id={customer.id}")
    assert page.status_code == 403
    response = client.post(f"/admin/personaldata/erase/?id={customer.id}", data={**REQUEST, "confirm": "y"})
    assert response.status_code in (400, 403)
    assert snapshot() == before


def test_erasure_needs_the_confirmation_and_changes_nothing_without_it(app, login_as, snapshot):
    """Is an erasure without the tick refused with a message, leaving everything as it was?"""
    supervisor = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name=NAME)
    before = snapshot()
    response = submit(supervisor, f"/admin/personaldata/erase/?id={customer.id}", {**REQUEST, "confirm": None})
    assert response.status_code == 400 and "Nothing was erased" in response.get_data(as_text=True)
    assert snapshot() == before


def test_a_correction_is_saved_with_the_request_that_asked_for_it(app, login_as):
    """Does correcting a phone number change the customer and record who did it, on which request, in one batch?"""
    clerk = login_as("clerk")
    with app.app_context():
        owner = db.session.scalar(select(factories.User.id).where(factories.User.username == clerk.username))
        customer = factories.customer(name=NAME, mobile=OLD_MOBILE, owner_id=owner)
    response = submit(clerk, f"/admin/personaldata/correct/?id={customer.id}", {**REQUEST, "mobile": "138 3333 4444"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with app.app_context():
        assert db.session.get(Customer, customer.id).mobile == MOBILE
        request = db.session.scalars(select(PersonalDataRequest)).one()
        assert (request.kind, request.fields, request.channel) == ("correction", "mobile", "email")
        batch = {e.record_type for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.batch_id == request.batch_id))}
        assert batch == {"customer", "personal_data_request"}


def test_a_correction_that_changes_nothing_or_is_stale_is_refused(app, login_as, snapshot):
    """Is a 'correction' with the same values, or over someone else's newer save, refused without a trace?"""
    supervisor = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name=NAME, mobile=OLD_MOBILE)
    before = snapshot()
    same = submit(supervisor, f"/admin/personaldata/correct/?id={customer.id}", REQUEST)
    assert same.status_code == 400 and snapshot() == before
    stale = submit(supervisor, f"/admin/personaldata/correct/?id={customer.id}",
                   {**REQUEST, "mobile": "13833334444", "version": "999"})
    assert stale.status_code == 409 and snapshot() == before


def test_a_clerk_cannot_reach_another_owners_customer(app, login_as, snapshot):
    """Is another owner's customer simply not found for a clerk limited to their own?"""
    clerk = login_as("clerk")
    with app.app_context():
        customer = factories.customer(name=NAME, owner_id=factories.user("clerk").id)
    before = snapshot()
    assert clerk.get(f"/admin/personaldata/correct/?id={customer.id}").status_code == 404
    assert clerk.post(f"/admin/personaldata/correct/?id={customer.id}", data=REQUEST).status_code in (400, 404)
    assert snapshot() == before


# How people write a number in free text: each is the erased customer's, in a sentence, and must go whole.
WRITTEN_MOBILE = ["139 1234 5678", "139-1234-5678", "139.1234.5678", "(139) 1234 5678", "+86 139 1234 5678",
                  "0086 13912345678", "+86-139-1234-5678", "8613912345678", "861391234567 8", "1391 2345 678",
                  "1 3 9 1 2 3 4 5 6 7 8", "+86 (0)139 1234 5678", "（139）1234－5678", "１３９ １２３４ ５６７８"]
WRITTEN_LANDLINE = ["010-1234 5678", "(010) 12345678", "010 1234 5678", "+86 10 1234 5678", "0086-10-12345678"]
OTHER_PHONE = "137 0000 1111"  # another customer's number in the same sentences: it stays


def _digits(text) -> str:
    """The text's digits alone (full-width ones read as ASCII): a number in any grouping is then one run of them."""
    return re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", text)) if isinstance(text, str) else ""


def _holding_digits(app, digits: str) -> list[str]:
    """Every table.column, anywhere in the database, with a value in which `digits` stand in some written form."""
    found = []
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, (String, Text, LargeBinary))]
            for row in connection.execute(select(*columns)) if columns else ():
                for column, value in zip(columns, row):
                    value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    values = [leaf for _path, leaf in leaves(column.name, value)] if table.name == "audit_entry" and \
                        column.name in ("record_label", "changes") else [value]
                    if any(digits in _digits(leaf) for leaf in values):
                        found.append(f"{table.name}.{column.name}")
    return found


@pytest.mark.parametrize("mobile, written", [("+8613912345678", form) for form in WRITTEN_MOBILE]
                         + [("+861012345678", form) for form in WRITTEN_LANDLINE])
def test_erasure_finds_the_phone_number_however_it_is_written(app, login_as, mobile, written):
    """Is the erased customer's number gone from their contacts, complaints, notes and every log entry (the erasure's
    own included), however it was written, while the sentence around it and another customer's number stay?"""
    national = mobile.removeprefix("+86")
    with app.app_context():
        customer = factories.customer(name=NAME, mobile=mobile, notes=f"备用电话 {written}")
        factories.customer(name="张三", mobile="+8613700001111")
        factories.interaction(customer, summary=f"called on {written} about the renewal; 张三 {OTHER_PHONE} too",
                              outcome=f"call back on {written}")
        complaint = factories.complaint(customer, description=f"请回电 {written}，谢谢")
        factories._save(ComplaintStep(complaint_id=complaint.id, move="register", to_status="received",
                                      note=f"客户留了 {written}"))
    before = set(_holding_digits(app, national))
    assert {"interaction.summary", "complaint.description", "complaint_step.note", "audit_entry.changes"} <= before
    administrator = login_as("administrator")
    response = submit(administrator, f"/admin/personaldata/erase/?id={customer.id}",
                      {**REQUEST, "note": f"客户来电 {written} 要求删除", "confirm": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    assert _holding_digits(app, national) == []
    with app.app_context():
        interaction = db.session.scalars(select(Interaction).where(Interaction.customer_id == customer.id)).one()
        assert interaction.summary == f"called on *** about the renewal; 张三 {OTHER_PHONE} too"
        assert interaction.outcome == "call back on ***"
        assert db.session.get(Complaint, complaint.id).description == "请回电 ***，谢谢"
        request = db.session.scalars(select(PersonalDataRequest)).one()
        assert request.note == "客户来电 *** 要求删除"
        own = db.session.scalars(select(AuditEntry).where(AuditEntry.batch_id == request.batch_id)).all()
        # the erasure's own entries: the masking of the contact is logged, with its before and after erased
        masked = [e for e in own if e.record_type == "interaction"]
        assert masked and all("(erased)" in e.changes and national not in _digits(e.changes) for e in masked)
        assert "1370000111" in _digits(db.session.scalars(select(Customer.mobile).where(Customer.name == "张三")).one())
    assert _verdict(app).ok


def test_a_refused_search_for_the_customer_leaves_the_log_with_the_erasure(app, login_as, person):
    """A refused request is logged with its query: does a search in it that names the customer go with the erasure,
    not stay behind in the URL's encoding, which the erasure cannot recognise?"""
    customer_id, supervisor = person
    clerk = login_as("clerk")
    assert clerk.get("/admin/user/", query_string={"search": f"{NAME} {MOBILE}"}).status_code == 403
    [refused] = [e for e in _log(app) if e.action == "refused"]
    assert json.loads(refused.changes)["path"] == "/admin/user/"
    response = submit(supervisor, f"/admin/personaldata/erase/?id={customer_id}", {**REQUEST, "confirm": "y"})
    assert response.status_code == 302
    for value in (NAME, MOBILE, quote(NAME), quote(MOBILE), quote_plus(MOBILE)):
        assert _everywhere(app, value) == [], value
    assert _verdict(app).ok
