"""Can a filter's value in a list's address break the list? Every filter of every list screen, with wrong values."""
import html
import json
import re

import pytest
from flask import url_for
from flask_admin.contrib.sqla.filters import EnumEqualFilter

from tests import factories

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
WRONG = ["x", "-1", "99999999999999999999", "2026-13-45", "", "%", "y" * 2000, "' OR 1=1 --"]
WRONG_ON_POSTGRESQL = ["a\x00b"]  # a NUL: PostgreSQL text refuses it


def list_screens(app) -> list[tuple[str, str, list]]:
    """(endpoint, address, filters) of every list screen the app routes that has filters, taken from its url_map and
    its admin: a screen added tomorrow is swept the day it is added."""
    views = {view.endpoint: view for view in app.extensions["admin"][0]._views}
    screens = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            endpoint, _, name = rule.endpoint.rpartition(".")
            view = views.get(endpoint)
            if name == "index_view" and getattr(view, "_filters", None):
                screens.append((endpoint, url_for(rule.endpoint), list(view._filters)))
    return sorted(screens)


def active_filters(body: str) -> set[int]:
    """The positions of the filters the list applied, as its filter bar receives them."""
    found = re.search(r'<div id="active-filters-data" class="d-none">(.*?)</div>', body, re.S)
    return {int(f[0]) for f in json.loads(html.unescape(found.group(1)))} if found else set()


@pytest.fixture
def some_rows(app):
    """A row or two on every screen, so that the filters have something to narrow."""
    with app.app_context():
        customer = factories.customer()
        factories.transaction(customer)
        factories.interaction(customer)
        factories.complaint(customer)
        factories.participant(factories.campaign(), customer)
        factories.survey(customer)


def test_no_filter_value_of_the_wrong_kind_breaks_any_list(app, login_as, some_rows, snapshot, database_url):
    """For every filter of every list screen, a value of the wrong kind: is the list shown (200), with each filter
    either applied or ignored and named in a message, never a 500? Each request sends every filter of the screen at
    once, each at its own position (flt<i>_<i>), so a few requests cover all of them."""
    client = login_as("administrator")
    screens = list_screens(app)
    assert {"complaint", "survey", "churn", "tiers", "followups", "overdue_complaints", "campaign", "customer"} \
        <= {endpoint for endpoint, _, _ in screens}
    values = WRONG + (WRONG_ON_POSTGRESQL if database_url.startswith("postgresql") else [])
    before = snapshot()
    for endpoint, url, filters in screens:
        for value in values:
            response = client.get(url, headers=EN, query_string={f"flt{i}_{i}": value for i in range(len(filters))})
            assert response.status_code == 200, (endpoint, value[:30])
            body = html.unescape(response.get_data(as_text=True))
            applied = active_filters(body)
            for i, flt in enumerate(filters):
                named = f"The value of the filter “{flt.name} {flt.operation()}” is not valid and was ignored." in body
                assert (i in applied) != named, (endpoint, value[:30], i, str(flt.name), str(flt.operation()))
    assert snapshot() == before


def table(body: str) -> str:
    """The list's rows, their form tokens left out: a token is signed with the second it was made in."""
    rows = re.search(r'<table class="table[^"]*model-list">.*?</table>', body, re.S).group(0)
    return re.sub(r'<input[^>]*name="csrf_token"[^>]*>', '<input name="csrf_token">', rows)


@pytest.mark.parametrize("endpoint", ["complaint", "survey", "churn", "tiers", "followups", "overdue_complaints",
                                      "campaign"])
def test_a_value_that_is_not_a_choice_is_ignored_and_named_in_the_users_language(app, login_as, some_rows,
                                                                                  endpoint):
    """?flt0_<i>=x on an "equals" filter of a choice, on the screens where it answered 500: does the whole list come,
    in Chinese and in English, saying which filter was ignored?"""
    client = login_as("administrator")
    [(url, filters)] = [(u, f) for e, u, f in list_screens(app) if e == endpoint]
    index, flt = next((i, f) for i, f in enumerate(filters) if isinstance(f, EnumEqualFilter))
    for headers, message in ((ZH, "筛选条件“{}”的值无效，已忽略。"),
                             (EN, "The value of the filter “{}” is not valid and was ignored.")):
        with app.test_request_context(headers=headers):
            label = f"{flt.name} {flt.operation()}"
        response = client.get(f"{url}?flt0_{index}=x", headers=headers)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert message.format(label) in html.unescape(body)
        assert active_filters(body) == set()
        assert table(body) == table(client.get(url, headers=headers).get_data(as_text=True))


def test_no_other_part_of_a_list_address_of_the_wrong_kind_breaks_any_list(app, login_as, some_rows, snapshot):
    """A search with a NUL (PostgreSQL text refuses it), a customer id no column holds, a negative page: is every
    list screen (filters or not) still shown?"""
    client = login_as("administrator")
    views = {view.endpoint for view in app.extensions["admin"][0]._views if hasattr(view, "_filters")}
    with app.test_request_context():
        urls = sorted({url_for(rule.endpoint) for rule in app.url_map.iter_rules()
                       if rule.endpoint.endswith(".index_view") and rule.endpoint.rpartition(".")[0] in views})
    assert len(urls) >= 15
    before = snapshot()
    for url in urls:
        for args in ({"search": "a\x00b"}, {"customer_id": "99999999999999999999"}, {"page": "-1"}):
            assert client.get(url, query_string=args).status_code == 200, (url, args)
    assert snapshot() == before
