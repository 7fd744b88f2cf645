"""Export files a spreadsheet opens correctly and safely, written while the rows are read (bounded memory).

CSV: RFC 4180 (CRLF, minimal quoting) with a UTF-8 byte order mark, so Excel reads Chinese correctly, and every cell
a spreadsheet would run as a formula prefixed with an apostrophe (OWASP CSV injection). XLSX: numbers as numbers,
everything else as text cells, never formulas; rows are flushed to disk as written (XlsxWriter constant_memory), and
the file is sent once complete.
"""
import csv
import tempfile
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Iterator

import xlsxwriter

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_575  # a worksheet's 1,048,576 rows, less the header
CHUNK = 64 * 1024
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value):
    """A text cell starting with =, +, -, @, tab or CR is kept as text by a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


class _Echo:
    """csv.writer's file: each written line is handed back instead of stored."""

    def write(self, line: str) -> str:
        return line


def csv_lines(titles: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The header (after the BOM) and each row as one CSV line, neutralised."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield BOM + writer.writerow([neutralise(str(t)) for t in titles])
    for row in rows:
        # only text is neutralised: a number such as -5 is a number, not the start of a formula
        yield writer.writerow(["" if v is None else neutralise(v) if isinstance(v, str) else str(v) for v in row])


def _cell(sheet, r: int, c: int, value) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(r, c, value)
    elif isinstance(value, (int, float, Decimal)):
        sheet.write_number(r, c, float(value))
    elif isinstance(value, datetime):
        sheet.write_string(r, c, value.strftime("%Y-%m-%d %H:%M:%S"))
    elif isinstance(value, date):
        sheet.write_string(r, c, value.isoformat())
    else:
        sheet.write_string(r, c, str(value))  # text, even if it looks like a formula, a number or a link


def xlsx_chunks(titles: list[str], rows: Iterable[list], sheet_name: str = "Export") -> Iterator[bytes]:
    """An XLSX workbook of the rows (at most a worksheet's worth), built in a temporary file, then sent in chunks."""
    with tempfile.TemporaryFile() as out:
        book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False,
                                         "tmpdir": tempfile.gettempdir()})
        sheet = book.add_worksheet(sheet_name[:31])
        bold = book.add_format({"bold": True})
        sheet.freeze_panes(1, 0)
        for c, title in enumerate(titles):
            sheet.write_string(0, c, str(title), bold)
            sheet.set_column(c, c, max(10, min(40, len(str(title)) + 4)))
        for r, row in enumerate(rows, start=1):
            if r > XLSX_MAX_ROWS:
                break
            for c, value in enumerate(row):
                _cell(sheet, r, c, value)
        book.close()
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk
