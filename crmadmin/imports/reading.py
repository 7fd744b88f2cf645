"""Reading an uploaded file safely: limits and type checked on the raw bytes first, then parsed into rows.

`check` decides from the content alone (never the file name) whether the bytes are a CSV or an XLSX workbook, and
refuses before any parsing: a file over the size limit; a legacy .xls, an image, a PDF or another binary; a CSV with
NUL bytes or text that is neither UTF-8 (with or without a byte order mark) nor GB18030 (Chinese Excel's "CSV");
an XLSX whose zip directory declares too many parts, too many bytes unzipped, or a part that unzips more than the
allowed ratio (a zip bomb); an XLSX with a DOCTYPE or ENTITY declaration in any part (entity expansion, external
entities). `read` then parses, stopping at the first row beyond the row limit. openpyxl parses through defusedxml
when it is installed (it is pinned in requirements.txt), a second guard behind the scan.
"""
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import gettext as _

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Office 97–2003 (.xls, .doc) compound file
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
BINARY_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"%PDF", b"\x1f\x8b", b"7z\xbc\xaf",
                     b"Rar!", b"BM6", b"II*\x00", b"MM\x00*", b"RIFF", b"\x00\x00\x01\x00")
XML_DECLARATIONS = tuple(marker.encode(encoding) for marker in ("<!DOCTYPE", "<!ENTITY", "<!doctype", "<!entity")
                         for encoding in ("utf-8", "utf-16-le", "utf-16-be"))
SCAN_CHUNK = 1024 * 1024
RATIO_FLOOR = 64 * 1024  # parts smaller than this unzipped are not judged by their ratio (tiny XML compresses well)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # C0 controls but tab, line feed, carriage return


class FileRefused(Exception):
    """Why a file cannot be imported, in the user's language; nothing was stored."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 15 * 1024 * 1024
    max_rows: int = 100_000
    xlsx_max_members: int = 200
    xlsx_max_unzipped: int = 256 * 1024 * 1024
    xlsx_max_ratio: int = 200

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(max_bytes=config["CRM_IMPORT_MAX_BYTES"], max_rows=config["CRM_IMPORT_MAX_ROWS"],
                   xlsx_max_members=config["CRM_IMPORT_XLSX_MAX_MEMBERS"],
                   xlsx_max_unzipped=config["CRM_IMPORT_XLSX_MAX_UNZIPPED"],
                   xlsx_max_ratio=config["CRM_IMPORT_XLSX_MAX_RATIO"])


@dataclass
class Table:
    """A file's header and data rows: (spreadsheet row number, cell values), blank rows left out."""

    file_format: str
    headers: list[str]
    rows: list[tuple[int, list]] = field(default_factory=list)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def check(data: bytes, limits: Limits) -> str:
    """'csv' or 'xlsx', judged from the bytes; FileRefused for anything unsafe or unreadable, before parsing."""
    if not data:
        raise FileRefused(_("The file is empty."))
    if len(data) > limits.max_bytes:
        raise FileRefused(_("The file is %(size)s; files up to %(max)s can be imported.",
                            size=_size(len(data)), max=_size(limits.max_bytes)))
    if data.startswith(OLE2):
        raise FileRefused(_("This is an old Excel 97–2003 (.xls) or other Office file. Save it as an Excel "
                            "workbook (.xlsx) or as CSV UTF-8, and import that."))
    if data.startswith(ZIP_SIGNATURES):
        _check_xlsx(data, limits)
        return "xlsx"
    if data.startswith(BINARY_SIGNATURES):
        raise FileRefused(_("This file is not a CSV file or an Excel workbook (.xlsx): its content is of "
                            "another kind (an image, a PDF or an archive)."))
    decode(data)
    return "csv"


def decode(data: bytes) -> str:
    """The text of a CSV file: UTF-8 (a byte order mark is dropped), else GB18030; refused if neither, or binary."""
    if b"\x00" in data:
        raise FileRefused(_("The file contains NUL bytes, so it is not a CSV text file. If Excel saved it as "
                            "\"Unicode text\", save it as \"CSV UTF-8\" instead."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise FileRefused(_("The file's text is neither UTF-8 nor GB18030 (GBK), so it cannot be read. Save "
                                "it as \"CSV UTF-8\" and import that.")) from None
    if CONTROL.search(text):
        raise FileRefused(_("The file contains control characters, so it is not a CSV text file."))
    return text


def _check_xlsx(data: bytes, limits: Limits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise FileRefused(_("The file looks like a zip archive but is damaged; it is not a readable Excel "
                            "workbook (.xlsx).")) from None
    with archive:
        names = {m.filename for m in members}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise FileRefused(_("This zip file is not an Excel workbook (.xlsx). Save the sheet from Excel as "
                                ".xlsx or CSV UTF-8."))
        if len(members) > limits.xlsx_max_members:
            raise FileRefused(_("The workbook has %(num)d parts; at most %(max)d are accepted.",
                                num=len(members), max=limits.xlsx_max_members))
        if any(m.flag_bits & 0x1 for m in members):
            raise FileRefused(_("The workbook is password-protected. Remove the password in Excel and import "
                                "it again."))
        unzipped = sum(m.file_size for m in members)
        if unzipped > limits.xlsx_max_unzipped:
            raise FileRefused(_("The workbook unzips to %(size)s; at most %(max)s is accepted (a zip bomb?).",
                                size=_size(unzipped), max=_size(limits.xlsx_max_unzipped)))
        for member in members:
            if member.file_size > RATIO_FLOOR and \
                    member.file_size > limits.xlsx_max_ratio * max(member.compress_size, 1):
                raise FileRefused(_("A part of the workbook unzips to more than %(ratio)d times its size (a zip "
                                    "bomb?); it is not imported.", ratio=limits.xlsx_max_ratio))
        for member in members:
            if _declares_entities(archive, member):
                raise FileRefused(_("The workbook contains an XML DOCTYPE or ENTITY declaration, which Excel "
                                    "never writes; it is not imported."))


def _declares_entities(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Scan one part, unzipped as a stream (zipfile stops at the declared size), for DOCTYPE or ENTITY."""
    overlap = max(len(m) for m in XML_DECLARATIONS) - 1
    tail = b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(SCAN_CHUNK):
                window = tail + chunk
                if any(marker in window for marker in XML_DECLARATIONS):
                    return True
                tail = window[-overlap:]
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError):
        raise FileRefused(_("The file looks like a zip archive but is damaged; it is not a readable Excel "
                            "workbook (.xlsx).")) from None
    return False


def read(data: bytes, file_format: str, limits: Limits) -> Table:
    """Parse a file that `check` accepted; refused when it has no data rows or more rows than the limit."""
    table = _read_xlsx(data, limits) if file_format == "xlsx" else _read_csv(data, limits)
    if not table.headers or not any(table.headers):
        raise FileRefused(_("The file has no header row: its first row must name the columns."))
    if not table.rows:
        raise FileRefused(_("The file has no rows under its header row."))
    return table


def _too_many(limits: Limits) -> FileRefused:
    return FileRefused(_("The file has more than %(max)s rows; split it into files of at most %(max)s rows.",
                         max=f"{limits.max_rows:,}"))


def _headers(cells) -> list[str]:
    names = ["" if c is None else str(c).strip() for c in cells]
    while names and not names[-1]:
        names.pop()
    return [name or _("Column %(num)d", num=i + 1) for i, name in enumerate(names)]


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _read_csv(data: bytes, limits: Limits) -> Table:
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    table = Table("csv", [])
    try:
        for number, cells in enumerate(reader, start=1):
            if number == 1:
                table.headers = _headers(cells)
                continue
            values = [c.strip() or None for c in cells]
            if not any(values):
                continue
            if len(table.rows) >= limits.max_rows:
                raise _too_many(limits)
            table.rows.append((number, values))
    except csv.Error:
        raise FileRefused(_("The file is not a readable CSV file (around line %(line)d).",
                            line=reader.line_num)) from None
    return table


def as_csv(table: Table) -> bytes:
    """The table as UTF-8 CSV text, kept for the later steps of an XLSX import so each step need not unzip and
    parse the workbook again (a tenth of the time). Dates become 2026-03-31 14:30:00, whole numbers lose ".0";
    skipped blank rows stay as empty lines, so row numbers are the spreadsheet's. Never sent to anyone, so not
    written by crmadmin/spreadsheet.py: an apostrophe there would change the values imported."""
    from .values import text_of

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    previous = 1
    for number, cells in table.rows:
        for _blank in range(number - previous - 1):
            writer.writerow([])
        writer.writerow(["" if cell is None else text_of(cell) for cell in cells])
        previous = number
    return out.getvalue().encode("utf-8")


def _cell(value):
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, datetime) and value.time() == time():
        return value  # a date typed in Excel: kept as a datetime, read as a date by date fields
    return value if isinstance(value, (int, float, date, datetime, time)) or value is None else str(value)


def _read_xlsx(data: bytes, limits: Limits) -> Table:
    from openpyxl import load_workbook  # defusedxml underneath when installed

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged workbook; all mean the same to the user
        raise FileRefused(_("The workbook could not be read; open it in Excel, save it again as .xlsx and "
                            "import that.")) from None
    table = Table("xlsx", [])
    try:
        sheet = book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number == 1:
                table.headers = _headers(cells)
                continue
            values = [_cell(c) for c in cells]
            if not any(v is not None for v in values):
                continue
            if len(table.rows) >= limits.max_rows:
                raise _too_many(limits)
            table.rows.append((number, values))
    except FileRefused:
        raise
    except Exception:
        raise FileRefused(_("The workbook could not be read; open it in Excel, save it again as .xlsx and "
                            "import that.")) from None
    finally:
        book.close()
    return table
