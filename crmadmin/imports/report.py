"""The rows an import rejects, as a CSV a spreadsheet opens safely (BOM, RFC 4180, formulas neutralised)."""
from flask_babel import gettext as _

from ..spreadsheet import csv_bytes
from .validation import Report, Row
from .values import text_of


def problems_text(report: Report, row: Row) -> str:
    """Every problem of a row, each after its field's label."""
    return "; ".join(f"{report.fields[name].label if name in report.fields else name}: {message}"
                     for name, messages in row.problems.items() for message in messages)


def error_report(report: Report) -> bytes:
    """Row number, problems, then the row's cells as read from the file, for every row with a problem."""
    titles = [_("Row"), _("Problems"), *report.headers]
    rows = ([row.number, problems_text(report, row),
             *("" if cell is None else text_of(cell) for cell in row.cells[:len(report.headers)])]
            for row in report.rows if not row.valid)
    return csv_bytes(titles, rows)
