"""Saved views, chosen columns and the list's keys in a real headless Chromium, zh_CN (issue 28): a clerk picks and
orders columns with the keyboard, saves the list as a view with Enter, opens it again in one click; "/" focuses the
search box, "n" opens the new-record form, Esc closes a dialog; at 1366×768 and on a 390×844 phone."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories

from tests.test_browser import live_server, browser, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import OVERFLOW, _shot, clerk_with_demo, open_page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

LIST = "/admin/customer/"


def names(page) -> list[str]:
    return page.locator("table.model-list tbody td.col-name").all_inner_texts()


def headers(page) -> list[str]:
    return [h.strip() for h in page.locator("table.model-list thead th.column-header").all_inner_texts()]


def test_a_saved_view_round_trips_in_the_browser(app, live_server, open_page, clerk_with_demo):  # noqa: F811
    """Does a clerk's view (search, sort, columns chosen and ordered by keyboard) open again in one click as the same
    list, saved with Enter, its dialogs closed with Esc?"""
    page = open_page(1366, 768)
    sign_in(page, live_server, clerk_with_demo)
    page.goto(f"{live_server}{LIST}?sort=1")
    expect(page.locator("table.model-list tbody tr").first).to_be_visible()
    _shot(page, "saved-views-list-1366")

    # "/" focuses the search box; typing there is typing, not a key of the list
    page.locator("body").press("/")
    search = page.locator("input[name=search]")
    expect(search).to_be_focused()
    expect(search).to_have_attribute("aria-keyshortcuts", "/")
    search.type("n")
    page.wait_for_timeout(200)
    assert page.url.endswith("?sort=1")  # "n" typed into the box opened nothing
    search.fill("公司")
    search.press("Enter")
    page.wait_for_url(re.compile(r"search="))
    wanted = names(page)
    assert wanted

    # the columns dialog, by keyboard: hide "Kind", move "Region" up to the top, save
    page.locator(".crm-columns-button").click()
    dialog = page.locator("#crm-columns")
    expect(dialog).to_be_visible()
    _shot(page, "saved-views-columns-1366")
    dialog.locator("li[data-column=kind] input[type=checkbox]").focus()
    page.keyboard.press("Space")
    region_up = dialog.locator("li[data-column=region] button[data-move=up]")
    region_up.focus()
    for _ in range(5):
        page.keyboard.press("Enter")
        expect(region_up).to_be_focused()
    assert dialog.locator("li").first.get_attribute("data-column") == "region"
    dialog.locator("button[type=submit].btn-primary").click()
    page.wait_for_load_state()
    chosen = headers(page)
    assert chosen[0] == "区域" and "客户类型" not in chosen and "类型" not in chosen, chosen

    # Esc closes a dialog
    page.locator(".crm-save-view").click()
    expect(page.locator("#crm-view-name")).to_be_focused()  # the dialog is open, the cursor in its name box
    page.locator(".modal-title", has_text="常用筛选").click()  # Esc works wherever the focus is in the dialog
    page.keyboard.press("Escape")
    expect(page.locator("#crm-save-view")).to_be_hidden()

    # save the list as a view: the name typed, Enter saves
    page.locator(".crm-save-view").click()
    name_box = page.locator("#crm-view-name")
    expect(name_box).to_be_visible()
    name_box.fill("我的公司客户")
    _shot(page, "saved-views-save-1366")
    name_box.press("Enter")
    view = page.locator("a.crm-view", has_text="我的公司客户")
    expect(view).to_have_attribute("aria-current", "page")

    # elsewhere, then one click on the view: the same rows, order and columns
    page.goto(f"{live_server}{LIST}")
    page.locator(".crm-columns-button").click()
    page.locator("#crm-columns button[form=crm-columns-reset]").click()
    page.wait_for_load_state()
    assert headers(page) != chosen
    page.locator("a.crm-view", has_text="我的公司客户").click()
    expect(page.locator("a.crm-view[aria-current=page]")).to_have_text(re.compile("我的公司客户"))
    assert names(page) == wanted
    assert headers(page) == chosen
    _shot(page, "saved-views-opened-1366")
    assert page.evaluate(OVERFLOW) == {"page": 0, "box": 0}


def test_the_n_key_opens_the_new_record_form(app, live_server, open_page, clerk_with_demo):  # noqa: F811
    """Does "n" on a list open its create form, hinted on the "Create" tab, does Enter in a field of that form save it,
    and does "n" do nothing on a list the user may not add to?"""
    page = open_page(1366, 768)
    sign_in(page, live_server, clerk_with_demo)
    page.goto(f"{live_server}{LIST}")
    create = page.locator(".nav-tabs a.nav-link[aria-keyshortcuts=n]")
    expect(create).to_have_count(1)
    assert "n" in create.get_attribute("title")
    page.locator("body").press("n")
    page.wait_for_url(re.compile(r"/admin/customer/new/"))
    expect(page.locator("form.admin-form")).to_be_visible()
    # Enter in a field saves the form (its first button, "Save")
    page.locator("#name").fill("键盘新客户")
    with page.expect_navigation():
        page.locator("#name").press("Enter")
    with app.app_context():
        assert db.session.scalar(select(Customer.id).where(Customer.name == "键盘新客户")) is not None
    page.goto(f"{live_server}/admin/campaign/")  # clerks view campaigns only
    expect(page.locator("table.model-list, .crm-list-tools").first).to_be_visible()
    page.locator("body").press("n")
    page.wait_for_timeout(300)
    assert page.url.endswith("/admin/campaign/")


def test_the_views_bar_and_columns_dialog_fit_a_phone(app, live_server, open_page, clerk_with_demo):  # noqa: F811
    """At 390×844: the views bar wraps, the columns dialog fits, nothing scrolls sideways."""
    page = open_page(390, 844)
    sign_in(page, live_server, clerk_with_demo)
    page.goto(f"{live_server}{LIST}")
    page.locator(".crm-save-view").click()
    page.locator("#crm-view-name").fill("华东客户")
    page.locator("#crm-view-name").press("Enter")
    expect(page.locator("a.crm-view", has_text="华东客户")).to_be_visible()
    page.wait_for_load_state()  # the list after the save, with its stylesheets (cards at this width), not mid-way
    _shot(page, "saved-views-list-390")
    assert page.evaluate(OVERFLOW) == {"page": 0, "box": 0}
    bar = page.locator(".crm-list-tools").bounding_box()
    assert bar["x"] >= 0 and bar["x"] + bar["width"] <= 390
    page.locator(".crm-columns-button").click()
    dialog = page.locator("#crm-columns .modal-content")
    expect(dialog).to_be_visible()
    _shot(page, "saved-views-columns-390")
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    # shown (its opening slide ended: Bootstrap moves the focus into it then, and ignores Esc until then)
    page.wait_for_function("() => document.getElementById('crm-columns').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.locator(".crm-manage-views").click()
    manage = page.locator("#crm-manage-views .modal-content")
    expect(manage).to_be_visible()
    _shot(page, "saved-views-manage-390")
    box = manage.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_a_supervisor_shares_a_view_with_the_clerks(app, live_server, open_page, clerk_with_demo):  # noqa: F811
    """Does a supervisor's view, shared with the clerk role in the save dialog, show on a clerk's list, marked shared?"""
    with app.app_context():
        supervisor = factories.user("supervisor", display_name="赵主管").username
    page = open_page(1366, 768)
    sign_in(page, live_server, supervisor)
    page.goto(f"{live_server}{LIST}?sort=9")
    page.locator(".crm-save-view").click()
    page.locator("#crm-view-name").fill("本周待回访")
    page.locator("#crm-view-role").select_option(label="业务员")
    _shot(page, "saved-views-share-1366")
    page.locator("#crm-view-name").press("Enter")
    expect(page.locator("a.crm-view", has_text="本周待回访")).to_be_visible()
    page.locator(".crm-manage-views").click()
    expect(page.locator("#crm-manage-views .modal-content")).to_be_visible()
    _shot(page, "saved-views-manage-1366")

    clerk = open_page(1366, 768)
    sign_in(clerk, live_server, clerk_with_demo)
    clerk.goto(f"{live_server}{LIST}")
    shared = clerk.locator("a.crm-view", has_text="本周待回访")
    expect(shared).to_have_attribute("title", re.compile("业务员"))
    expect(clerk.locator(".crm-manage-views")).to_have_count(0)  # nothing of theirs to manage
