"""Files that protect the server: limits and types are checked on the raw bytes, before parsing; nothing is stored."""
import io
import zipfile

import pytest

from crmadmin.imports.reading import FileRefused, Limits, check, read
from tests import factories
from tests.imports import csv_bytes, run_id_of, runs, upload, xlsx_bytes

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"Workbook"
GOOD = [["name", "mobile"], ["王芳", "13800000001"]]


def _flash(client) -> str:
    return client.get("/admin/imports/").get_data(as_text=True)


def _refused(app, client, data: bytes, filename: str, message: str, snapshot) -> None:
    """The upload goes back to the Import page with `message`, and nothing at all is stored."""
    rows = snapshot()
    response = upload(client, "customers", data, filename)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/imports/")
    assert message in _flash(client)
    assert snapshot() == rows
    assert runs(app) == []


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


def _workbook_parts(**replace: bytes) -> dict[str, bytes]:
    """A real workbook's parts (written by XlsxWriter), some replaced."""
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(GOOD))) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts.update(replace)
    return parts


@pytest.mark.parametrize("data, filename, message", [
    (PNG, "customers.csv", "its content is of another kind"),
    (PNG, "customers.xlsx", "its content is of another kind"),
    (XLS, "customers.xlsx", "This is an old Excel 97–2003 (.xls)"),
    (XLS, "customers.csv", "This is an old Excel 97–2003 (.xls)"),
    (b"%PDF-1.7\n1 0 obj\n", "customers.csv", "its content is of another kind"),
    (b"name,mobile\nWang\x00,13800000001\n", "customers.csv", "The file contains NUL bytes"),
    ("name,mobile\n王芳,13800000001\n".encode("utf-16"), "customers.csv", "The file contains NUL bytes"),
    (b"name,mobile\n\xff\xfe\xfd\xfc,13800000001\n", "customers.csv", "neither UTF-8 nor GB18030"),
    (b"name,mobile\nWang\x07\x1b,13800000001\n", "customers.csv", "control characters"),
    (_zip({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<Types/>"}), "customers.xlsx",
     "This zip file is not an Excel workbook"),
    (b"PK\x03\x04 this is not really a zip", "customers.xlsx", "is damaged"),
    (b"", "customers.csv", "The file is empty."),
    (b"name,mobile\n", "customers.csv", "The file has no rows under its header row."),
])
def test_a_wrong_type_is_refused_by_its_content_and_nothing_is_stored(app, login_as, snapshot, data, filename,
                                                                       message):
    """An image, a legacy .xls, a PDF, a UTF-16 or undecodable text, another zip, whatever the name: refused?"""
    _refused(app, login_as("administrator"), data, filename, message, snapshot)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_utf8_with_or_without_bom_and_gb18030_are_read_alike(app, login_as, encoding):
    """Does a CSV saved by a Chinese Excel (GB18030) read the same Chinese as a UTF-8 one?"""
    client = login_as("administrator")
    run_id = run_id_of(upload(client, "customers", csv_bytes([["姓名", "手机"], ["王芳", "13800000001"]], encoding)))
    page = client.get(f"/admin/imports/map?id={run_id}").get_data(as_text=True)
    assert "王芳" in page and 'value="name" selected' in page and 'value="mobile" selected' in page


def test_a_file_over_the_size_limit_is_refused(app, login_as, snapshot, monkeypatch):
    """A file one byte over CRM_IMPORT_MAX_BYTES: refused with the limit named, nothing stored?"""
    data = csv_bytes(GOOD)
    monkeypatch.setitem(app.config, "CRM_IMPORT_MAX_BYTES", len(data) - 1)
    _refused(app, login_as("administrator"), data, "customers.csv", "files up to 1 KB can be imported", snapshot)


@pytest.mark.parametrize("make, filename", [(csv_bytes, "many.csv"), (xlsx_bytes, "many.xlsx")])
def test_a_file_with_too_many_rows_is_refused(app, login_as, snapshot, monkeypatch, make, filename):
    """One row more than CRM_IMPORT_MAX_ROWS, in CSV or XLSX: refused, nothing stored?"""
    monkeypatch.setitem(app.config, "CRM_IMPORT_MAX_ROWS", 5)
    data = make([["name", "mobile"]] + [[f"C{i}", f"1380000000{i}"] for i in range(6)])
    _refused(app, login_as("administrator"), data, filename, "The file has more than 5 rows", snapshot)
    exactly = make([["name", "mobile"]] + [[f"C{i}", f"1380000000{i}"] for i in range(5)])
    assert upload(login_as("administrator"), "customers", exactly, filename).headers["Location"].find("/map?") > 0


def test_a_zip_bomb_is_refused_from_its_zip_directory(app, login_as, snapshot, monkeypatch):
    """A workbook part that unzips to 1,000 times its size, or past the total allowed: refused before parsing?"""
    client = login_as("administrator")
    bomb = _zip(_workbook_parts(**{"xl/worksheets/sheet1.xml": b"<a>" + b" " * (8 * 1024 * 1024) + b"</a>"}))
    assert len(bomb) < 100 * 1024
    _refused(app, client, bomb, "bomb.xlsx", "unzips to more than 200 times its size", snapshot)
    monkeypatch.setitem(app.config, "CRM_IMPORT_XLSX_MAX_RATIO", 100_000)
    monkeypatch.setitem(app.config, "CRM_IMPORT_XLSX_MAX_UNZIPPED", 4 * 1024 * 1024)
    _refused(app, client, bomb, "bomb.xlsx", "The workbook unzips to 8.0 MB; at most 4.0 MB is accepted", snapshot)


def test_a_workbook_of_too_many_parts_is_refused(app, login_as, snapshot):
    """A zip with more parts than CRM_IMPORT_XLSX_MAX_MEMBERS: refused?"""
    parts = _workbook_parts(**{f"xl/media/p{i}.bin": b"x" for i in range(250)})
    _refused(app, login_as("administrator"), _zip(parts), "parts.xlsx", "at most 200 are accepted", snapshot)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_xml_entities_in_any_part_are_refused(app, login_as, snapshot, encoding):
    """A billion-laughs DOCTYPE in the shared strings (UTF-8 or UTF-16): refused before openpyxl sees it?"""
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>')
    parts = _workbook_parts(**{"xl/sharedStrings.xml": laughs.encode(encoding)})
    _refused(app, login_as("administrator"), _zip(parts), "lol.xlsx", "DOCTYPE or ENTITY declaration", snapshot)


def test_a_refusal_is_given_in_the_users_language(app, login_as, snapshot):
    """Does a Chinese-speaking user read why their file was refused in Chinese?"""
    client = login_as("administrator", locale="zh_CN")
    _refused(app, client, PNG, "客户.csv", "不是 CSV 文件", snapshot)


def test_the_checks_run_before_any_parsing():
    """Is a bomb refused by `check` alone, from the zip directory, with no row read?"""
    limits = Limits(xlsx_max_unzipped=1024 * 1024)
    bomb = _zip(_workbook_parts(**{"xl/worksheets/sheet1.xml": b"<a>" + b" " * (2 * 1024 * 1024) + b"</a>"}))
    with pytest.raises(FileRefused):
        check(bomb, limits)
    assert check(xlsx_bytes(GOOD), Limits()) == "xlsx"
    assert read(xlsx_bytes(GOOD), "xlsx", Limits()).rows == [(2, ["王芳", "13800000001"])]
    assert factories  # the factories module is importable without an app (no side effects)
