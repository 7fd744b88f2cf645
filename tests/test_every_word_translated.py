"""Does every page speak the reader's language: nothing in English for a Chinese reader, and the reverse?

The crawl starts from the menu and every GET screen in the app's url_map, follows the links of the pages it finds
(one address per endpoint, so a details, edit or move page is visited through the first row that links to it), and
renders each page once in zh_CN and once in English, as each built-in role. Text (or a part of it between
separators) that reads the same in both renderings and still has Latin letters or Chinese characters once data is
taken out was not translated. Data: the stored free text of the rows made here (names, products, user names, the
log's request details), numbers, dates, e-mail addresses, ids and hashes, and upper-case abbreviations.
"""
import json
import re
from collections import defaultdict
from datetime import date
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import String, Text, select

from crmadmin.auth.permissions import ALL_PERMISSIONS
from crmadmin.choices import Choices
from crmadmin.extensions import db
from crmadmin.models import AuditEntry, PersonalDataRequest, User
from tests import factories
from tests.exporting import export

ROLES = ("administrator", "supervisor", "clerk", "auditor")
EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
# Not pages: files, JSON, static files, and addresses that act when opened.
SKIPPED = re.compile(r"(^|\.)(static|export|ajax_lookup|ajax_update|logout|set_language)$")

# Text that is the same in every language and is not data of the rows below.
ALLOWED = {
    "English", "简体中文",  # the language switch names each language in itself
    "crmadmin",  # the product's name
}
# Latin letters on a Chinese page, or Chinese characters on an English one
WORDS = re.compile(r"[A-Za-z\u3400-\u9fff]")
NOT_WORDS = re.compile(
    r"\b[A-Z2-7]{4}(?: [A-Z2-7]{4}){7}\b|"  # the authenticator key the two-factor set-up shows, in groups of four
    r"\b(?=[0-9a-f-]*\d)(?=[0-9a-f-]*[a-f])[0-9a-f][0-9a-f-]{7,}\b"  # batch and request ids (or their start), hashes
    r"|[\w.+-]+@[\w-]+(\.[\w-]+)+"  # e-mail addresses
    r"|\+?\d[\d\s:./,+-]*"  # numbers, phone numbers, dates and times
    # read the same in both languages: NPS, CSAT, CSV, UTC, IP, ID, R/F/M, credit ratings AAA…C, currency codes (CNY)
    r"|\b[A-Z]{1,4}\b|\.xlsx\b|\.csv\b"
)


def json_words(value, found: list) -> None:
    """The words in a JSON payload that a script puts on the page: labels, filter operations, option labels."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("label", "operation", "title") and isinstance(item, str):
                found.append(item)
            elif key == "labels" and isinstance(item, list):
                found.extend(label for label in item if isinstance(label, str))
            elif key == "options" and isinstance(item, list):
                found.extend(pair[1] for pair in item if isinstance(pair, list) and len(pair) == 2)
            else:
                json_words(item, found)
    elif isinstance(value, list):
        for item in value:
            json_words(item, found)


class VisibleText(HTMLParser):
    """The strings a reader sees or hears: text, and the title, placeholder, aria-label, alt and button values; and
    the labels of the list filters and charts, which scripts show from JSON payloads."""

    ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
    PAYLOADS = ("filter-groups-data", "active-filters-data", "dashboard-charts", "actions-confirmation-data",
                "message-data")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._hidden = 0
        self._payload = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id") in self.PAYLOADS:
            self._payload = attrs["id"]
            return
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name in self.ATTRIBUTES:
            self._add(attrs.get(name))
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset"):
            self._add(attrs.get("value"))

    def handle_endtag(self, tag):
        if self._payload:
            self._payload = None
        elif tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if self._payload == "filter-groups-data":  # {filter label: [{operation, options: [[value, label]]}]}
            groups = json.loads(data)
            self.found.extend(groups)
            json_words(list(groups.values()), self.found)
        elif self._payload == "dashboard-charts":
            words = []
            json_words(json.loads(data), words)
            for word in words:
                self._add(word)
        elif self._payload in ("actions-confirmation-data", "message-data"):  # {action: question}, a message
            value = json.loads(data)
            for word in value.values() if isinstance(value, dict) else [value]:
                self._add(word if isinstance(word, str) else "")
        elif not self._hidden and not self._payload:
            self._add(data)

    def _add(self, text):
        text = " ".join((text or "").split())
        if text:
            self.found.append(text)


# "产品, 客户, customer.mobile" differs from its English rendering as a whole: its parts are compared too
PARTS = re.compile(r"\s*(?:[,;:/|→·()（）：，]|\s-\s)\s*")


def visible_text(html: str) -> dict[str, str]:
    """Each string and each separated part of one -> the whole string it was seen in."""
    parser = VisibleText()
    parser.feed(html)
    found = {}
    for text in parser.found:
        found.setdefault(text, text)
        for part in PARTS.split(text):
            if part:
                found.setdefault(part, text)
    return found


def make_rows(app) -> set[str]:
    """A few rows of every kind, owned by the clerk so every role sees them; returns the users' names."""
    with app.app_context():
        users = {role: factories.user(role) for role in ROLES}
        clerk = users["clerk"]
        customer = factories.customer(owner_id=clerk.id, gender="male")
        other = factories.customer(owner_id=clerk.id, kind="company", name="Acme Trading")
        factories.transaction(customer)
        factories.interaction(customer, handled_by_id=clerk.id)
        factories.complaint(customer, assignee_id=clerk.id)
        campaign = factories.campaign()
        factories.participant(campaign, customer)
        factories.survey(customer)
        factories._save(PersonalDataRequest(customer_id=other.id, kind="correction", received_on=date.today(),
                                            channel="email", fields="email"))
        return {u.username for u in db.session.scalars(select(User))}


def data_strings(app) -> re.Pattern:
    """Every free-text value stored in the database (the log's request details too), as whole words. Stored codes
    are words, not data: an enumeration's values, permission names, a built-in role's name."""
    codes = {str(value) for choices in Choices.registry.values() for value in choices.values} | set(ALL_PERMISSIONS)
    found = set()

    def leaves(value):
        if isinstance(value, dict):
            for item in value.values():
                leaves(item)
        elif isinstance(value, list):
            for item in value:
                leaves(item)
        elif isinstance(value, str) and value not in codes:
            found.add(value)

    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
            for row in db.session.execute(select(*columns)) if columns else ():
                for value in row:
                    if value and value not in codes:
                        found.add(value)
                        if value.startswith("{"):
                            leaves(json.loads(value))
    values = sorted(found, key=len, reverse=True)  # longest first: "Customer 12" before "Customer 1"
    return re.compile("|".join(rf"(?<!\w){re.escape(value)}(?!\w)" for value in values))


def words_of_flask_admins_base(app) -> set[str]:
    """While the pages extend Flask-Admin's own admin/base.html, its literal aria-label "Toggle navigation" cannot be
    translated (the catalogue has it: crmadmin/admin/flask_admin_words.py). Our override of that template (the
    accessibility work) must wrap it; from then on nothing is exempt."""
    import flask_admin

    with app.app_context():
        base = app.jinja_env.get_template("admin/base.html").filename
    return {"Toggle navigation"} if base.startswith(flask_admin.__path__[0]) else set()


def untranslated(text: str, data: re.Pattern) -> bool:
    if text in ALLOWED:
        return False
    return bool(WORDS.search(NOT_WORDS.sub(" ", data.sub(" ", text))))


def pages_of(app, client) -> dict[str, str]:
    """address -> its English rendering, for every page the client may open from the menu (one per endpoint)."""
    adapter = app.url_map.bind("localhost")
    seeds = [adapter.build(rule.endpoint) for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments and not SKIPPED.search(rule.endpoint)
             and rule.rule.startswith(("/admin", "/account"))]
    # links first, so that a details page is opened through a row; then the screens no link led to
    queue, tried, seen, pages = ["/admin/"], set(), set(), {}
    while queue or seeds:
        url = queue.pop(0) if queue else seeds.pop(0)
        try:
            endpoint, _ = adapter.match(urlsplit(url).path, method="GET")
        except Exception:  # not an address of this app (a static file, another host)
            continue
        if endpoint in seen or url in tried or SKIPPED.search(endpoint):
            continue
        tried.add(url)
        response = client.get(url, headers=EN)
        if response.status_code in (301, 302, 303) or response.mimetype != "text/html":
            continue
        seen.add(endpoint)
        html = response.get_data(as_text=True)
        pages[url] = html
        queue.extend(href.replace("&amp;", "&") for href in re.findall(r'href="(/[^"#]*)"', html))
    return pages


def signed_in(app, username: str):
    from tests.conftest import sign_in

    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def findings_on(app, client, pages: dict[str, str]) -> str | None:
    """Render each page (address -> its English rendering) in Chinese too; the untranslated texts listed by page."""
    data = data_strings(app)  # after the pages were opened: signing in and the pages wrote to the operation log
    exempt = words_of_flask_admins_base(app)
    findings = defaultdict(set)
    for url, english in pages.items():
        in_chinese = visible_text(client.get(url, headers=ZH).get_data(as_text=True))
        for text in visible_text(english).keys() & in_chinese.keys():
            if text not in exempt and untranslated(text, data) and untranslated(in_chinese[text], data):
                findings[url].add(text if in_chinese[text] == text else f"{text}  (in {in_chinese[text]!r})")
    if not findings:
        return None
    report = "\n".join(f"{url}\n" + "\n".join(f"    {text!r}" for text in sorted(texts))
                       for url, texts in sorted(findings.items()))
    total = sum(len(texts) for texts in findings.values())
    return f"{total} untranslated string(s) on {len(findings)} of {len(pages)} pages:\n{report}"


@pytest.mark.parametrize("role", ROLES)
def test_no_page_shows_the_same_words_in_chinese_and_in_english(app, role):
    """As each built-in role, is every word of every page translated (zh_CN vs English), apart from data?"""
    usernames = make_rows(app)
    client = signed_in(app, next(name for name in usernames if name.startswith(role)))
    pages = pages_of(app, client)
    assert len(pages) > 5, sorted(pages)
    report = findings_on(app, client, pages)
    assert report is None, report


def test_every_kind_of_log_entry_reads_in_the_readers_language(app, job_worker):
    """Are the operation log's entries of each kind (a refusal, an export, a sign-in, a complaint's step, a role, a
    personal data request) translated on their details pages, their details' names and stored codes included?"""
    usernames = make_rows(app)
    clerk = signed_in(app, next(name for name in usernames if name.startswith("clerk")))
    assert clerk.get("/admin/user/", headers=EN).status_code == 403  # a refusal: method, address, screen
    admin = signed_in(app, next(name for name in usernames if name.startswith("administrator")))
    assert export(admin, "/admin/customer/export/csv/").status_code == 200  # an export job and its download
    with app.app_context():
        entries = db.session.execute(select(AuditEntry.id, AuditEntry.action, AuditEntry.record_type)).all()
    first = {}
    for entry_id, action, record_type in entries:
        first.setdefault((action, record_type), entry_id)
    assert {("refused", None), ("export", None), ("download", "job"), ("sign_in", "user"), ("create", "complaint_step"),
            ("create", "role"), ("create", "personal_data_request")} <= first.keys(), sorted(first, key=str)
    pages = {}
    for entry_id in first.values():
        url = f"/admin/auditentry/details/?id={entry_id}"
        response = admin.get(url, headers=EN)
        assert response.status_code == 200, url
        pages[url] = response.get_data(as_text=True)
    report = findings_on(app, admin, pages)
    assert report is None, report
