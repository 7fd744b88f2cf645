"""Drive the Import screen as a browser would: upload, map (the page's own form), preview, import, undo.

Import and Undo run as jobs: the tests that press them need the `job_worker` fixture (a real consumer)."""
import csv
import io
import re
from datetime import datetime

from tests.exporting import JOB_ID, wait

from crmadmin.extensions import db
from crmadmin.models import ImportRun
from tests.forms import csrf_token, read_form


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    sheet = book.add_worksheet("Sheet1")
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})  # as Excel stores a typed date: a formatted number
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, moment)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return out.getvalue()


def upload(client, kind: str, data: bytes, filename: str = "file.csv"):
    """POST the upload form; the response (a redirect to the mapping page, or back with a message)."""
    token = csrf_token(client.get("/admin/imports/").get_data(as_text=True))
    return client.post("/admin/imports/upload", data={"csrf_token": token, "kind": kind,
                                                      "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def run_id_of(response) -> int:
    assert response.status_code == 302, response.status_code
    match = re.search(r"/admin/imports/map\?id=(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def map_columns(client, run_id: int, mode: str = "create", changes: dict | None = None):
    """Submit the mapping page as offered (its automatic or remembered choices), with `changes` on top."""
    page = client.get(f"/admin/imports/map?id={run_id}")
    assert page.status_code == 200, page.status_code
    data = read_form(page.get_data(as_text=True), "import-map")
    data.update({"mode": mode, **(changes or {})})
    return client.post(f"/admin/imports/map?id={run_id}", data=data)


def stage(client, kind: str, data: bytes, filename: str = "file.csv", mode: str = "create",
          changes: dict | None = None) -> int:
    """Upload and map; the staged run's id, ready for preview and import."""
    run_id = run_id_of(upload(client, kind, data, filename))
    response = map_columns(client, run_id, mode, changes)
    assert response.status_code == 302 and "/preview" in response.headers["Location"], \
        response.get_data(as_text=True)[-3000:]
    return run_id


def preview(client, run_id: int) -> str:
    page = client.get(f"/admin/imports/preview?id={run_id}")
    assert page.status_code == 200, page.status_code
    return page.get_data(as_text=True)


def counts(html: str) -> dict[str, int]:
    return {key: int(value.replace(",", "")) for key, value in
            re.findall(r'data-count="(\w+)"[^>]*>([\d,]+)<', html)}


def start_commit(client, run_id: int, valid_only: bool = False) -> int:
    """Press Import on the preview page: the id of the job it leads to."""
    html = preview(client, run_id)
    data = {"csrf_token": csrf_token(html), "id": str(run_id)}
    if valid_only:
        data["valid_only"] = "y"
    return job_of(client.post("/admin/imports/commit", data=data))


def job_of(response) -> int:
    assert response.status_code == 302, response.status_code
    found = JOB_ID.search(response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def finished(client, job_id: int, readings: list | None = None) -> str:
    """Follow the job until it ends: its page then (the outcome, or why it failed)."""
    wait(client, job_id, 120, readings)
    return client.get(f"/admin/jobs/job?id={job_id}").get_data(as_text=True)


def commit(client, run_id: int, valid_only: bool = False) -> str:
    """Press Import on the preview page and follow its job: the job's page once it ended."""
    return finished(client, start_commit(client, run_id, valid_only))


def import_file(client, kind: str, data: bytes, filename: str = "file.csv", mode: str = "create",
                valid_only: bool = False, changes: dict | None = None) -> str:
    return commit(client, stage(client, kind, data, filename, mode, changes), valid_only)


def runs(app) -> list[ImportRun]:
    with app.app_context():
        found = db.session.query(ImportRun).order_by(ImportRun.id).all()
        db.session.expunge_all()
        return found


def start_undo(client, run_id: int):
    """Press Undo in the import history: the response (a redirect to the job's page)."""
    token = csrf_token(client.get("/admin/imports/").get_data(as_text=True))
    return client.post("/admin/imports/undo", data={"csrf_token": token, "id": str(run_id)})


def undo(client, run_id: int) -> str:
    """Press Undo and follow its job: the job's page once it ended."""
    return finished(client, job_of(start_undo(client, run_id)))
