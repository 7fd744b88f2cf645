"""Paging through a list: every row exactly once, forwards and back, at any depth, for the same cost as page 1."""
import contextlib
import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import event

from crmadmin.extensions import db
from tests import factories
from tests.pages import listed_ids

NAMES = ["张伟", "王芳", "李娜", "Anna", "Bob"]


def page_ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r"/details/\?id=(\d+)", body)]


def link(body: str, kind: str) -> str | None:
    """The href of the pager's `next`, `previous` or `first` link, or None when it is disabled."""
    found = re.search(rf'class="page-link crm-{kind}"[^>]*href="([^"]*)"', body)
    return None if found is None or found.group(1) == "#" else html.unescape(found.group(1))


def walk(client, url: str, kind: str = "next") -> list[list[int]]:
    """Follow the pager from `url` until it ends; the ids of each page on the way."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        pages.append(page_ids(body))
        url = link(body, kind)
        assert len(pages) < 50, "the pager goes round in circles"
    return pages


@pytest.fixture
def book(app):
    """47 customers whose sort values repeat and are often empty, some without an owner."""
    with app.app_context():
        owners = [factories.user("clerk").id, factories.user("clerk").id, None]
        return [factories.customer(name=NAMES[i % 5], region=None if i % 3 == 0 else f"区{i % 4}",
                                   industry=None if i % 4 == 0 else "Retail", source=("website", "referral")[i % 2],
                                   owner_id=owners[i % 3]).id for i in range(47)]


def sort_indexes(client, url: str) -> set[str]:
    """The columns the list offers to sort by, as its header links number them."""
    return set(re.findall(r"[?&](?:amp;)?sort=(\d+)", client.get(url).get_data(as_text=True)))


def test_walking_the_customer_list_shows_every_row_once_in_every_order(book, login_as):
    """For each sortable column, both ways, do next and previous show every customer exactly once, in one order?"""
    client = login_as("administrator")
    columns = sort_indexes(client, "/admin/customer/")
    assert len(columns) >= 8
    for column in sorted(columns, key=int):
        for desc in ("", "&desc=1"):
            first = f"/admin/customer/?page_size=20&sort={column}{desc}"
            forward = walk(client, first)
            seen = [i for page in forward for i in page]
            assert sorted(seen) == sorted(book), (column, desc)
            assert [len(p) for p in forward] == [20, 20, 7]
            numbered = [page_ids(client.get(f"{first}&page={n}").get_data(as_text=True)) for n in range(3)]
            assert numbered == forward, (column, desc)
            # the same order as one long page, and the same pages walking back from the last one
            assert seen == page_ids(client.get(first.replace("page_size=20", "page_size=100")).get_data(as_text=True))
            last = client.get(first)
            for _ in range(2):
                last = client.get(link(last.get_data(as_text=True), "next"))
            back = walk(client, link(last.get_data(as_text=True), "previous"), "previous")
            assert back == forward[-2::-1], (column, desc)


@pytest.mark.parametrize("screen", ["transaction", "interaction"])
def test_walking_records_with_equal_dates_shows_each_once(app, login_as, screen):
    """Records made in the same second sort equal by date: does the pager still neither skip nor repeat one?"""
    with app.app_context():
        customer = factories.customer()
        make = factories.transaction if screen == "transaction" else factories.interaction
        moment = factories.utcnow().replace(microsecond=0)
        made = [make(customer, occurred_at=moment).id for _ in range(25)] + [make(customer).id for _ in range(8)]
    client = login_as("administrator")
    seen = [i for page in walk(client, f"/admin/{screen}/?page_size=20") for i in page]
    assert sorted(seen) == sorted(made)


@contextlib.contextmanager
def offsets(app):
    """with offsets(app) as found: ...  -> the OFFSET of each statement run inside (SQLite always writes one: 0)."""
    found = []

    def before(conn, cursor, statement, parameters, context, executemany):
        for offset in re.finditer(r"OFFSET (\?|%\((\w+)\)s)", statement):  # positional on SQLite, named on PostgreSQL
            found.append(parameters[offset.group(2)] if offset.group(2) else
                         parameters[statement.count("?", 0, offset.start())])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_deep_page_costs_the_same_statements_as_the_first(app, book, login_as, count_queries):
    """Is a page reached by the pager read with the same statements as page 1, and without an OFFSET?"""
    client = login_as("administrator")
    first = "/admin/customer/?page_size=20&sort=6"
    third = link(client.get(link(client.get(first).get_data(as_text=True), "next")).get_data(as_text=True), "next")
    client.get(first)  # warm what is built once per process
    with count_queries() as at_first:
        client.get(first)
    with count_queries() as at_third, offsets(app) as skipped:
        assert len(page_ids(client.get(third).get_data(as_text=True))) == 7
    assert len(at_third) == len(at_first)
    assert set(skipped) <= {0}


def test_a_numbered_page_skips_the_rows_before_it_as_keys_alone(app, book, login_as, count_queries):
    """Is the OFFSET of a numbered page taken over the list's ids alone? Over its whole rows, PostgreSQL builds each
    skipped row with its joined columns (page 500 of a million customers: 78 ms, against 4)."""
    client = login_as("administrator")
    for url in ("/admin/customer/?page_size=20&page=2", "/admin/customer/?page_size=20&page=2&sort=1&desc=1"):
        with count_queries() as statements, offsets(app) as skipped:
            assert len(page_ids(client.get(url).get_data(as_text=True))) == 7
        assert max(skipped) == 40
        [paged] = [s for s in statements if s.startswith("SELECT customer.id AS customer_id")]  # the page's rows
        keys = re.search(r"customer\.id IN \(SELECT customer\.id\s+FROM customer .*?OFFSET [^)]*\)", paged, re.S)
        assert keys is not None, paged
        assert paged.count("OFFSET") == 1 or paged.endswith(" OFFSET ?"), paged  # SQLite writes OFFSET 0 after LIMIT


EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def past_end(body: str) -> tuple[str, str] | None:
    """The message a page number past the end is given, and the address it offers instead; None if there is none."""
    found = re.search(r'class="alert alert-warning crm-past-end"[^>]*>\s*<p[^>]*>(.*?)</p>\s*'
                      r'<a class="[^"]*crm-past-end-go" href="([^"]*)">', body, re.S)
    return None if found is None else (html.unescape(found.group(1)), html.unescape(found.group(2)))


def test_a_page_number_past_the_counted_rows_says_so_and_offers_the_last_counted_page(book, login_as, app,
                                                                                       monkeypatch):
    """A typed ?page= past a capped count (page 4,999 of "10,000+" customers): is the user told, in Chinese and in
    English, that numbers reach only the last counted page, offered that page, and shown no rows under the number
    asked for, without an OFFSET over the rows before it?"""
    monkeypatch.setitem(app.config, "CRM_COUNT_CAP", 30)
    client = login_as("administrator")
    for headers, message in ((ZH, "第 4,999 页超出了已计数的 30+ 条记录：按页码最多只能到第 2 页，之后请用“下一页”继续浏览。"),
                             (EN, "Page 4,999 is past the 30+ rows counted: pages by number reach page 2; from there, "
                                  "“Next page” goes on through the rest of the list.")):
        with offsets(app) as skipped:
            response = client.get("/admin/customer/?page_size=20&page=4998", headers=headers)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert past_end(body)[0] == message
        assert page_ids(body) == [] and "crm-page" not in body  # no rows, no "page 4,999" in a pager
        assert max(skipped, default=0) == 0
        last = client.get(past_end(body)[1], headers=headers).get_data(as_text=True)
        assert page_ids(last) == page_ids(client.get("/admin/customer/?page_size=20&page=1").get_data(as_text=True))
        assert len(page_ids(last)) == 20 and link(last, "next")  # the last counted page, and "next" goes on
        assert len(page_ids(client.get(link(last, "next")).get_data(as_text=True))) == 7


def test_a_page_number_past_the_end_of_an_exact_count_says_how_many_pages_there_are(book, login_as):
    """47 customers, 20 a page: does ?page=6 say there are 3 pages and offer the third, in Chinese and in English,
    showing no rows under page 6?"""
    client = login_as("administrator")
    for headers, message in ((ZH, "第 6 页不存在：列表共 3 页。"), (EN, "There is no page 6: the list has 3 pages.")):
        response = client.get("/admin/customer/?page_size=20&page=5&sort=1", headers=headers)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert past_end(body)[0] == message
        assert page_ids(body) == [] and "crm-page" not in body
        offered = past_end(body)[1]
        assert "sort=1" in offered
        assert page_ids(client.get(offered).get_data(as_text=True)) == \
            page_ids(client.get("/admin/customer/?page_size=20&page=2&sort=1").get_data(as_text=True))
    assert past_end(client.get("/admin/customer/?page_size=20&page=2").get_data(as_text=True)) is None


def test_a_page_number_past_the_end_of_a_list_not_counted_says_so(app, login_as, monkeypatch):
    """The work lists do not count their rows: does a page past their end, or past the pages a number reaches, say
    so and offer the first (or the last reachable) page, rather than an empty page under the number asked for?"""
    with app.app_context():
        for _ in range(25):
            factories.transaction(factories.customer(), amount=Decimal("500.00"))
    client = login_as("administrator")
    body = client.get("/admin/tiers/?page_size=20&page=2", headers=ZH).get_data(as_text=True)
    assert past_end(body) is not None and past_end(body)[0] == "第 3 页不存在：列表在此之前已结束。"
    assert page_ids(client.get(past_end(body)[1]).get_data(as_text=True)) == \
        page_ids(client.get("/admin/tiers/?page_size=20").get_data(as_text=True))
    monkeypatch.setitem(app.config, "CRM_COUNT_CAP", 30)
    body = client.get("/admin/tiers/?page_size=20&page=9", headers=EN).get_data(as_text=True)
    assert past_end(body)[0] == ("There is no page 10 by number: pages by number reach page 2; from there, “Next page” "
                                 "goes on through the rest of the list.")
    assert "page=1" in past_end(body)[1]


def test_a_negative_page_number_shows_the_first_page(book, login_as):
    """Does ?page=-1 show page 1 rather than an error (PostgreSQL refuses a negative OFFSET)?"""
    client = login_as("administrator")
    expected = page_ids(client.get("/admin/customer/?page_size=20").get_data(as_text=True))
    for path in ("/admin/customer/", "/admin/user/", "/admin/auditentry/"):
        response = client.get(f"{path}?page_size=20&page=-1")
        assert response.status_code == 200, path
    assert page_ids(client.get("/admin/customer/?page_size=20&page=-1").get_data(as_text=True)) == expected


def test_a_cursor_that_was_tampered_with_starts_from_the_top(book, login_as):
    """Does a hand-edited `after=` show page 1 rather than an error?"""
    client = login_as("administrator")
    expected = page_ids(client.get("/admin/customer/?page_size=20").get_data(as_text=True))
    for cursor in ("garbage", "W1sieCIsMV1d", "bnVsbA", "W1siaSIsImEiXV0"):
        response = client.get(f"/admin/customer/?page_size=20&after={cursor}")
        assert response.status_code == 200
        assert page_ids(response.get_data(as_text=True)) == expected


def test_searching_or_filtering_walks_only_the_matching_rows(book, login_as):
    """Do the pager's links keep the search and the filters?"""
    client = login_as("administrator")
    wanted = listed_ids(client, "/admin/customer/?search=张伟")
    assert len(wanted) == 10
    pages = walk(client, "/admin/customer/?search=张伟&page_size=20&sort=1")
    assert [len(p) for p in pages] == [10]
    assert set(pages[0]) == wanted


@pytest.mark.parametrize("screen", ["tiers", "followups"])
def test_walking_a_work_list_of_equal_figures_shows_each_customer_once(app, login_as, screen):
    """Customers who spent the same, or are due the same day: does the pager of the work lists skip or repeat any?"""
    with app.app_context():
        made = []
        for _ in range(45):
            customer = factories.customer(follow_up_days=1)  # due the day after the purchase: overdue today
            factories.transaction(customer, amount=Decimal("500.00"))
            made.append(customer.id)
    client = login_as("administrator")
    seen = [i for page in walk(client, f"/admin/{screen}/?page_size=20") for i in page]
    assert sorted(seen) == sorted(made)
