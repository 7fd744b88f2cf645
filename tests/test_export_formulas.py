"""No file the panel writes runs a formula: every cell of every export, report and comparison, whatever its type."""
import csv
import enum
import io
import re
from datetime import date, datetime
from decimal import Decimal

import openpyxl
from flask_babel import lazy_gettext
from markupsafe import Markup
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import CustomerStanding, PersonalDataRequest
from crmadmin.spreadsheet import FORMULA_TRIGGERS, csv_lines, xlsx_chunks
from crmadmin.standing import today
from tests import factories
from tests.exporting import export
from tests.imports import csv_bytes, stage

# the six classic prefixes (OWASP CSV injection): a spreadsheet runs each as a formula
FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _rows(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _assert_nothing_runs(rows: list[list[str]], where: str) -> None:
    """Every cell starting with a trigger is a number (-5) or is kept as text by an apostrophe in front."""
    live = [value for row in rows for value in row
            if value[:1] in FORMULA_TRIGGERS and not NUMBER.fullmatch(value)]
    assert live == [], f"{where}: cells a spreadsheet would run: {live}"


def _xlsx_cells(raw: bytes) -> list[openpyxl.cell.Cell]:
    sheet = openpyxl.load_workbook(io.BytesIO(raw)).active
    return [c for row in sheet.iter_rows() for c in row if c.value is not None]


def _as_stored(text: str) -> str:
    return text.replace("\r", "_x000D_")  # OOXML's escape of a carriage return, left as it is by openpyxl


def _records_named_as_formulas(app) -> None:
    """For each formula: a customer named with it, and an owner, campaign, transaction, interaction, complaint,
    participant, survey answer, personal data request and role whose text (and related records) hold it."""
    with app.app_context():
        for i, formula in enumerate(FORMULAS):
            owner = factories.user("clerk", username=f"formula{i}", display_name=formula)
            customer = factories.customer(name=formula, address=formula, company_name=formula, owner_id=owner.id)
            campaign = factories.campaign(name=formula, owner_id=owner.id)
            factories.transaction(customer, product=formula, campaign_id=campaign.id)
            factories.interaction(customer, summary=formula, outcome=formula, handled_by_id=owner.id,
                                  next_follow_up_on=today())  # due: on the follow-up list
            complaint = factories.complaint(customer, subject=formula, department=formula, assignee_id=owner.id,
                                            received_at=datetime(2020, 1, 1))  # long overdue
            factories.participant(campaign, customer, note=formula, segment=formula)
            factories.survey(customer, comment=formula, complaint_id=complaint.id, campaign_id=campaign.id,
                             entered_by_id=owner.id)
            db.session.add(PersonalDataRequest(customer_id=customer.id, kind="correction", received_on=today(),
                                               channel="email", reference=formula, fields="name",
                                               performed_by_id=owner.id))
            db.session.commit()
            factories.role(formula, set())
        # at risk, as after months without a purchase: on the churn list too
        for standing in db.session.scalars(select(CustomerStanding)):
            standing.stage = "at_risk"
        db.session.commit()


def _export_rules(app) -> tuple[dict[str, str], set[str]]:
    """Swept from the app's routes: {screen: its export address less the type} for the list exports (CSV or XLSX),
    and the endpoints of the other exports."""
    lists, others = {}, set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith(".export"):
            if "export_type" in rule.arguments:
                lists[rule.endpoint.removesuffix(".export")] = rule.rule.removesuffix("<export_type>/")
            else:
                others.add(rule.endpoint)
    return lists, others


def test_the_sweep_finds_every_export(app):
    """Does the sweep see the record screens, the reports and the log, and is every other export one tested here
    (so a new one is covered, or noticed, the day it is added)?"""
    lists, others = _export_rules(app)
    assert {"customer", "transaction", "interaction", "complaint", "campaign", "campaignparticipant", "survey",
            "personaldata", "followups", "tiers", "churn", "overdue_complaints", "user", "role",
            "auditentry"} <= set(lists)
    assert others == {"campaigncomparison.export"}


def test_no_exported_cell_of_any_screen_runs_as_a_formula(app, job_worker, login_as):
    """Does every screen's export job, CSV and XLSX, keep a customer, owner, campaign or role named `=1+2` (and the other
    five prefixes) as text, in its text and related-record columns alike, with IDs as numbers?"""
    _records_named_as_formulas(app)
    client = login_as("administrator")
    for endpoint, url in _export_rules(app)[0].items():
        response = export(client, f"{url}csv/")  # the job's file, downloaded
        assert getattr(response, "status_code", None) == 200, (endpoint, response)
        rows = _rows(response.get_data())
        _assert_nothing_runs(rows, endpoint)
        cells = [value for row in rows[1:] for value in row]
        for formula in FORMULAS:  # each reached the file, as text (a customer shows as "=1+2 (#3)")
            assert any(value.startswith("'" + formula) for value in cells), (endpoint, formula)
        if "ID" in rows[0]:
            assert all(row[rows[0].index("ID")].isdigit() for row in rows[1:]), endpoint

        response = export(client, f"{url}xlsx/")
        assert getattr(response, "status_code", None) == 200, (endpoint, response)
        cells = _xlsx_cells(response.get_data())
        assert [c.coordinate for c in cells if c.data_type == "f"] == [], endpoint
        texts = [c.value for c in cells if c.data_type == "s"]
        for formula in FORMULAS:  # text exactly as typed: no apostrophe in a typed cell
            assert any(text.startswith(_as_stored(formula)) for text in texts), (endpoint, formula)
            assert not any(text.startswith("'" + _as_stored(formula)) for text in texts), (endpoint, formula)
        header = [c.value for c in cells if c.row == 1]
        if "ID" in header:
            assert all(c.data_type == "n" for c in cells if c.row > 1 and c.column == header.index("ID") + 1)


class Kind(enum.Enum):
    """A choice shown by its label."""

    LIVE = "=1+2"

    def __str__(self):
        return self.value


class Named:
    """A record as an export sees it: shown by its __str__."""

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return self.name


def _every_kind(formula: str) -> list:
    return [formula, Named(formula), lazy_gettext(formula), Markup(formula), Kind.LIVE]


def test_the_writer_neutralises_a_cell_of_any_type_and_keeps_numbers_and_dates(app):
    """Whatever a cell is (text, a record, a lazy label, Markup, an enum), is a formula kept as text, exactly, while
    numbers, negative ones included, stay numbers and dates stay dates?"""
    plain = [-5, Decimal("-2.50"), -1.5, 0, True, date(2024, 3, 1), datetime(2024, 3, 1, 9, 30), None]
    rows = [_every_kind(formula) + plain for formula in FORMULAS]
    with app.test_request_context():
        written = _rows("".join(csv_lines(["=title", Named("+title")], rows)).encode("utf-8"))
        book = b"".join(xlsx_chunks(["=title", Named("+title")], rows))
    assert written[0] == ["'=title", "'+title"]
    for formula, row in zip(FORMULAS, written[1:]):
        assert row[:5] == ["'" + formula] * 4 + ["'=1+2"]
        assert row[5:] == ["-5", "-2.50", "-1.5", "0", "True", "2024-03-01", "2024-03-01 09:30:00", ""]
    _assert_nothing_runs(written, "csv")
    sheet = openpyxl.load_workbook(io.BytesIO(book)).active
    assert [c.value for c in sheet[1][:2]] == ["=title", "+title"]
    for formula, row in zip(FORMULAS, sheet.iter_rows(min_row=2)):
        assert all(c.data_type == "s" for c in row[:5])
        assert [c.value for c in row[:5]] == [_as_stored(formula)] * 4 + ["=1+2"]
        assert [(c.data_type, c.value) for c in row[5:10]] == [("n", -5), ("n", -2.5), ("n", -1.5), ("n", 0),
                                                                ("b", True)]
        assert [c.value for c in row[10:12]] == ["2024-03-01", "2024-03-01 09:30:00"]


def test_an_import_error_report_runs_no_formula(app, login_as):
    """Are the rejected rows' cells, each starting with a formula prefix, kept as text in the error report?"""
    client = login_as("administrator")
    data = csv_bytes([["name", "mobile", "email", "note"],
                      *([formula, f"1380000{i:04d}", "bad@@example", formula] for i, formula in enumerate(FORMULAS))])
    run_id = stage(client, "customers", data)
    rows = _rows(client.get(f"/admin/imports/errors?id={run_id}").get_data())
    assert len(rows) == 1 + len(FORMULAS)
    _assert_nothing_runs(rows, "error report")
    assert {row[2] for row in rows[1:]} == {"'" + formula.strip() for formula in FORMULAS}


def test_the_campaign_comparison_runs_no_formula_and_keeps_negative_figures_as_numbers(app, login_as, job_worker):
    """Is each campaign named like a formula kept as text, and a loss (ROI -1) a number?"""
    with app.app_context():
        for formula in FORMULAS:
            factories.campaign(name=formula, actual_cost=Decimal("100.00"), status="finished")
    rows = _rows(export(login_as("administrator"), "/admin/campaigncomparison/export/").get_data())
    _assert_nothing_runs(rows, "campaign comparison")
    assert sorted(row[0] for row in rows[1:]) == sorted("'" + formula for formula in FORMULAS)
    roi = rows[0].index("Return on investment")
    assert {row[roi] for row in rows[1:]} == {"-1.0000"}
