"""The merge's main path in a real headless Chromium: find the pair, merge it with a value picked, undo it."""
import re

import pytest
from playwright.sync_api import expect

from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories
from tests.test_browser import browser, live_server, page, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_a_supervisor_merges_a_duplicate_pair_and_undoes_it(app, live_server, page):  # noqa: F811
    """Duplicates → Merge… → pick the other's e-mail → Merge → Undo: is the pair merged, then back as it was?"""
    with app.app_context():
        user = factories.user("supervisor")
        keep = factories.customer(name="陈静", mobile="13712345678", email="chen.jing@example.com")
        dup = factories.customer(name="陈晶", mobile="+86 137 1234 5678", email="jing.chen@example.com")
        factories.transaction(dup)
    sign_in(page, live_server, user.username)
    page.goto(f"{live_server}/admin/duplicates/")
    group = page.locator(f'.duplicate-group[data-ids="{keep.id},{dup.id}"]')
    expect(group.locator(".duplicate-reason")).to_have_text("same mobile")
    group.locator(".merge-group").click()
    expect(page.locator("#merge-moves [data-moving='0']")).to_have_text("1")
    page.check(f"#choice_email_{dup.id}")
    page.click("#merge-submit")
    page.wait_for_url(re.compile(r"/admin/duplicates/merged/\?id=\d+"))
    expect(page.locator(".alert-success")).to_contain_text("merged into")
    with app.app_context():
        assert db.session.get(Customer, dup.id) is None
        assert db.session.get(Customer, keep.id).email == "jing.chen@example.com"
    page.click("#undo-merge button[type=submit]")
    expect(page.locator("#merge-undone")).to_be_visible()
    with app.app_context():
        assert db.session.get(Customer, dup.id).name == "陈晶"
        assert db.session.get(Customer, keep.id).email == "chen.jing@example.com"
