"""Files on records (客户资料存档, issue 28): attached to a customer or a complaint, checked by content, kept in a
shared folder or the database, downloaded only by who may view the record, logged, and gone with an erasure."""
import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.files import store
from crmadmin.models import AuditEntry, Customer, RecordFile, User
from tests import factories
from tests.conftest import log_entries
from tests.forms import csrf_token, submit

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% MARKER-3f9a1c the content, never logged\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."
NAME = "购销合同 2026（张三）.pdf"


def _office(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


DOCX = _office({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
DOCM = _office({"[Content_Types].xml": b'<Types><Override ContentType="application/vnd.ms-word.document.macroEnabled'
                                       b'.main+xml"/></Types>', "word/document.xml": b"<w:document/>",
                "word/vbaProject.bin": b"\x00"})


@pytest.fixture(params=["folder", "database"])
def storage(request, app, tmp_path, monkeypatch):
    """Each test twice: files in CRM_FILES_DIR (returned), and in the database (None)."""
    folder = tmp_path / "files" if request.param == "folder" else None
    monkeypatch.setitem(app.config, "CRM_FILES_DIR", str(folder) if folder else None)
    return folder


def stored_files(folder: Path | None) -> list[bytes]:
    """The bytes of every file in the folder (none when the files are in the database)."""
    if folder is None or not folder.exists():
        return []
    return [p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()]


@pytest.fixture
def owned(app, login_as):
    """A clerk signed in, with a customer of their own and a complaint of that customer."""
    client = login_as("clerk")
    with app.app_context():
        clerk = db.session.scalar(select(User).where(User.username == client.username))
        customer = factories.customer(name="张三", owner_id=clerk.id)
        complaint = factories.complaint(customer, subject="收到的产品破损")
    return client, customer.id, complaint.id


def upload(client, record_id: int, data: bytes | None, name: str = NAME, record_type: str = "customer",
           language: str = "en"):
    """Send a file through the details page's upload form, as a browser would (CSRF from the page)."""
    page = client.get(f"/admin/{record_type}/details/?id={record_id}").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "record_type": record_type, "record_id": str(record_id)}
    if data is not None:
        form["file"] = (io.BytesIO(data), name)
    return client.post("/admin/recordfiles/upload/", data=form, content_type="multipart/form-data",
                       headers={"Accept-Language": language}, follow_redirects=True)


def file_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(RecordFile.id).order_by(RecordFile.id)))


def download(client, file_id):
    """GET a file's download, read whole and closed (the folder's file is streamed from an open handle)."""
    response = client.get(f"/admin/recordfiles/download/?id={file_id}")
    response.get_data()
    response.close()
    return response


def delete(client, record_url: str, file_id: int):
    token = csrf_token(client.get(record_url).get_data(as_text=True))
    return client.post("/admin/recordfiles/delete/", data={"csrf_token": token, "id": str(file_id)})


def test_an_attached_file_downloads_for_its_owner_byte_for_byte(app, owned, storage):
    """Does the clerk get back exactly the bytes attached, as an attachment under its Chinese name, never sniffed?"""
    client, customer_id, _complaint_id = owned
    page = upload(client, customer_id, PDF).get_data(as_text=True)
    assert "was attached" in page and NAME in page
    [file_id] = file_ids(app)
    response = download(client, file_id)
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''%E8%B4%AD%E9%94%80" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert stored_files(storage) == ([PDF] if storage else [])
    with app.app_context():
        row = db.session.get(RecordFile, file_id)
        assert (row.storage_key is None) == (storage is None) and row.size == len(PDF)
        assert db.session.scalar(select(RecordFile.content)) == (None if storage else PDF)


def test_a_complaint_takes_files_too(app, owned, storage):
    """Can a photo of the damaged product be attached to the complaint, and read back from it?"""
    client, _customer_id, complaint_id = owned
    page = upload(client, complaint_id, PNG, "破损照片.png", record_type="complaint").get_data(as_text=True)
    assert "破损照片.png" in page and "/admin/complaint/details/" in page
    [file_id] = file_ids(app)
    assert download(client, file_id).data == PNG


def test_another_clerk_gets_404_for_every_file_route_and_nothing_changes(app, owned, login_as, snapshot, storage):
    """Can a clerk limited to their own customers read, add to or delete another clerk's customer's files?"""
    client, customer_id, complaint_id = owned
    upload(client, customer_id, PDF)
    upload(client, complaint_id, PNG, "photo.png", record_type="complaint")
    other = login_as("clerk")
    rows, files = snapshot(), stored_files(storage)
    token = csrf_token(other.get("/admin/").get_data(as_text=True))
    for file_id in file_ids(app):
        assert download(other, file_id).status_code == 404
        assert other.post("/admin/recordfiles/delete/", data={"csrf_token": token, "id": file_id}).status_code == 404
    for record_type, record_id in (("customer", customer_id), ("complaint", complaint_id)):
        response = other.post("/admin/recordfiles/upload/", content_type="multipart/form-data", data={
            "csrf_token": token, "record_type": record_type, "record_id": record_id,
            "file": (io.BytesIO(PDF), "x.pdf")})
        assert response.status_code == 404
    for bad in ("", "x", "99999999999999999999", "-1"):
        assert download(other, bad).status_code == 404
    assert snapshot() == rows and stored_files(storage) == files


REFUSED = [
    (EXE, "invoice.pdf", "program"),  # a program renamed .pdf
    (b"#!/bin/sh\nrm -rf /\n", "notes.pdf", "program"),
    (b"<html><script>alert(1)</script></html>", "page.pdf", "not one of the kinds"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.svg", "not one of the kinds"),
    (_office({"a.txt": b"x"}), "archive.zip", "archives cannot be attached"),
    (DOCM, "report.docx", "macros"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.doc", "Office 97"),
    (PNG, "scan.pdf", "ends in .pdf"),  # an image named as a PDF would not open
    (b"PK\x03\x04broken", "contract.docx", "damaged"),
    (b"", "empty.pdf", "empty"),
]


@pytest.mark.parametrize("data, name, why", REFUSED, ids=[r[2] + "-" + r[1] for r in REFUSED])
def test_a_file_whose_content_is_not_allowed_is_refused_and_nothing_is_stored(app, owned, snapshot, storage, data,
                                                                              name, why):
    """Is a file judged by its content, refused with a clear message, and is nothing at all kept?"""
    client, customer_id, _ = owned
    rows = snapshot()
    response = upload(client, customer_id, data, name)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "The file was not attached" in page and why in page
    assert snapshot() == rows and stored_files(storage) == []


def test_the_size_limit_and_a_missing_file_are_explained_in_chinese(app, owned, snapshot, storage, monkeypatch):
    """Does a zh_CN user learn why a too big file or no file was not attached, with nothing stored?"""
    client, customer_id, _ = owned
    monkeypatch.setitem(app.config, "CRM_FILES_MAX_BYTES", 1024)
    rows = snapshot()
    too_big = upload(client, customer_id, PDF + b"0" * 2048, language="zh-CN").get_data(as_text=True)
    assert "文件未上传" in too_big and "1\u00a0KB" in too_big
    assert "请选择要上传的文件" in upload(client, customer_id, None, language="zh-CN").get_data(as_text=True)
    assert "请选择要上传的文件" in upload(client, customer_id, PDF, name="", language="zh-CN").get_data(as_text=True)
    assert snapshot() == rows and stored_files(storage) == []
    assert upload(client, customer_id, PDF[:1000]).status_code == 200 and len(file_ids(app)) == 1


def test_a_request_over_the_server_limit_gets_a_page_not_an_error(app, owned, monkeypatch, snapshot):
    """A body larger than MAX_CONTENT_LENGTH: a 413 page, nothing stored, never a 500."""
    client, customer_id, _ = owned
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    rows = snapshot()
    page = client.get(f"/admin/customer/details/?id={customer_id}").get_data(as_text=True)
    response = client.post("/admin/recordfiles/upload/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "record_type": "customer", "record_id": customer_id,
        "file": (io.BytesIO(PDF + b"0" * 4096), "big.pdf")})
    assert response.status_code == 413 and snapshot() == rows


def test_deleting_a_file_removes_it_from_the_folder_or_the_database(app, owned, storage):
    """After a delete, is the file gone for good: no row, no bytes in the folder, no download?"""
    client, customer_id, _ = owned
    upload(client, customer_id, PDF)
    upload(client, customer_id, DOCX, "报价单.docx")
    first, second = file_ids(app)
    url = f"/admin/customer/details/?id={customer_id}"
    response = delete(client, url, first)
    assert response.status_code == 302 and response.headers["Location"].endswith("#files")
    assert "was deleted" in client.get(url).get_data(as_text=True)
    assert file_ids(app) == [second]
    assert stored_files(storage) == ([DOCX] if storage else [])
    assert download(client, first).status_code == 404
    assert delete(client, url, first).status_code == 404


def test_upload_download_and_delete_are_logged_with_name_and_size_never_content(app, owned, storage):
    """Does the operation log say who attached, read and deleted which file (name, size), without its bytes?"""
    client, customer_id, _ = owned
    upload(client, customer_id, PDF)
    [file_id] = file_ids(app)
    download(client, file_id)
    delete(client, f"/admin/customer/details/?id={customer_id}", file_id)
    events = [e for e in log_entries(app) if e.action.startswith("file_")]
    assert [e.action for e in events] == ["file_uploaded", "file_downloaded", "file_deleted"]
    for event in events:
        assert (event.record_type, event.record_id, event.actor) == ("customer", str(customer_id), client.username)
        assert f'"size": {len(PDF)}' in event.changes and "购销合同" in event.changes
    with app.app_context():
        assert not db.session.scalar(select(AuditEntry.id).where(AuditEntry.changes.contains("MARKER-3f9a1c")))
        assert not db.session.scalar(select(AuditEntry.id).where(AuditEntry.record_type == "record_file"))


def test_an_erasure_removes_the_customers_files_and_their_complaints_files(app, owned, login_as, storage):
    """When a customer's personal data is erased, do their ID scans and complaint photos go too, bytes included?"""
    client, customer_id, complaint_id = owned
    upload(client, customer_id, PDF, "身份证.pdf")
    upload(client, complaint_id, PNG, "photo.png", record_type="complaint")
    with app.app_context():
        others = factories.customer(name="李四")
    supervisor = login_as("supervisor")
    upload(supervisor, others.id, DOCX, "李四合同.docx")
    assert len(file_ids(app)) == 3
    response = submit(supervisor, f"/admin/personaldata/erase/?id={customer_id}",
                      {"received_on": "2026-11-20", "channel": "email", "confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert list(db.session.scalars(select(RecordFile.file_name))) == ["李四合同.docx"]
    assert stored_files(storage) == ([DOCX] if storage else [])
    erased = [e for e in log_entries(app) if e.action == "personal_data_erased"][-1]
    assert '"attached_files": 2' in erased.changes


@pytest.mark.parametrize("role", ["auditor"])
def test_an_auditor_downloads_but_cannot_upload_or_delete(app, owned, login_as, snapshot, storage, role):
    """May a read-only role read the files, and is its attempt to add or delete one refused with nothing changed?"""
    client, customer_id, _ = owned
    upload(client, customer_id, PDF)
    [file_id] = file_ids(app)
    auditor = login_as(role)
    url = f"/admin/customer/details/?id={customer_id}"
    page = auditor.get(url).get_data(as_text=True)
    assert NAME in page and "recordfiles/upload" not in page and "recordfiles/delete" not in page
    assert download(auditor, file_id).data == PDF
    rows, files = snapshot(), stored_files(storage)
    token = csrf_token(page)
    assert auditor.post("/admin/recordfiles/delete/", data={"csrf_token": token, "id": file_id}).status_code == 403
    response = auditor.post("/admin/recordfiles/upload/", content_type="multipart/form-data", data={
        "csrf_token": token, "record_type": "customer", "record_id": customer_id, "file": (io.BytesIO(PDF), "x.pdf")})
    assert response.status_code == 403
    assert snapshot() == rows and stored_files(storage) == files


def test_a_post_without_the_form_token_changes_nothing(app, owned, snapshot, storage):
    """Is the upload and the delete protected against cross-site requests (CSRF)?"""
    client, customer_id, _ = owned
    upload(client, customer_id, PDF)
    rows, files = snapshot(), stored_files(storage)
    [file_id] = file_ids(app)
    assert client.post("/admin/recordfiles/delete/", data={"id": file_id}).status_code == 400
    assert client.post("/admin/recordfiles/upload/", content_type="multipart/form-data", data={
        "record_type": "customer", "record_id": customer_id, "file": (io.BytesIO(PDF), "x.pdf")}).status_code == 400
    assert snapshot() == rows and stored_files(storage) == files


def test_a_row_that_fails_to_save_leaves_no_file_in_the_folder(app, tmp_path):
    """If the database refuses the file's row, is the file already written to the folder removed again?"""
    folder = tmp_path / "files"
    with app.test_request_context():
        ghost = Customer(id=987654, name="nobody")  # no such customer: the row's foreign key fails
        with pytest.raises(Exception):
            store.attach(db.session, ghost, PDF, "x.pdf", None, 1024 * 1024, folder)
            db.session.commit()
        db.session.rollback()
        assert stored_files(folder) == []
        assert db.session.scalar(select(RecordFile.id)) is None


def test_the_files_section_lists_name_size_uploader_and_local_time(app, owned):
    """Does the customer page show each file with its size, who attached it and when, in the reader's language?"""
    client, customer_id, _ = owned
    upload(client, customer_id, PDF)
    page = client.get(f"/admin/customer/details/?id={customer_id}", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert 'id="files"' in text and "附件" in text and NAME in text and "1\u00a0KB" in text and client.username in text
    assert "PDF 文档" in text and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text)


def test_merged_customers_files_follow_the_survivor(app, login_as, storage):
    """When two customers are merged, do the merged one's files move to the customer kept?"""
    supervisor = login_as("supervisor")
    with app.app_context():
        kept, merged = factories.customer(name="王五"), factories.customer(name="王五 (2)")
    upload(supervisor, merged.id, PDF)
    from crmadmin import merge
    with app.test_request_context():
        versions = {c.id: c.version for c in db.session.scalars(select(Customer))}
        merge.merge(db.session, kept.id, [merged.id], {}, versions)
        db.session.commit()
        assert db.session.scalar(select(RecordFile.customer_id)) == kept.id
