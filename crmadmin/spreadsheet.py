"""The one writer of every file the panel sends a spreadsheet: exports, error reports, comparisons, the log.

Every cell, whatever its Python type (text, a related record shown by its `__str__`, a choice's lazy label, Markup,
a date), passes `cell()`: numbers stay numbers, everything else becomes text. CSV: RFC 4180 (CRLF, minimal quoting)
with a UTF-8 byte order mark, so Excel reads Chinese correctly, and every text a spreadsheet would run as a formula
prefixed with an apostrophe (OWASP CSV injection). XLSX: numbers as numbers, everything else as text cells kept
exactly, never formulas; rows are flushed to disk as written (XlsxWriter constant_memory), and the file is sent
once complete. Imports nothing of the package: imports/ and admin/ both write through it.
"""
import csv
import io
import math
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


def cell(value) -> None | bool | int | float | Decimal | str:
    """A value as a spreadsheet cell holds it: None, a boolean, a finite number, or else its text (a plain str)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        # NaN and infinities are no numbers a spreadsheet reads, and "-inf" would start a formula
        return value if (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)) else str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    # str() of a model, a lazy label or an enum; str.__str__ turns a str subclass (Markup) into a plain str,
    # which a prefix does not HTML-escape
    return str.__str__(str(value))


def neutralise(text: str) -> str:
    """A text starting with =, +, -, @, tab or CR is kept as text by a leading apostrophe."""
    return "'" + text if text[:1] in FORMULA_TRIGGERS else text


def csv_cell(value) -> str:
    """A value as one CSV field: numbers as written, any text neutralised, None empty."""
    value = cell(value)
    if value is None:
        return ""
    return neutralise(value) if isinstance(value, str) else str(value)


class _Echo:
    """csv.writer's file: each written line is handed back instead of stored."""

    def write(self, line: str) -> str:
        return line


def csv_lines(titles: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The header (after the BOM) and each row as one CSV line, every cell through `csv_cell`."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield BOM + writer.writerow([csv_cell(t) for t in titles])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def csv_bytes(titles: Iterable, rows: Iterable[Iterable]) -> bytes:
    """A whole CSV file, for one kept or written at once (an import's error report)."""
    return "".join(csv_lines(titles, rows)).encode("utf-8")


def _write(sheet, r: int, c: int, value, style=None) -> None:
    value = cell(value)
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(r, c, value, style)
    elif isinstance(value, str):
        sheet.write_string(r, c, value, style)  # text, even if it looks like a formula, a number or a link
    else:
        sheet.write_number(r, c, float(value), style)


def write_csv(out, titles: Iterable, rows: Iterable[Iterable]) -> None:
    """The CSV file into `out` (a binary file), line by line: a job's export of any length."""
    for line in csv_lines(titles, rows):
        out.write(line.encode("utf-8"))


class CsvBatches:
    """Batches (lists) of rows whose cells are already what `csv_cell` makes of the values (text, or a number, date
    or None that the csv module writes as `csv_cell` would): written as they are, by C."""

    def __init__(self, batches: Iterable[list]):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def close(self) -> None:
        """Ends the read (and its transaction) where the batches stop early: a cancelled job."""
        close = getattr(self.batches, "close", None)
        if close is not None:
            close()


def write_csv_batches(out, titles: Iterable, batches: Iterable[list]) -> None:
    """The CSV file into `out` (a binary file) from `CsvBatches`: a long export's path."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        text.write(BOM)
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([csv_cell(t) for t in titles])
        for batch in batches:
            writer.writerows(batch)
        text.flush()
    finally:
        text.detach()  # `out` stays open: its owner closes it


class CsvLines(CsvBatches):
    """Batches (lists) of finished CSV lines, UTF-8 bytes each without its line end, as the csv module would have
    written them (PostgreSQL's COPY, admin/export_rows.py): written as they are."""


def write_csv_lines(out, titles: Iterable, batches: Iterable[list]) -> None:
    """The CSV file into `out` (a binary file) from `CsvLines`: the header, then each line ended by CRLF."""
    out.write("".join(csv_lines(titles, ())).encode("utf-8"))
    for batch in batches:
        if batch:
            out.write(b"\r\n".join(batch))
            out.write(b"\r\n")


def write_xlsx(out, titles: list, rows: Iterable[Iterable], sheet_name: str = "Export") -> None:
    """An XLSX workbook of the rows (at most a worksheet's worth) into `out` (a path or a binary file), rows flushed
    to disk as written."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False,
                                     "tmpdir": tempfile.gettempdir()})
    sheet = book.add_worksheet(str(sheet_name)[:31])
    bold = book.add_format({"bold": True})
    sheet.freeze_panes(1, 0)
    for c, title in enumerate(titles):
        _write(sheet, 0, c, title, bold)
        sheet.set_column(c, c, max(10, min(40, len(str(title)) + 4)))
    for r, row in enumerate(rows, start=1):
        if r > XLSX_MAX_ROWS:
            break
        for c, value in enumerate(row):
            _write(sheet, r, c, value)
    book.close()


def xlsx_chunks(titles: list, rows: Iterable[Iterable], sheet_name: str = "Export") -> Iterator[bytes]:
    """An XLSX workbook of the rows, built in a temporary file, then sent in chunks."""
    with tempfile.TemporaryFile() as out:
        write_xlsx(out, titles, rows, sheet_name)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk
