"""Import of customers, transactions and interactions through the Import screen, against the real database."""
import csv
import io
import re
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from crmadmin.bulk_insert import BULK_FROM
from crmadmin.extensions import db
from crmadmin.models import AuditEntry, Customer, ImportMapping, Interaction, Transaction, User
from tests import factories
from tests.conftest import log_entries
from tests.forms import csrf_token
from tests.imports import (commit, counts, csv_bytes, finished, import_file, map_columns, preview, run_id_of, runs,
                           stage, start_commit, undo, upload, xlsx_bytes)

pytestmark = pytest.mark.usefixtures("job_worker")  # Import and Undo run as jobs


@pytest.fixture
def snapshot(snapshot):
    """Every row but the jobs' own bookkeeping: an import or undo, done or refused, stays listed as a job."""
    return lambda: {table: rows for table, rows in snapshot().items() if table != "job"}

HEADERS_ZH = ["姓名", "手机", "邮箱", "客户类型", "性别", "生日", "来源", "信用等级", "负责人", "地址", "备注"]


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _customers(app) -> dict[str, Customer]:
    with app.app_context():
        found = {c.name: c for c in db.session.scalars(select(Customer))}
        db.session.expunge_all()
        return found


def _flash(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>|&times;", " ", m) for m in
                    re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)).split().__str__()


def _problems(html: str) -> dict[int, set[str]]:
    """row number -> the fields the preview marks as having a problem."""
    marked: dict[int, set[str]] = {}
    for number, body in re.findall(r'<tr data-row="(\d+)"[^>]*>(.*?)</tr>', html, re.S):
        marked[int(number)] = set(re.findall(r'data-problem="(\w+)"', body))
    return marked


def test_a_customer_file_with_chinese_headers_is_matched_and_imported(app, login_as):
    """Are 姓名/手机/邮箱... headers mapped by themselves, labels in either language accepted, phones normalised?"""
    client = login_as("supervisor")
    with app.app_context():
        owner = factories.user("clerk", username="wang.fang")
    data = csv_bytes([HEADERS_ZH,
                      ["张伟", "138 1234 5678", "Zhang.Wei@Example.com", "个人", "男", "1985/3/7", "官网", "AA",
                       "WANG.FANG", "上海市浦东新区", "=1+2"],
                      ["Acme Ltd", "+86 139 8765 4321", "", "company", "Female", "1990-12-01", "referral",
                       "AAA (excellent)", "", "", ""]])
    html = import_file(client, "customers", data)
    assert "Imported file.csv: 2 created, 0 updated, 0 unchanged, 0 rejected." in html
    found = _customers(app)
    zhang, acme = found["张伟"], found["Acme Ltd"]
    assert (zhang.mobile, zhang.email, zhang.kind, zhang.gender, zhang.source, zhang.credit_rating) == \
        ("+8613812345678", "Zhang.Wei@Example.com", "person", "male", "website", "AA")
    assert zhang.birthday.isoformat() == "1985-03-07" and zhang.owner_id == owner.id
    assert zhang.address == "上海市浦东新区" and zhang.notes == "=1+2"  # stored as text, exported neutralised
    assert (acme.mobile, acme.email, acme.kind, acme.gender, acme.credit_rating, acme.owner_id) == \
        ("+8613987654321", None, "company", "female", "AAA", None)


def test_the_import_history_counts_rows_in_chinese_not_times(app, login_as):
    """Do the history's count columns read 新建/更新 (rows), not 创建时间/更新时间, the columns of a record's times?"""
    client = login_as("supervisor")
    import_file(client, "customers", csv_bytes([HEADERS_ZH, ["张伟", "13812345678", "", "个人", "", "", "", "", "", "",
                                                            ""]]))
    html = client.get("/admin/imports/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    header = re.search(r'<table[^>]*id="import-history".*?</thead>', html, re.S).group(0)
    assert [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r'<th class="text-right">.*?</th>', header)] == \
        ["新建", "更新", "未变", "有误"]
    assert "创建时间" not in header and "更新时间" not in header


def test_every_imported_change_is_in_one_batch_of_the_log_with_an_import_event(app, login_as):
    """Is the whole import one batch of the operation log: every created row, and one import event?"""
    client = login_as("administrator")
    import_file(client, "customers", csv_bytes([["name", "mobile"], ["A", "13800000001"], ["B", "13800000002"]]))
    [run] = runs(app)
    batch = log_entries(app, batch_id=run.batch_id)
    assert sorted(e.action for e in batch) == ["create", "create", "import"]
    assert {e.record_label for e in batch if e.action == "create"} == {f"A (#{c.id})" for c in _customers(app).values()
                                                                     if c.name == "A"} | {
        f"B (#{c.id})" for c in _customers(app).values() if c.name == "B"}
    event = next(e for e in batch if e.action == "import")
    assert '"created": 2' in event.changes and '"file": "file.csv"' in event.changes
    assert (run.status, run.created, run.updated, run.skipped, run.rejected, run.rows_total) == ("done", 2, 0, 0, 0, 2)


def test_the_mapping_is_remembered_per_user_and_kind(app, login_as):
    """Does a column the user mapped by hand come pre-selected in their next file of that kind, and not another's?"""
    client = login_as("administrator")
    data = csv_bytes([["客户名", "联络号码"], ["王芳", "13800000003"]])
    run_id = run_id_of(upload(client, "customers", data))
    page = client.get(f"/admin/imports/map?id={run_id}").get_data(as_text=True)
    assert 'value="mobile" selected' not in page  # 联络号码 is nobody's synonym
    response = map_columns(client, run_id, changes={"column-0": "name", "column-1": "mobile"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportMapping)) == 1
    again = run_id_of(upload(client, "customers", data))
    page = client.get(f"/admin/imports/map?id={again}").get_data(as_text=True)
    assert re.search(r'name="column-1".*?value="mobile" selected', page, re.S)
    other = login_as("supervisor")
    fresh = run_id_of(upload(other, "customers", data))
    assert 'value="mobile" selected' not in other.get(f"/admin/imports/map?id={fresh}").get_data(as_text=True)


def test_a_mapping_without_the_required_fields_is_refused(app, login_as):
    """Can a file be checked without a column for the customer's name, or with one field chosen twice?"""
    client = login_as("administrator")
    run_id = run_id_of(upload(client, "customers", csv_bytes([["a", "b"], ["x", "13800000004"]])))
    response = map_columns(client, run_id, changes={"column-0": "mobile", "column-1": "mobile"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Mobile phone is chosen for more than one column." in page
    assert "Choose the column that holds Name: it is required." in page


def test_each_kind_of_bad_customer_row_is_marked_on_its_field_and_nothing_is_stored(app, login_as, snapshot):
    """Missing name, bad phone or email, unknown owner, bad choice or date, duplicates stored or in the file:
    is each marked on its row and field, and is nothing stored?"""
    client = login_as("supervisor")
    with app.app_context():
        stored = factories.customer(name="Stored", mobile="+8613811112222", email="taken@example.com")
    rows = [["name", "mobile", "email", "owner", "gender", "birthday", "source"],
            ["", "13800000010", "", "", "", "", ""],                       # 2: name missing
            ["Bad phone", "12345", "", "", "", "", ""],                     # 3: phone
            ["Bad email", "", "not-an-email", "", "", "", ""],              # 4: email
            ["Ghost owner", "13800000013", "", "nobody", "", "", ""],       # 5: owner
            ["Bad choice", "13800000014", "", "", "unknown", "", "fax"],    # 6: gender, source
            ["Bad date", "13800000015", "", "", "", "31/31/2020", ""],      # 7: birthday
            ["Dup phone", "138 1111 2222", "", "", "", "", ""],             # 8: stored phone
            ["Dup email", "", "TAKEN@example.com", "", "", "", ""],         # 9: stored email, other case
            ["First", "13800000018", "", "", "", "", ""],                   # 10: fine
            ["Again", "13800000018", "", "", "", "", ""],                   # 11: same phone as row 10
            ["No contact", "", "", "", "", "", ""],                         # 12: neither phone nor email
            ["Future", "13800000020", "", "", "", "2999-01-01", ""]]        # 13: birthday in the future
    run_id = stage(client, "customers", csv_bytes(rows))
    before = snapshot()
    html = preview(client, run_id)
    assert counts(html) == {"total": 12, "create": 1, "update": 0, "unchanged": 0, "invalid": 11}
    assert _problems(html) == {2: {"name"}, 3: {"mobile"}, 4: {"email"}, 5: {"owner"}, 6: {"gender", "source"},
                               7: {"birthday"}, 8: {"mobile"}, 9: {"email"}, 10: set(), 11: {"mobile"},
                               12: {"mobile"}, 13: {"birthday"}}
    assert f"Customer Stored (#{stored.id}) has this value already." in html
    assert "The same as row 10 of this file." in html
    assert "No user with the user name “nobody”." in html
    assert "“fax” is not one of:" in html
    page = commit(client, run_id)
    assert "11 rows have problems, so nothing was imported." in page
    assert snapshot() == before
    assert [r.status for r in runs(app)] == ["staged"]
    assert log_entries(app, action="import") == []


def test_each_kind_of_bad_transaction_row_is_marked_and_nothing_is_stored(app, login_as, snapshot):
    """Unknown customer, amount not a number, bad date or channel: marked per field, nothing stored?"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(mobile="+8613822223333")
    rows = [["客户编号", "手机", "产品", "金额", "交易时间", "渠道", "状态"],
            [str(customer.id), "", "Kit", "¥1,299.50", "2025-03-01 10:30", "门店", "已付款"],
            ["", "13822223333", "Kit", "abc", "2025-03-01 11:00", "store", "paid"],
            ["", "13900000000", "Kit", "10", "2025-03-01 12:00", "store", "paid"],
            [str(customer.id), "", "Kit", "10", "yesterday", "store", ""],
            [str(customer.id), "", "Kit", "10", "2025-03-02", "carrier pigeon", ""],
            [str(customer.id), "", "Kit", "-5", "2025-03-03", "online", ""]]
    run_id = stage(client, "transactions", csv_bytes(rows))
    before = snapshot()
    html = preview(client, run_id)
    assert _problems(html) == {2: set(), 3: {"amount"}, 4: {"customer_mobile"}, 5: {"occurred_at"},
                               6: {"channel"}, 7: {"amount"}}
    assert "“abc” is not an amount such as 1234.50." in html
    assert "No customer with this value." in html
    commit(client, run_id)
    assert snapshot() == before


def test_only_the_valid_rows_are_imported_when_asked_with_an_error_report_for_the_rest(app, login_as):
    """With "only the valid rows", are they stored, and does the report list the others, formulas neutralised?"""
    client = login_as("administrator")
    data = csv_bytes([["name", "mobile", "email"], ["Good", "13800000030", ""],
                      ["=HYPERLINK(\"http://evil.example\")", "13800000031", "bad@@example"],
                      ["Also good", "", "ok@example.com"]])
    run_id = stage(client, "customers", data)
    report = client.get(f"/admin/imports/errors?id={run_id}")
    assert report.status_code == 200 and report.headers["Content-Type"] == "text/csv; charset=utf-8"
    page = commit(client, run_id, valid_only=True)
    assert "2 created, 0 updated, 0 unchanged, 1 rejected." in page
    assert set(_customers(app)) == {"Good", "Also good"}
    [run] = runs(app)
    assert run.rejected == 1 and run.valid_only
    kept = client.get(f"/admin/imports/errors?id={run.id}").get_data()
    assert kept == report.get_data()
    rows = list(csv.reader(io.StringIO(kept.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Problems", "name", "mobile", "email"]
    assert rows[1][0] == "3" and rows[1][2] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[1][1].startswith("Email address: ")
    assert len(rows) == 2


@pytest.mark.parametrize("kind", ["customers", "transactions", "interactions"])
def test_importing_the_same_file_twice_creates_nothing_new(app, login_as, kind):
    """Second import of the same file, in either mode: does it create no record?"""
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer(mobile="+8613833334444")
    files = {
        "customers": [["name", "mobile", "email"], ["Li", "13800000040", "li@example.com"],
                      ["Wu", "", "wu@example.com"]],
        "transactions": [["customer_id", "product", "amount", "occurred_at", "channel"],
                         [str(customer.id), "Kit", "100", "2025-01-02 09:00", "store"],
                         [str(customer.id), "Refill", "20", "2025-01-02 09:00", "store"]],
        "interactions": [["手机", "时间", "渠道", "摘要"], ["13833334444", "2025-01-02 09:00", "电话", "Called"],
                         ["13833334444", "2025-01-03 09:00", "email", "Wrote"]],
    }
    model = {"customers": Customer, "transactions": Transaction, "interactions": Interaction}[kind]
    data = csv_bytes(files[kind])
    before = _count(app, model)
    import_file(client, kind, data)
    after_first = _count(app, model)
    assert after_first == before + 2
    second = import_file(client, kind, data)
    assert "2 rows have problems, so nothing was imported." in second
    third = import_file(client, kind, data, mode="update")
    assert "No row would create or change a record" in third
    assert _count(app, model) == after_first
    assert [r.status for r in runs(app)].count("done") == 1


def test_create_and_update_mode_updates_the_matching_records(app, login_as):
    """Are customers matched by phone or e-mail (any case) updated with the row's non-empty cells only?"""
    client = login_as("supervisor")
    with app.app_context():
        by_phone = factories.customer(name="Old name", mobile="+8613800000050", region="华北", industry="Retail")
        factories.customer(name="Mail", mobile=None, email="Mail@Example.com", region="华南")
        sale = factories.transaction(by_phone, product="Kit", occurred_at=datetime(2025, 1, 5, 10, 0),
                                     amount=Decimal("50.00"), status="paid")
    data = csv_bytes([["name", "mobile", "email", "region", "industry"],
                      ["New name", "13800000050", "", "", "Finance"],
                      ["Mail", "", "mail@example.COM", "华南", ""],
                      ["Brand new", "13800000052", "", "", ""],
                      ["Mail again", "", "MAIL@example.com ", "", ""]])
    run_id = stage(client, "customers", data, mode="update")
    html = preview(client, run_id)
    assert counts(html) == {"total": 4, "create": 1, "update": 2, "unchanged": 0, "invalid": 1}
    assert _problems(html)[5] == {"email"}  # the same customer as row 3 (and the same e-mail)
    page = commit(client, run_id, valid_only=True)
    assert "1 created, 2 updated, 0 unchanged, 1 rejected." in page
    found = _customers(app)
    assert (found["New name"].id, found["New name"].region, found["New name"].industry) == \
        (by_phone.id, "华北", "Finance")
    assert found["Mail"].email == "mail@example.COM" and found["Mail"].region == "华南"
    sales = csv_bytes([["customer_id", "product", "amount", "occurred_at", "channel", "status"],
                       [str(by_phone.id), "kit", "50", "2025-01-05 18:00:00", "store", "refunded"]])  # 10:00 UTC in Shanghai
    import_file(client, "transactions", sales, mode="update")
    with app.app_context():
        assert db.session.get(Transaction, sale.id).status == "refunded"
        assert db.session.scalar(select(func.count()).select_from(Transaction)) == 1


def test_an_xlsx_file_imports_like_a_csv(app, login_as):
    """Does an Excel workbook with dates, numbers and Chinese text import with the same rules?"""
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer()
    data = xlsx_bytes([["客户编号", "时间", "渠道", "方向", "摘要", "下次跟进"],
                       [customer.id, datetime(2025, 2, 3, 14, 30), "拜访", "呼入", "上门拜访", datetime(2025, 3, 1)]])
    page = import_file(client, "interactions", data, filename="contacts.xlsx")
    assert "1 created" in page
    with app.app_context():
        [contact] = db.session.scalars(select(Interaction)).all()
        # the cell's 14:30 is Shanghai time (CRM_TIMEZONE): 06:30 UTC stored
        assert (contact.customer_id, contact.occurred_at, contact.channel, contact.direction, contact.summary,
                contact.next_follow_up_on.isoformat()) == (customer.id, datetime(2025, 2, 3, 6, 30), "visit",
                                                           "inbound", "上门拜访", "2025-03-01")


def test_a_workbook_keeps_its_row_numbers_and_cell_types_through_the_steps(app, login_as):
    """After a blank row, is a problem reported on the spreadsheet's own row, and are Excel numbers read right?"""
    client = login_as("administrator")
    data = xlsx_bytes([["name", "mobile", "follow_up_days", "birthday"],
                       ["A", 13800000300, 14, datetime(1990, 5, 6)], [None, None, None, None],
                       ["B", 13800000301, 7.5, None]])
    run_id = stage(client, "customers", data, filename="people.xlsx")
    html = preview(client, run_id)
    assert _problems(html) == {2: set(), 4: {"follow_up_days"}}
    commit(client, run_id, valid_only=True)
    [a] = _customers(app).values()
    assert (a.mobile, a.follow_up_days, a.birthday.isoformat()) == ("+8613800000300", 14, "1990-05-06")


# --- all or nothing ----------------------------------------------------------------------------
def _install_failing_trigger(app, name: str) -> None:
    """A database trigger that refuses the customer named `name`, as a crash partway would."""
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"""CREATE FUNCTION test_refuse_customer() RETURNS trigger AS $$
                BEGIN IF NEW.name = '{name}' THEN RAISE EXCEPTION 'refused by test trigger'; END IF;
                RETURN NEW; END $$ LANGUAGE plpgsql"""))
            connection.execute(text("CREATE TRIGGER test_refuse_customer BEFORE INSERT ON customer "
                                    "FOR EACH ROW EXECUTE FUNCTION test_refuse_customer()"))
        else:
            connection.execute(text(f"""CREATE TRIGGER test_refuse_customer BEFORE INSERT ON customer
                WHEN NEW.name = '{name}' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"""))


def _drop_failing_trigger(app) -> None:
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER IF EXISTS test_refuse_customer ON customer"))
            connection.execute(text("DROP FUNCTION IF EXISTS test_refuse_customer()"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS test_refuse_customer"))


def test_a_failure_at_row_k_of_n_leaves_no_row_and_no_log_entry(app, login_as):
    """The database refuses row 4,500 of 5,000 (after two flushes went through): is there no row, no log entry?"""
    client = login_as("administrator")
    rows = [["name", "mobile"]] + [[f"Customer {i}", f"1380{i:07d}"] for i in range(1, 5001)]
    run_id = stage(client, "customers", csv_bytes(rows))
    entries_before = _count(app, AuditEntry)
    _install_failing_trigger(app, "Customer 4500")
    try:
        page = commit(client, run_id)
    finally:
        _drop_failing_trigger(app)
    assert "The import failed while storing the rows" in page
    assert _count(app, Customer) == 0
    assert _count(app, AuditEntry) == entries_before
    assert [r.status for r in runs(app)] == ["staged"]  # still there to try again
    assert "5000 created" in commit(client, run_id).replace(",", "")


# --- undo ---------------------------------------------------------------------------------------
RECORD_TABLES = ("customer", "transaction", "interaction")


def _records(snapshot_rows: dict) -> dict:
    return {name: rows for name, rows in snapshot_rows.items() if name in RECORD_TABLES}


def _customer_values(app) -> list[dict]:
    with app.app_context():
        kept = [c.key for c in Customer.__table__.c if c.key not in ("version", "updated_at")]
        return [{key: getattr(customer, key) for key in kept}
                for customer in db.session.scalars(select(Customer).order_by(Customer.id))]


def test_undo_restores_exactly_what_the_import_changed(app, login_as, snapshot):
    """Import that creates and updates, then Undo: is every table as before, but the log and the run?"""
    client = login_as("supervisor")
    with app.app_context():
        factories.customer(name="Kept", mobile="+8613800000060", region="华北")
    before, customers_before = snapshot(), _customer_values(app)
    import_file(client, "customers", csv_bytes([["name", "mobile", "region"], ["Kept", "13800000060", "华东"],
                                                ["Added", "13800000061", "华南"]]), mode="update")
    assert set(_customers(app)) == {"Kept", "Added"}
    [run] = runs(app)
    page = undo(client, run.id)
    assert "The import of file.csv was undone (2 changes)." in page
    after = snapshot()
    # the run and the mapping are the import's own bookkeeping; a customer's standing is recomputed with a new time
    strip = {"import_run", "import_mapping", "customer_standing", "customer"}
    assert {k: v for k, v in after.items() if k not in strip} == {k: v for k, v in before.items() if k not in strip}
    assert customers_before == _customer_values(app)  # every column but the version and the time of the last save
    [run] = runs(app)
    assert run.status == "undone" and run.undone_by_id is not None
    assert len(log_entries(app, action="import_undone")) == 1
    assert "Undone" in client.get("/admin/imports/").get_data(as_text=True)


def test_undo_of_a_created_only_import_leaves_every_table_exactly_as_before(app, login_as, snapshot):
    """Customers and their purchases imported, then undone: byte for byte the same rows as before?"""
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer()
    before = snapshot()
    import_file(client, "customers", csv_bytes([["name", "email"], ["New", "new@example.com"]]))
    import_file(client, "transactions", csv_bytes([["customer_id", "product", "amount", "occurred_at", "channel"],
                                                   [str(customer.id), "Kit", "10", "2025-01-01", "store"]]))
    for run in reversed(runs(app)):
        undo(client, run.id)
    after = snapshot()
    assert _records(after) == _records(before)
    # derived tables: the standing is the same but for the time it was recomputed; the month's revenue is back to
    # zero (the cell stays); standing_change keeps the history of both changes, as for any change and its undo
    derived = {"import_run", "import_mapping", "customer_standing", "revenue_month", "standing_change"}
    assert {k: v for k, v in after.items() if k not in derived} == {k: v for k, v in before.items() if k not in derived}
    assert [row[:-1] for row in after["customer_standing"]] == [row[:-1] for row in before["customer_standing"]]
    assert [row for row in after["revenue_month"] if row[-1] != "0"] == before["revenue_month"]


def test_undo_is_refused_when_a_record_changed_since(app, login_as, snapshot):
    """Was an imported customer edited afterwards? Then Undo says so and changes nothing."""
    client = login_as("administrator")
    import_file(client, "customers", csv_bytes([["name", "mobile"], ["Edited later", "13800000070"]]))
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        customer.region = "西南"
        db.session.commit()
    rows = snapshot()
    [run] = runs(app)
    page = undo(client, run.id)
    assert "The import was not undone:" in page and "was changed again after this batch" in page
    assert snapshot() == rows


# --- who may import -----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["clerk", "auditor"])
def test_roles_without_the_import_right_change_nothing(app, login_as, snapshot, role):
    """Can a clerk or an auditor open the screen, upload, import or undo an import? (403, nothing changed)"""
    admin = login_as("administrator")
    run_id = stage(admin, "customers", csv_bytes([["name", "mobile"], ["Staged", "13800000080"]]))
    import_file(admin, "customers", csv_bytes([["name", "mobile"], ["Done", "13800000081"]]))
    done_id = runs(app)[-1].id
    client = login_as(role)
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    assert client.get("/admin/imports/").status_code == 403
    assert client.post("/admin/imports/upload", data={"csrf_token": token, "kind": "customers",
                                                      "file": (io.BytesIO(b"name\nX\n"), "x.csv")},
                       content_type="multipart/form-data").status_code == 403
    for url, data in (("/admin/imports/commit", {"id": run_id}), ("/admin/imports/undo", {"id": done_id}),
                      ("/admin/imports/cancel", {"id": run_id}), (f"/admin/imports/map?id={run_id}", {})):
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    assert client.get(f"/admin/imports/errors?id={done_id}").status_code == 403
    assert snapshot() == rows


def test_update_mode_needs_the_edit_right_and_each_kind_its_create_right(app, login_as, snapshot):
    """A role with records.import and customers.create only: may it update matches, or import transactions?"""
    with app.app_context():
        factories.role("importer", {"records.import", "customers.view", "customers.create"})
        factories.customer(name="Existing", mobile="+8613800000090")
    client = login_as("importer")
    rows = snapshot()
    data = csv_bytes([["name", "mobile"], ["Existing", "13800000090"]])
    run_id = run_id_of(upload(client, "customers", data))
    page = client.get(f"/admin/imports/map?id={run_id}").get_data(as_text=True)
    assert 'value="update"' not in page
    response = map_columns(client, run_id, mode="update")
    assert "You may not change existing records" in response.get_data(as_text=True)
    assert upload(client, "transactions", b"customer_id,product\n1,Kit\n").status_code == 403
    assert snapshot()["customer"] == rows["customer"]


def test_a_role_limited_to_its_own_customers_imports_for_itself_only(app, login_as):
    """Own-customers role: are its new customers its own, and another owner's customer unknown to its files?"""
    with app.app_context():
        factories.role("own importer", {"records.import", "customers.view", "customers.create",
                                        "transactions.view", "transactions.create"}, own_customers_only=True)
        others = factories.customer(name="Someone else's", mobile="+8613800000100")
    client = login_as("own importer")
    import_file(client, "customers", csv_bytes([["name", "mobile", "owner"], ["Mine", "13800000101", ""]]))
    with app.app_context():
        me = db.session.scalar(select(User).where(User.username == client.username))
        mine = db.session.scalar(select(Customer).where(Customer.name == "Mine"))
        assert mine.owner_id == me.id
    run_id = stage(client, "transactions", csv_bytes([["mobile", "product", "amount", "occurred_at", "channel"],
                                                      ["13800000100", "Kit", "5", "2025-01-01", "store"],
                                                      ["13800000101", "Kit", "5", "2025-01-01", "store"]]))
    html = preview(client, run_id)
    assert _problems(html) == {2: {"customer_mobile"}, 3: set()}
    assert "Someone else" not in html
    assert others.id


def test_the_upload_needs_its_csrf_token(app, login_as, snapshot):
    """Can another site make an administrator's browser upload a file?"""
    client = login_as("administrator")
    rows = snapshot()
    response = client.post("/admin/imports/upload", data={"kind": "customers",
                                                          "file": (io.BytesIO(b"name,mobile\nX,13800000110\n"),
                                                                   "x.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert snapshot() == rows


def test_nobody_continues_another_users_upload(app, login_as, snapshot):
    """Can a second administrator map, preview or import the first one's staged file?"""
    first = login_as("administrator")
    run_id = stage(first, "customers", csv_bytes([["name", "mobile"], ["Theirs", "13800000120"]]))
    second = login_as("administrator")
    token = csrf_token(second.get("/admin/").get_data(as_text=True))
    rows = snapshot()
    assert second.get(f"/admin/imports/preview?id={run_id}").status_code == 404
    assert second.post("/admin/imports/commit", data={"csrf_token": token, "id": run_id}).status_code == 404
    assert snapshot() == rows


# --- statements ---------------------------------------------------------------------------------
def test_checking_rows_costs_the_same_statements_for_10_or_500_rows(app, login_as, count_queries):
    """Do owner, customer and stored-record look-ups stay a fixed number of statements as rows are added?"""
    client = login_as("administrator")
    with app.app_context():
        factories.user("clerk", username="owner.one")
        customers = [factories.customer() for _ in range(3)]

    def statements(kind: str, n: int) -> int:
        if kind == "customers":
            rows = [["name", "mobile", "email", "owner"]] + [
                [f"C{i}", f"1390{i:07d}", f"c{i}@example.org", "owner.one"] for i in range(n)]
        else:
            rows = [["customer_id", "mobile", "product", "amount", "occurred_at", "channel"]] + [
                [str(customers[i % 3].id), "", f"P{i}", "1", f"2025-01-01 10:{i % 60:02d}", "store"] for i in range(n)]
        run_id = stage(client, kind, csv_bytes(rows))
        with count_queries() as seen:
            preview(client, run_id)
        return len(seen)

    for kind in ("customers", "transactions"):
        assert statements(kind, 10) == statements(kind, 500), kind


def test_storing_rows_costs_the_same_statements_for_100_or_1000_rows(app, login_as, count_queries):
    """Is a flush of new customers a few multi-row statements (ids reserved first), not one INSERT per row? (From
    BULK_FROM rows on, each table's rows are a COPY or a staged INSERT … SELECT; fewer are one executemany.)"""
    client = login_as("administrator")

    def statements(n: int, first: int) -> int:
        rows = [["name", "mobile"]] + [[f"C{i}", f"1391{i:07d}"] for i in range(first, first + n)]
        run_id = stage(client, "customers", csv_bytes(rows))
        with count_queries(threads="other") as seen:  # the worker's, not this test's polling of the job
            finished(client, start_commit(client, run_id))
        assert _count(app, Customer) >= n
        # the planner's statistics after the import depend on what it knew before, not on the rows stored
        return len([s for s in seen if not re.search(r"ANALYZE|sqlite_stat1|sqlite_master|pg_stat_user_tables", s)])

    assert statements(BULK_FROM, 0) == statements(1000, BULK_FROM)


# --- the command line -----------------------------------------------------------------------------
def test_the_import_command_follows_the_same_rules_as_the_screen(app, tmp_path, login_as):
    """Does `flask crm import` refuse a bad file whole, import a good one as one batch, and list it for undo?"""
    runner = app.test_cli_runner()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["姓名", "手机"], ["好", "13800000200"], ["", "13800000201"]]))
    result = runner.invoke(args=["crm", "import", str(bad), "--kind", "customers",
                                 "--report", str(tmp_path / "errors.csv")])
    assert result.exit_code == 1
    assert "row 3: Name: A value is required." in result.output
    assert "1 row has problems, so nothing was imported." in result.output
    assert _count(app, Customer) == 0
    assert (tmp_path / "errors.csv").read_bytes().decode("utf-8-sig").startswith("Row,Problems,姓名,手机")
    result = runner.invoke(args=["crm", "import", str(bad), "--kind", "customers", "--valid-only"])
    assert result.exit_code == 0, result.output
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in result.output
    [run] = [r for r in runs(app) if r.status == "done"]
    assert {e.source for e in log_entries(app, batch_id=run.batch_id)} == {"cli"}
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    refused = runner.invoke(args=["crm", "import", str(png), "--kind", "customers"])
    assert refused.exit_code == 1 and "its content is of another kind" in refused.output
    assert "Undo" in login_as("administrator").get("/admin/imports/").get_data(as_text=True)
