"""Export files open right in a spreadsheet and run nothing: CSV with a BOM (RFC 4180), XLSX with typed cells."""
import csv
import io
import zipfile
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from crmadmin.admin.base import SecureModelView
from crmadmin.extensions import db
from crmadmin.models import User
from tests import factories
from tests.conftest import log_entries
from tests.exporting import export

TRICKY = ['=1+2', '+86 call me', '-5 discount', '@SUM(A1:A9)', '\tTAB', '\rCR', '逗号,引号"和\n换行', 'plain 文本']


NAMES = "甲乙丙丁戊己庚辛"


def _customers_with_tricky_notes(app, owner_id=None) -> list[int]:
    """Customers whose address holds each tricky text, named 样本甲, 样本乙, ..."""
    with app.app_context():
        return [factories.customer(name=f"样本{NAMES[i]}", address=text, owner_id=owner_id).id
                for i, text in enumerate(TRICKY)]


def _xlsx(response) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=False)


def test_a_csv_export_has_a_bom_crlf_lines_and_round_trips_commas_quotes_newlines_and_chinese(app, job_worker, login_as):
    """Does Excel get a UTF-8 BOM, and do tricky notes come back exactly, formulas neutralised with an apostrophe?"""
    _customers_with_tricky_notes(app)
    response = export(login_as("administrator"), "/admin/customer/export/csv/?sort=0")
    raw = response.get_data()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    assert raw.split(b"\r\n")[0].decode("utf-8-sig").startswith("ID,")
    notes = [row["Address"] for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))]
    assert notes == ["'=1+2", "'+86 call me", "'-5 discount", "'@SUM(A1:A9)", "'\tTAB", "'\rCR",
                     '逗号,引号"和\n换行', "plain 文本"]
    assert "attachment; filename=customer_" in response.headers["Content-Disposition"]


def test_an_xlsx_export_writes_text_and_numbers_never_formulas(app, job_worker, login_as):
    """Are tricky notes text cells holding exactly what was typed, amounts numbers, and is no cell a formula?"""
    ids = _customers_with_tricky_notes(app)
    with app.app_context():
        factories.transaction(db.session.get(factories.Customer, ids[0]), amount=Decimal("1234.50"))
    client = login_as("administrator")
    response = export(client, "/admin/customer/export/xlsx/?sort=0")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and all(b"<f>" not in book.read(n) and b"<f " not in book.read(n) for n in sheets)
    sheet = _xlsx(response).active
    header = [c.value for c in sheet[1]]
    notes = [row[header.index("Address")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    # a carriage return is stored as OOXML's escape _x000D_, which Excel decodes and openpyxl leaves as it is
    assert notes == [text.replace("\r", "_x000D_") for text in TRICKY]
    id_cells = [row[header.index("ID")] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in id_cells] == ids and all(c.data_type == "n" for c in id_cells)
    sold = _xlsx(export(client, "/admin/transaction/export/xlsx/")).active
    header = [c.value for c in sold[1]]
    amount = sold.cell(row=2, column=header.index("Amount") + 1)
    assert (amount.data_type, amount.value) == ("n", 1234.5)


def test_an_xlsx_export_keeps_the_viewers_scope_and_filters_and_is_logged(app, job_worker, login_as):
    """Does an own-customers role's XLSX hold only its customers matching the search, with the export logged?"""
    with app.app_context():
        factories.role("exporting clerk", {"customers.view", "customers.export"}, own_customers_only=True)
    client = login_as("exporting clerk")
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.username == client.username))
    mine = _customers_with_tricky_notes(app, owner_id=me)
    _customers_with_tricky_notes(app)  # someone else's, same names
    sheet = _xlsx(export(client, "/admin/customer/export/xlsx/?search=样本乙")).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [mine[1]]
    exported = log_entries(app, action="export")[-1]
    assert '"format": "xlsx"' in exported.changes and '"rows": 1' in exported.changes


def test_a_list_longer_than_a_worksheet_is_refused_as_xlsx_and_nothing_is_logged(app, job_worker, login_as, monkeypatch):
    """When the rows would not fit a worksheet, is the user told to filter or use CSV, with no export logged?"""
    monkeypatch.setattr(SecureModelView, "export_xlsx_max_rows", 5)
    _customers_with_tricky_notes(app)
    client = login_as("administrator")
    failed = export(client, "/admin/customer/export/xlsx/")
    assert failed["state"] == "failed" and "8 rows do not fit in one Excel worksheet" in failed["error"]
    page = client.get(f"/admin/jobs/job?id={failed['id']}").get_data(as_text=True)
    assert "do not fit in one Excel worksheet" in page and "export CSV" in page
    assert log_entries(app, action="export") == []
    assert export(client, "/admin/customer/export/xlsx/?search=样本乙").status_code == 200


def test_a_role_without_export_gets_neither_format(app, job_worker, login_as):
    """Is XLSX refused exactly like CSV to a role without the export permission?"""
    client = login_as("clerk")
    assert client.get("/admin/customer/export/xlsx/").status_code == 403
    assert client.get("/admin/customer/export/ods/").status_code == 403
