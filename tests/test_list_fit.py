"""What a list's cells say so that it fits the screen (issue 28): phone numbers as people dial them, long text whole in
the cell's title (cut on screen by static/css/lists.css), each cell labelled for the phone's card."""
from html.parser import HTMLParser

from tests import factories
from tests.conftest import sign_in


class Cells(HTMLParser):
    """The list's row cells as [attributes, text]."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells, self._in_body, self._cell = [], False, None

    def handle_starttag(self, tag, attrs):
        if tag == "td" and self._in_body:
            self._cell = [dict(attrs), ""]
            self.cells.append(self._cell)

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag in ("thead", "table"):
            self._in_body = tag == "thead"  # the rows follow the header (the template writes no tbody)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def customer_list(app, username: str) -> str:
    """The clerk's customer list, in zh_CN."""
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    response = client.get("/admin/customer/", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def customer_cells(app, username: str, column: str) -> dict[str, dict]:
    """{the text of each row's cell of `column`: its attributes} on the clerk's customer list."""
    parser = Cells()
    parser.feed(customer_list(app, username))
    return {text.strip(): attrs for attrs, text in parser.cells if f"col-{column}" in attrs.get("class", "").split()}


def test_is_a_home_mobile_shown_national_and_a_foreign_one_international(app):
    """Does a clerk read a Chinese mobile as 138 1234 5678 and a London number as +44 20 7946 0958, not as stored?"""
    with app.app_context():
        clerk = factories.user("clerk")
        factories.customer(name="王小明", mobile="+8613812345678", owner_id=clerk.id)
        factories.customer(name="Oliver Smith", mobile="+442079460958", owner_id=clerk.id)
        factories.customer(name="没有手机", mobile=None, owner_id=clerk.id)
        username = clerk.username
    mobiles, html = customer_cells(app, username, "mobile"), customer_list(app, username)
    assert set(mobiles) == {"138 1234 5678", "+44 20 7946 0958", ""}
    assert mobiles["138 1234 5678"]["data-label"] == "手机号码"  # the phone's card labels the field
    assert '<a href="tel:+8613812345678" class="crm-tel">138 1234 5678</a>' in html  # one tap to call on a phone


def test_is_a_long_name_whole_and_escaped_in_its_cells_title(app):
    """A 120-character name with quotes and brackets: cut on screen, so is all of it in the cell's title, escaped?"""
    name = ('王"<b>&\'' + "上海浦江国际物流有限公司" * 10)[:120]
    with app.app_context():
        clerk = factories.user("clerk")
        factories.customer(name=name, company_name="短", owner_id=clerk.id)
        username = clerk.username
    names = customer_cells(app, username, "name")
    assert names[name]["title"] == name
    assert "crm-cut" in names[name]["class"].split() and "crm-card-title" in names[name]["class"].split()
    assert customer_cells(app, username, "company_name")["短"]["title"] == "短"


def test_does_the_search_box_name_its_fields_as_a_chinese_list(app):
    """The search box says what it searches: 名称、手机号码… in Chinese (not Flask-Admin's English comma), in English
    Name, Mobile phone…"""
    with app.app_context():
        username = factories.user("clerk").username
    html = customer_list(app, username)
    assert 'placeholder="名称、手机号码、电子邮箱' in html and "名称, " not in html
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    english = client.get("/admin/customer/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'placeholder="Name, Mobile phone, Email address' in english
