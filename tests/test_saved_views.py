"""Saved views of lists (常用筛选, issue 28): saved, opened in one click, shared with a role, kept to their owner."""
import html
import json
import re

from sqlalchemy import select, update

from crmadmin.extensions import db
from crmadmin.models import Role, SavedView, User
from tests import factories
from tests.forms import csrf_token, read_form, submit

LIST = "/admin/customer/"
EN = {"Accept-Language": "en"}


def names_in_order(body: str) -> list[str]:
    return re.findall(r'<td class="col-name[^"]*"[^>]*>([^<]*)</td>', body)


def headers(body: str) -> list[str]:
    head = body.split('<thead>', 1)[1].split('</thead>', 1)[0]
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th class=\"column-header[^\"]*\"[^>]*>(.*?)</th>",
                                                                  head, re.S)]


def view_links(body: str) -> dict[str, str]:
    """The saved views offered above the list: name -> address."""
    return {html.unescape(name).strip(): html.unescape(url) for url, name in
            re.findall(r'<a class="btn btn-sm [^"]*crm-view" href="([^"]+)"[^>]*>([^<]+)', body)}


def save_view(client, list_url: str, name: str, **extra):
    page = client.get(list_url, headers=EN).get_data(as_text=True)
    form = read_form(page, "crm-save-view-form")
    form.update(name=name, **extra)
    return client.post(list_url.split("?")[0] + "views/save/", data=form, headers=EN)


def test_a_saved_view_opens_in_one_click_with_the_same_rows_sort_and_columns(app, login_as):
    """Does a view saved from a searched, filtered, sorted list with chosen columns open as the same list?"""
    client = login_as("supervisor")
    with app.app_context():
        for name, region in [("Alpha Wang", "华东"), ("Beta Wang", "华北"), ("Gamma Wang", "华东"), ("Delta Li", "华东")]:
            factories.customer(name=name, region=region)
    list_url = f"{LIST}?search=Wang&flt0_19=华东&sort=1&desc=1&cols=name,region,id"
    shown = client.get(list_url, headers=EN).get_data(as_text=True)
    assert names_in_order(shown) == ["Gamma Wang", "Alpha Wang"]
    assert headers(shown) == ["Name", "Region", "ID"]

    response = save_view(client, list_url, "East Wangs")
    assert response.status_code == 302
    client.get(LIST)  # somewhere else first
    link = view_links(client.get(LIST, headers=EN).get_data(as_text=True))["East Wangs"]
    opened = client.get(link, headers=EN).get_data(as_text=True)
    assert names_in_order(opened) == ["Gamma Wang", "Alpha Wang"]
    assert headers(opened) == ["Name", "Region", "ID"]
    assert 'aria-current="page"' in opened
    with app.app_context():
        state = json.loads(db.session.scalar(select(SavedView.state)))
    assert state["filters"][0]["key"] == "Region|customer.region|equals"
    assert state["sort"] == "name" and state["desc"] and state["columns"] == ["name", "region", "id"]


def test_a_view_shared_with_a_role_shows_to_that_roles_users_only(app, login_as):
    """Does a supervisor's view shared with clerks show on every clerk's list, and not on an auditor's?"""
    supervisor = login_as("supervisor")
    with app.app_context():
        clerks = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
    assert save_view(supervisor, f"{LIST}?flt0_19=华东", "East region", role_id=str(clerks)).status_code == 302
    assert save_view(supervisor, LIST, "Mine only").status_code == 302
    clerk, auditor = login_as("clerk"), login_as("auditor")
    assert set(view_links(clerk.get(LIST, headers=EN).get_data(as_text=True))) == {"East region"}
    assert view_links(auditor.get(LIST, headers=EN).get_data(as_text=True)) == {}
    assert set(view_links(supervisor.get(LIST, headers=EN).get_data(as_text=True))) == {"East region", "Mine only"}
    # the clerk opens it, and it is theirs to open, not to change
    link = view_links(clerk.get(LIST, headers=EN).get_data(as_text=True))["East region"]
    assert clerk.get(link).status_code == 200
    with app.app_context():
        shared_id = db.session.scalar(select(SavedView.id).where(SavedView.name == "East region"))
    token = csrf_token(clerk.get(LIST).get_data(as_text=True))
    assert clerk.post(f"{LIST}views/delete/", data={"csrf_token": token, "id": shared_id}).status_code == 404


def test_a_clerk_cannot_share_a_view(app, login_as, snapshot):
    """Can a clerk share a view with a role, when saving or afterwards? Nothing changes."""
    clerk = login_as("clerk")
    with app.app_context():
        clerks = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
    page = clerk.get(LIST, headers=EN).get_data(as_text=True)
    assert 'name="role_id"' not in page  # not offered
    before = snapshot()
    token = csrf_token(page)
    response = clerk.post(f"{LIST}views/save/", data={"csrf_token": token, "name": "Shared", "query": "",
                                                       "role_id": str(clerks)})
    assert response.status_code == 403
    assert snapshot() == before
    assert save_view(clerk, LIST, "Private").status_code == 302
    with app.app_context():
        view_id = db.session.scalar(select(SavedView.id))
    before = snapshot()
    response = clerk.post(f"{LIST}views/update/", data={"csrf_token": token, "id": view_id, "name": "Renamed",
                                                         "role_id": str(clerks)})
    assert response.status_code == 403
    assert snapshot() == before


def test_another_users_private_view_cannot_be_opened_changed_or_deleted(app, login_as, snapshot):
    """Can a user open, rename or delete someone else's private view by its number? 404, and nothing changes."""
    owner, other = login_as("supervisor"), login_as("supervisor")
    assert save_view(owner, f"{LIST}?search=x", "Owner's").status_code == 302
    with app.app_context():
        view_id = db.session.scalar(select(SavedView.id))
    before = snapshot()
    assert other.get(f"{LIST}?view={view_id}").status_code == 404
    assert other.get(f"{LIST}?view=abc").status_code == 404
    token = csrf_token(other.get(LIST).get_data(as_text=True))
    for path, extra in [("views/update/", {"name": "Taken over"}), ("views/delete/", {})]:
        response = other.post(f"{LIST}{path}", data={"csrf_token": token, "id": str(view_id), **extra})
        assert response.status_code == 404, path
    assert snapshot() == before
    # nor through another list's address
    assert owner.post(f"/admin/complaint/views/delete/", data={"csrf_token": token, "id": str(view_id)}
                      ).status_code in (400, 404)
    assert snapshot() == before


def test_saving_renaming_and_deleting_need_the_csrf_token(app, login_as, snapshot):
    """Does a forged form (no CSRF token) save, rename or delete a view?"""
    client = login_as("supervisor")
    assert save_view(client, LIST, "Kept").status_code == 302
    with app.app_context():
        view_id = db.session.scalar(select(SavedView.id))
    before = snapshot()
    for path in ("views/save/", "views/update/", "views/delete/"):
        response = client.post(f"{LIST}{path}", data={"id": str(view_id), "name": "Forged", "query": ""})
        assert response.status_code == 400, path
    assert snapshot() == before


def test_the_owner_renames_shares_and_deletes_their_view(app, login_as):
    """Can the owner rename a view, share it and make it private again, and delete it?"""
    client = login_as("supervisor")
    assert save_view(client, LIST, "First").status_code == 302
    with app.app_context():
        view_id = db.session.scalar(select(SavedView.id))
        clerks = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
    page = client.get(LIST, headers=EN).get_data(as_text=True)
    token = csrf_token(page)
    response = client.post(f"{LIST}views/update/", data={"csrf_token": token, "id": view_id, "name": "  Second ",
                                                          "role_id": str(clerks), "url": LIST})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.execute(select(SavedView.name, SavedView.role_id)).one() == ("Second", clerks)
    client.post(f"{LIST}views/update/", data={"csrf_token": token, "id": view_id, "name": "Second", "role_id": ""})
    with app.app_context():
        assert db.session.scalar(select(SavedView.role_id)) is None
    client.post(f"{LIST}views/delete/", data={"csrf_token": token, "id": view_id})
    with app.app_context():
        assert db.session.scalar(select(SavedView.id)) is None


def test_a_name_is_needed_and_may_not_repeat(app, login_as):
    """Is an empty, overlong or repeated name refused with a message in the user's language, nothing saved?"""
    client = login_as("supervisor")
    assert save_view(client, LIST, "Same").status_code == 302
    for name, message in [("", "给筛选起个名字"), ("x" * 81, "最多"), ("Same", "已有")]:
        page = client.get(LIST, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        form = read_form(page, "crm-save-view-form")
        form.update(name=name)
        response = client.post(f"{LIST}views/save/", data=form, headers={"Accept-Language": "zh-CN"},
                               follow_redirects=True)
        assert response.status_code == 200
        assert message in response.get_data(as_text=True), name
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SavedView)) == 1


def test_a_view_naming_a_removed_filter_opens_with_a_note(app, login_as):
    """Does a view whose filter the list no longer has open, with the rest applied and a note naming what was left out?"""
    client = login_as("supervisor")
    with app.app_context():
        factories.customer(name="Wang East", region="华东")
        factories.customer(name="Wang North", region="华北")
    assert save_view(client, f"{LIST}?search=Wang&flt0_19=华东", "Old view").status_code == 302
    with app.app_context():
        row = db.session.scalars(select(SavedView)).one()
        state = json.loads(row.state)
        state["filters"].append({"key": "Fax|customer.fax|equals", "label": "Fax equals", "value": "123"})
        state["sort"] = "fax"
        db.session.execute(update(SavedView.__table__).values(state=json.dumps(state)))
        db.session.commit()
    link = view_links(client.get(LIST, headers=EN).get_data(as_text=True))["Old view"]
    response = client.get(link, headers=EN)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert names_in_order(body) == ["Wang East"]  # the search and the region still hold
    note = re.search(r'class="alert alert-warning crm-view-note"[^>]*>(.*?)</div>', body, re.S).group(1)
    assert "Fax equals" in html.unescape(note) and "fax" in note


def test_views_are_per_list(app, login_as):
    """Does a view saved on the customers show on the complaints list? (No: each list has its own.)"""
    client = login_as("supervisor")
    assert save_view(client, LIST, "Customers only").status_code == 302
    assert view_links(client.get("/admin/complaint/", headers=EN).get_data(as_text=True)) == {}
    with app.app_context():
        view_id = db.session.scalar(select(SavedView.id))
    assert client.get(f"/admin/complaint/?view={view_id}").status_code == 404


def test_a_shared_view_keeps_each_clerks_own_customers(app, login_as):
    """Does a view shared with clerks show a clerk anyone else's customers? (No: the data scope is the clerk's.)"""
    supervisor = login_as("supervisor")
    clerk = login_as("clerk")
    with app.app_context():
        me = db.session.scalar(select(User.id).where(User.username == clerk.username))
        clerks = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
        factories.customer(name="Mine East", owner_id=me)
        factories.customer(name="Theirs East")
    assert save_view(supervisor, f"{LIST}?search=East", "East", role_id=str(clerks)).status_code == 302
    link = view_links(clerk.get(LIST, headers=EN).get_data(as_text=True))["East"]
    assert names_in_order(clerk.get(link).get_data(as_text=True)) == ["Mine East"]


def test_an_erasure_takes_the_persons_name_and_phone_out_of_saved_views(app, login_as):
    """Does a view that searched for a customer by name, or filtered on their mobile, still hold them after the
    customer's personal data is erased? (No: masked, the view still opens.)"""
    client = login_as("supervisor")
    with app.app_context():
        customer = factories.customer(name="欧阳娜娜", mobile="+8613833334444")
        customer_id = customer.id
    assert save_view(client, f"{LIST}?search=欧阳娜娜", "欧阳娜娜的档案").status_code == 302
    assert save_view(client, f"{LIST}?search=13833334444", "按手机").status_code == 302
    response = submit(client, f"/admin/personaldata/erase/?id={customer_id}",
                      {"received_on": "2026-11-20", "channel": "email", "reference": "REQ-7", "confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        views = db.session.execute(select(SavedView.name, SavedView.state)).all()
    assert len(views) == 2
    for name, state in views:
        assert "欧阳娜娜" not in name + state and "13833334444" not in state, (name, state)
    for link in view_links(client.get(LIST, headers=EN).get_data(as_text=True)).values():
        assert client.get(link).status_code == 200


def test_a_second_view_of_the_same_name_is_refused_with_a_message_and_saves_nothing(app, login_as, snapshot):
    """The name is the user's key of a view on a list: does a second 'Mine' say so in Chinese and store nothing?"""
    client = login_as("clerk")
    assert save_view(client, "/admin/customer/?search=x", "Mine").status_code == 302
    before = snapshot()
    page = client.get("/admin/customer/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    form = read_form(page, "crm-save-view-form")
    form.update(name="Mine")
    response = client.post("/admin/customer/views/save/", data=form, headers={"Accept-Language": "zh-CN"},
                           follow_redirects=True)
    assert response.status_code == 200 and "Mine" in response.get_data(as_text=True)
    assert "IntegrityError" not in response.get_data(as_text=True)
    assert snapshot() == before
    with app.app_context():
        assert db.session.scalars(select(SavedView.name)).all() == ["Mine"]
