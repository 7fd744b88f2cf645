"""A list page's rows, written in Python (admin/list_rows.py), read exactly as Flask-Admin's own template writes
them (with each value cell's label and a long value's title added, for the screen)."""
from html.parser import HTMLParser

import pytest
from tests import factories

STOCK = "admin/model/list.html"  # Flask-Admin's list template, whose list_row block crm_list.html replaces
VOID = {"input", "br", "img", "hr", "meta", "link"}


class Rows(HTMLParser):
    """The table body's rows as (tag, attributes) and text tokens, whitespace between tags aside: the same page
    written by two templates differs in its indentation only."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self.csrf, self._in_body = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and self._in_body:
            self.rows.append([])
        elif self.rows and self._in_body:
            attrs = dict(attrs)
            if attrs.get("name") == "csrf_token":
                self.csrf.append(attrs["value"])
                attrs["value"] = "(a token)"  # signed with the time: two requests' tokens may differ
            self.rows[-1].append((tag, sorted(attrs.items())))

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_body = True
        elif tag == "table":
            self._in_body = False
        elif self.rows and self._in_body and tag not in VOID and tag != "tr":
            self.rows[-1].append(("/" + tag,))

    def handle_data(self, data):
        if self.rows and self._in_body and data.strip():
            self.rows[-1].append(data.strip())


FITTING = {"crm-cut", "crm-card-title"}  # our cells' classes for the screen (static/css/lists.css)


def as_stock(row: list) -> list:
    """A row of ours without what fits it to the screen: each value cell's label (the phone's card), the title of long
    text (cut on screen) and the classes that style them; each value cell must have its label."""
    stock = []
    for token in row:
        if isinstance(token, tuple) and token[0] == "td" and any(k == "class" and v.startswith("col-")
                                                                for k, v in token[1]):
            attrs = dict(token[1])
            assert attrs.pop("data-label", None), token
            attrs.pop("title", None)
            attrs["class"] = " ".join(c for c in attrs["class"].split() if c not in FITTING)
            token = ("td", sorted(attrs.items()))
        stock.append(token)
    return stock


def rows_of(client, url: str) -> Rows:
    response = client.get(url)
    assert response.status_code == 200, url
    parser = Rows()
    parser.feed(response.get_data(as_text=True))
    return parser


def list_views(app):
    return [v for v in app.extensions["admin"][0]._views if getattr(v, "list_template", None)]


@pytest.fixture
def records(app):
    """A record on every list, with text that must be escaped and a complaint that can move on."""
    with app.app_context():
        clerk = factories.user("clerk")
        customer = factories.customer(name='O\'Brien & <Sons> "Ltd"', kind="company", company_name="A&B {x}",
                                      owner_id=clerk.id)
        factories.transaction(customer)
        factories.interaction(customer, summary="<script>alert(1)</script>")
        factories.complaint(customer)
        factories.participant(factories.campaign(name="Spring & <Summer>"), customer)
        factories.survey(customer)
        return clerk.username


@pytest.mark.parametrize("role, language", [("administrator", "en"), ("administrator", "zh-CN"), ("auditor", "en"),
                                            ("clerk", "zh-CN")])
def test_every_list_row_reads_as_flask_admins_own_template_writes_it(app, login_as, records, role, language):
    """Are the selection box, the row buttons (view, edit, delete, a complaint's moves, a campaign's targets) and the
    cells of every list the ones Flask-Admin's list_row block writes, for viewers with different buttons, in either
    language?"""
    client = signed_in(app, records) if role == "clerk" else login_as(role)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    compared, words = 0, []
    for view in list_views(app):
        url = f"/admin/{view.endpoint}/"
        if client.get(url).status_code != 200:
            continue
        ours = rows_of(client, url)
        view.list_template = STOCK  # this view alone, for this request: the instance shadows its class
        try:
            stock = rows_of(client, url)
        finally:
            del view.list_template
        assert len(ours.rows) == len(stock.rows), view.endpoint
        for mine, theirs in zip(map(as_stock, ours.rows), stock.rows):
            assert mine == theirs, (view.endpoint, next((a, b) for a, b in zip(mine + [None], theirs + [None])
                                                        if a != b))
        assert len(ours.csrf) == len(stock.csrf) and all(ours.csrf), view.endpoint
        compared += len(ours.rows)
        words.append(str(ours.rows))
    assert compared >= {"administrator": 12, "auditor": 12, "clerk": 6}[role], compared
    assert ("View Record" in "".join(words)) == (language == "en")  # the buttons' words in the viewer's language


def signed_in(app, username: str):
    from tests.conftest import sign_in

    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client
