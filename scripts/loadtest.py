"""Locust load test of the panel: signed-in staff browsing, searching and editing customers (docs/LOADTEST.md).

    .venv-load/bin/locust -f scripts/loadtest.py --headless --host http://127.0.0.1:8000 \\
        --users 50 --spawn-rate 10 --run-time 2m --csv /tmp/crm-loadtest/run

Reads the accounts and the real values to ask for from $LOADTEST_DATA (default /tmp/crm-loadtest/data.json),
written by scripts/loadtest_setup.py in the app's own virtualenv; scripts/loadtest.sh does all of it.

Each simulated user takes the next slot of that file: an account (one in five `load.admin`, an administrator; the
others the demo clerks, who see only their own customers), its own customers to edit and values to search for. It
signs in through /login like a browser (GET the form, POST it with its CSRF token), then loops over the task mix
below with a think time of 0.5 to 2 s (uniform; $THINK_TIME, e.g. "3-10") between tasks, as a person reading each
page would.

Failures: any status other than 2xx/3xx, a page that lands on the sign-in form (session lost), a page with an error
flash (alert-danger), any body that says "database is locked", an edit that is not redirected or whose saved value
does not show on the customer's page.
"""
import itertools
import json
import os
import random
import re
import time
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

DATA_PATH = os.environ.get("LOADTEST_DATA", "/tmp/crm-loadtest/data.json")
# seconds between a user's tasks, uniform: THINK_TIME="0.5-2" (the default) or e.g. "3-10"
THINK_TIME = between(*(float(x) for x in os.environ.get("THINK_TIME", "0.5-2").split("-")))
_slots = itertools.count()
_data = None


def data() -> dict:
    global _data
    if _data is None:
        with open(DATA_PATH, encoding="utf-8") as handle:
            _data = json.load(handle)
    return _data


class FormFields(HTMLParser):
    """The fields a browser would submit from each <form> of a page (inputs, selects, textareas)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[list[list[str]]] = []
        self.fields: list[list[str]] = []
        self.in_form = False
        self._select = None  # [name, first option value, chosen values, multiple]
        self._option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.in_form, self.fields = True, []
            return
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append([name, a.get("value") or ("y" if kind == "checkbox" else "")])
        elif tag == "select" and name:
            self._select = [name, None, [], "multiple" in a]
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select[1] is None:
                self._select[1] = value
            if "selected" in a:
                self._select[2].append(value)
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, text):
        if self._textarea is not None:
            self._textarea[1] += text

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            name, first, chosen, multiple = self._select
            if not chosen and not multiple and first is not None:
                chosen = [first]
            self.fields.extend([name, value] for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # browsers drop the one newline right after <textarea>
            self.fields.append([self._textarea[0], self._textarea[1].removeprefix("\r\n").removeprefix("\n")])
            self._textarea = None
        elif tag == "form" and self.in_form:
            self.in_form = False
            self.forms.append(self.fields)


def form_fields(html: str, having: str) -> list[list[str]]:
    """The fields of the page's first form that has a field named `having` (the navbar's forms come first)."""
    parser = FormFields()
    parser.feed(html)
    return next((fields for fields in parser.forms if any(name == having for name, _ in fields)), [])


def problem(response) -> str | None:
    """Why this response counts as a failure, or None."""
    status = response.status_code or 0
    if not 200 <= status < 400:
        return f"HTTP {status}"
    body = response.text or ""
    if "database is locked" in body:
        return "database is locked"
    if 'class="alert alert-danger' in body:
        flash = re.search(r'class="alert alert-danger[^"]*"[^>]*>(.*?)</div>', body, re.S)
        return "error flash: " + (re.sub(r"<[^>]+>|\s+", " ", flash.group(1)).strip()[:120] if flash else "?")
    if 'id="login-form"' in body or "/login" in (getattr(response, "url", "") or ""):
        return "landed on the sign-in page (session lost)"
    return None


class Staff(FastHttpUser):
    wait_time = THINK_TIME

    def on_start(self):
        self.slot_no = next(_slots)
        slots = data()["slots"]
        self.slot = slots[self.slot_no % len(slots)]
        self.username = self.slot["username"]
        self.edits = itertools.cycle(self.slot["edit_ids"])
        self.sign_in()

    def sign_in(self):
        with self.client.get("/login", name="sign-in form", catch_response=True) as page:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text or "")
            if token is None:
                page.failure("no CSRF token on the sign-in form")
                return
        body = urlencode({"username": self.username, "password": data()["passwords"][self.username],
                          "csrf_token": token.group(1), "next": ""})
        with self.client.post("/login", name="sign-in (POST)", data=body, allow_redirects=False, catch_response=True,
                              headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
            if response.status_code != 302:
                response.failure(f"sign-in of {self.username}: HTTP {response.status_code}")

    def page(self, path: str, name: str, expect: str | None = None):
        with self.client.get(path, name=name, catch_response=True) as response:
            why = problem(response)
            if why is None and expect is not None and expect not in (response.text or ""):
                why = f"expected text not on the page: {expect[:40]}"
            if why:
                response.failure(why)
            return response

    # --- the mix: weights are how often each task is picked relative to the others ---
    @task(3)
    def customer_list(self):
        self.page("/admin/customer/", "customer list, page 1")

    @task(2)
    def transaction_list(self):
        self.page("/admin/transaction/", "transaction list, page 1")

    @task(2)
    def filtered_list(self):
        self.page(data()["filter_url"], "customer list, filtered by region")

    @task(3)
    def search(self):
        term = random.choice(self.slot["searches"])
        self.page("/admin/customer/?search=" + quote(term), "customer search")

    @task(3)
    def details(self):
        self.page(f"/admin/customer/details/?id={random.choice(self.slot['detail_ids'])}", "customer details")

    @task(1)
    def dashboard(self):
        self.page("/admin/", "dashboard")

    @task(1)
    def edit(self):
        """GET the edit form, change the notes, POST it with its CSRF token and row version, see it saved."""
        customer = next(self.edits)
        details = f"/admin/customer/details/?id={customer}"
        path = f"/admin/customer/edit/?id={customer}&url={quote(details, safe='')}"
        with self.client.get(path, name="customer edit form", catch_response=True) as form:
            why = problem(form)
            fields = form_fields(form.text or "", "row_version") if why is None else []
            missing = {"csrf_token", "row_version", "notes"} - {name for name, _ in fields}
            if why is None and missing:
                why = f"edit form lacks {sorted(missing)}"
            if why:
                form.failure(why)
                return
        note = f"load test {self.username} slot {self.slot_no} at {time.time():.3f}"
        fields = [(name, note if name == "notes" else value) for name, value in fields]
        with self.client.post(path, name="customer edit (POST)", data=urlencode(fields), allow_redirects=False,
                              catch_response=True,
                              headers={"Content-Type": "application/x-www-form-urlencoded"}) as saved:
            location = saved.headers.get("Location", "") if saved.headers else ""
            if saved.status_code != 302 or "/edit/" in location:
                why = problem(saved) or f"not saved: HTTP {saved.status_code}"
                saved.failure(why if saved.status_code != 200 else f"form sent back: {why}")
                return
        self.page(details, "customer details, after the save", expect=note)


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--loadtest-data", default=DATA_PATH, help="setup file written by scripts/loadtest_setup.py")


@events.test_start.add_listener
def _(environment, **kwargs):
    global DATA_PATH
    DATA_PATH = environment.parsed_options.loadtest_data if environment.parsed_options else DATA_PATH
    info = data()
    print(f"load test data: {info['customers']:,} customers, {len(info['slots'])} slots, filter {info['filter_label']}")
