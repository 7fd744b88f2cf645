"""Exports stream: the job reads a list of any size in batches as it writes the file, every row once, in the list's
order."""
import csv
import io

from crmadmin.admin.base import SecureModelView
from tests import factories
from tests.exporting import download, seen_copies, start, wait
from tests.test_paging import page_ids


def test_an_export_larger_than_a_batch_carries_every_row_once_in_the_lists_order(app, job_worker, login_as, monkeypatch,
                                                                                   count_queries):
    """Streamed 7 rows a batch by the export job as plain rows, does the CSV still hold all 47 customers, sorted like
    the list, region repeats and all?"""
    monkeypatch.setattr(SecureModelView, "export_batch_rows", 7)
    copies = seen_copies(monkeypatch)
    with app.app_context():
        made = [factories.customer(name=f"Export {i:02d}", region=None if i % 3 == 0 else f"区{i % 4}").id
                for i in range(47)]
    client = login_as("administrator")
    listed = page_ids(client.get("/admin/customer/?page_size=100&sort=6&desc=1").get_data(as_text=True))
    with count_queries() as statements:
        status = wait(client, start(client, "/admin/customer/export/csv/?sort=6&desc=1"))
    assert (status["state"], status["rows_done"], status["rows_total"]) == ("done", 47, 47)
    body = download(client, status["download"]).get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [int(r["ID"]) for r in rows] == listed
    assert sorted(listed) == sorted(made)
    # one statement of the file's columns, streamed: no batch re-read past the last row, no record loaded
    reads = [s for s in statements + copies if s.lstrip().startswith("SELECT customer.id") and "customer.name" in s]
    assert len(reads) == 1 and "LIMIT" not in reads[0] and "customer.version" not in reads[0], reads


def test_an_export_follows_the_search(app, job_worker, login_as):
    """Does an export job keep the search it was asked with?"""
    with app.app_context():
        wanted = {factories.customer(name=f"北京客户{i}").id for i in range(3)}
        factories.customer(name="上海客户")
    client = login_as("administrator")
    status = wait(client, start(client, "/admin/customer/export/csv/?search=北京客户"))
    body = download(client, status["download"]).get_data().decode("utf-8-sig")
    assert {int(r["ID"]) for r in csv.DictReader(io.StringIO(body))} == wanted
