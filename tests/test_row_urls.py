"""Addresses built once per page (admin/row_urls.py; the dashboard's filtered links too) are the very ones url_for
builds for each row."""
from datetime import date
from decimal import Decimal

import pytest
from flask import url_for

from crmadmin.admin.row_urls import list_url, row_url


@pytest.mark.parametrize("args", [{}, {"url": "/admin/followups/?due=overdue&owner=3"}, {"url": "/a b/?q=北京 & co"}])
@pytest.mark.parametrize("row_id", [1, 987654321, "a b/c?d=e&f", "张三+1@x"])
def test_a_row_address_is_the_one_url_for_builds(app, row_id, args):
    with app.test_request_context("/admin/followups/"):
        for _ in range(2):  # the first call builds the address, the second reuses it
            assert row_url("customer.details_view", row_id, **args) == url_for("customer.details_view", id=row_id,
                                                                                **args)
            assert row_url(".log_view", row_id, **args) == url_for(".log_view", id=row_id, **args)


@pytest.mark.parametrize("args", [{}, {"owner": "none", "due": "overdue"}, {"due": None, "owner": "7"},
                                  {"search": "北京 & co/?@ 100%", "page": "2"}, {"page": 3, "desc": 1, "sort": 0},
                                  {"flt0_region": ["华东", "华北"], "page_size": 100, "search": None},
                                  {"flt0_due": date(2026, 11, 25), "flt1_amount": Decimal("12.50"), "flt2_x": True}])
def test_a_list_address_is_the_one_url_for_builds(app, args):
    with app.test_request_context("/admin/followups/?due=today"):
        for _ in range(2):
            assert list_url(".index_view", **args) == url_for(".index_view", **args)
