"""Served as the README serves it, by gunicorn from the repository: what a real worker does with a long response."""
import http.client
import http.cookiejar
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import insert

from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories
from tests.exporting import JOB_ID
from tests.forms import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 4  # gunicorn's --timeout: a worker silent for longer is killed (the README's is 120 s); a worker
# booting counts too, so not much less


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(app, database_url, jobs_queue, tmp_path):
    """`gunicorn app:app` run in the repository (so gunicorn.conf.py applies), one sync worker, a short timeout, in the
    production configuration over the test database and the suite's job queue and files (the tests' `job_worker`
    runs its jobs); yields (base URL, path of its log). Its access log is written beside it, to access.log."""
    port, log = _free_port(), tmp_path / "gunicorn.log"
    env = {**os.environ, "CRM_CONFIG": "production", "DATABASE_URL": database_url,
           "SECRET_KEY": secrets.token_urlsafe(40), "SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback
           "CRM_INSTANCE_DIR": str(tmp_path), "CRM_ALLOWED_HOSTS": "127.0.0.1", **jobs_queue}
    env.pop("REDIS_URL", None)
    with log.open("w") as out:
        server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--workers", "1",
                                   "--timeout", str(TIMEOUT), "--bind", f"127.0.0.1:{port}", "--no-control-socket",
                                   "--access-logfile", str(tmp_path / "access.log"),
                                   "app:app"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=5) as page:
                    page.read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield base, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def _signed_in_cookie(base: str, username: str) -> str:
    """Signs in through the login form over HTTP; returns the session's Cookie header."""
    jar = http.cookiejar.CookieJar()

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), Stay)
    with opener.open(base + "/login", timeout=30) as page:
        token = csrf_token(page.read().decode())
    form = urllib.parse.urlencode({"username": username, "password": factories.PASSWORD, "csrf_token": token})
    with pytest.raises(urllib.error.HTTPError) as signed_in:  # 302: urllib reports a redirect it did not follow
        opener.open(base + "/login", data=form.encode(), timeout=30)
    signed_in.value.close()
    assert signed_in.value.code == 302
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def test_a_long_export_no_longer_holds_a_web_worker(app, gunicorn, job_worker):
    """An export used to be written in the request: a sync worker busy longer than --timeout was killed halfway (10
    million transactions under the README's command stopped at 1,993,001 lines). Now the Export request only queues
    a job: does it answer at once under gunicorn, does the one web worker keep answering (the job's status) while the
    job runs, and does the finished file hold every row, with no worker killed?"""
    base, log = gunicorn
    rows = 20_000
    with app.app_context():
        factories.user("supervisor", username="exporter")  # may export; signs in with a password alone
        db.session.execute(insert(Customer.__table__), [
            {"name": f"导出客户 {i}", "kind": "person", "mobile": f"+8613900{i:06d}", "email": f"export{i}@example.com",
             "region": "华东", "industry": "Retail", "source": "website", "address": "上海市浦东新区世纪大道" * 8,
             "company_name": "上海浦东新区世纪科技发展有限公司" * 4, "tags": "export,long,row," * 12}
            for i in range(rows)])
        db.session.commit()
    cookie = _signed_in_cookie(base, "exporter")

    def get(path: str):
        connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=30)
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response, body

    started = time.monotonic()
    response, _ = get("/admin/customer/export/csv/")
    answered = time.monotonic() - started
    assert response.status == 302, log.read_text()[-1500:]
    assert answered < 1, f"the Export request took {answered:.1f} s: it should only queue the job"
    found = JOB_ID.search(response.getheader("Location"))
    assert found, response.getheader("Location")
    job_id = int(found.group(1))
    readings = []
    while True:  # the page's polling, served by the one web worker while the job worker writes the file
        status_response, body = get(f"/admin/jobs/status?id={job_id}")
        assert status_response.status == 200
        readings.append(json.loads(body))
        if readings[-1]["state"] not in ("queued", "running"):
            break
        assert time.monotonic() - started < 120, readings[-1]
        time.sleep(0.05)
    assert readings[-1]["state"] == "done", readings[-1]
    assert any(r["state"] in ("queued", "running") for r in readings[:-1]), "the web worker answered while it ran"
    file_response, body = get(readings[-1]["download"])
    assert file_response.status == 200 and file_response.getheader("Content-Type") == "text/csv; charset=utf-8"
    lines = body.decode("utf-8-sig").split("\r\n")
    assert lines[-1] == "" and len(lines) == rows + 2, (len(lines), lines[-2:], log.read_text()[-2000:])
    assert {line.split(",")[1] for line in lines[1:-1]} == {f"导出客户 {i}" for i in range(rows)}
    assert "WORKER TIMEOUT" not in log.read_text()


def test_the_access_log_keeps_no_search_and_the_deploy_warnings_are_printed_once(app, gunicorn):
    """A search puts a name and a phone into the URL: does gunicorn's access log, kept after an erasure, hold the path
    without them? And does the master print the deploy checks' warnings once, not once more per worker?"""
    base, log = gunicorn
    name, phone = "欧阳娜娜", "13912345678"
    with app.app_context():
        factories.user("supervisor", username="searcher")
        factories.customer(name=name, mobile="+86" + phone)
    cookie = _signed_in_cookie(base, "searcher")
    query = urllib.parse.urlencode({"search": f"{name} {phone}"})
    request = urllib.request.Request(f"{base}/admin/customer/?{query}", headers={
        "Cookie": cookie, "Referer": f"{base}/admin/customer/?search={phone}"})
    with urllib.request.urlopen(request, timeout=30) as page:
        assert page.status == 200 and phone in page.read().decode()
    access = log.with_name("access.log")
    deadline = time.monotonic() + 10
    while "/admin/customer/" not in access.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)  # gunicorn writes the line after the response
    lines = access.read_text()
    assert '"GET /admin/customer/ HTTP/1.1" 200' in lines, lines
    for secret in (phone, name, urllib.parse.quote(name), "search"):
        assert secret not in lines, (secret, lines)
    printed = log.read_text()
    assert printed.count("crm.W002 (warning): SESSION_COOKIE_SECURE is off") == 1, printed[-3000:]
    assert "crm.W008" not in printed and "crm.W005" not in printed, printed[-3000:]
