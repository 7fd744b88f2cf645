"""Entry that catches mistakes before they are stored: a mobile or e-mail another customer has, text past a column's
length, and the customer form's sections (issue 27)."""
import re

import pytest
from sqlalchemy import String, select

from crmadmin.extensions import db
from crmadmin.models import Customer, User
from tests import factories
from tests.conftest import log_entries
from tests.forms import csrf_token, read_form, submit

NEW = "/admin/customer/new/"
CONFIRM = "crm_save_duplicate"
SECRET = {"name": "秘密客户甲", "address": "机密路 77 号", "notes": "只给负责人看的备注"}


def _chinese(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    return client


def _owned_by(app, username: str, **kw) -> Customer:
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.username == username))
        return factories.customer(owner_id=owner.id, **kw)


def _customers(app) -> list[tuple]:
    with app.app_context():
        return db.session.execute(select(Customer.id, Customer.name).order_by(Customer.id)).all()


@pytest.mark.parametrize("written", ["13812345678", "+86 138 1234 5678", "138-1234-5678"])
def test_is_a_clerk_told_the_mobile_is_their_own_customers_with_a_link(app, login_as, snapshot, written):
    """Does a clerk who types a number of their own customer, however written, get a link to that customer and
    no save?"""
    clerk = _chinese(login_as("clerk"))
    mine = _owned_by(app, clerk.username, name="王小明", mobile="+8613812345678")
    before = snapshot()
    response = submit(clerk, NEW, {"name": "王晓明", "mobile": written})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'href="/admin/customer/details/?id={mine.id}"' in html
    assert "这个手机号码已属于" in html and "王小明" in html
    assert f'name="{CONFIRM}"' not in html  # a clerk has no second step
    assert snapshot() == before


@pytest.mark.parametrize("written", ["13812345678", "+86 138 1234 5678", "138-1234-5678"])
def test_does_a_clerk_learn_nothing_of_another_clerks_customer(app, login_as, snapshot, written):
    """A number of a customer the clerk may not see: only whose customer it is, never its name, address or notes."""
    with app.app_context():
        other = factories.user("clerk", display_name="李娜")
        theirs = factories.customer(owner_id=other.id, mobile="+8613812345678", email="Boss@Example.com", **SECRET)
    clerk = _chinese(login_as("clerk"))
    before = snapshot()
    response = submit(clerk, NEW, {"name": "新客户", "mobile": written, "email": "boss@example.COM"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "这个手机号码已被 李娜 的客户使用" in html
    assert "这个电子邮箱已被 李娜 的客户使用" in html
    for value in SECRET.values():
        assert value not in html
    assert f"id={theirs.id}" not in html
    assert snapshot() == before


def test_is_an_unowned_customer_described_as_another_clerks(app, login_as, snapshot):
    with app.app_context():
        factories.customer(mobile="+8613812345678", **SECRET)
    clerk = _chinese(login_as("clerk"))
    before = snapshot()
    html = submit(clerk, NEW, {"name": "新客户", "mobile": "138 1234 5678"}).get_data(as_text=True)
    assert "这个手机号码已被另一位文员的客户使用" in html
    assert all(value not in html for value in SECRET.values())
    assert snapshot() == before


def test_is_the_same_email_in_another_case_a_clash_on_edit(app, login_as, snapshot):
    """Editing a customer to an e-mail another has (case aside) is told; the customer's own e-mail is no clash."""
    clerk = _chinese(login_as("clerk"))
    first = _owned_by(app, clerk.username, email="ann@example.com")
    second = _owned_by(app, clerk.username, email="bob@example.com")
    url = f"/admin/customer/edit/?id={second.id}"
    assert submit(clerk, url, {"notes": "同一邮箱"}).status_code == 302  # its own e-mail: saved
    before = snapshot()
    html = submit(clerk, url, {"email": "ANN@Example.com"}).get_data(as_text=True)
    assert "这个电子邮箱已属于" in html and f"id={first.id}" in html
    assert snapshot() == before


def test_does_a_supervisor_save_a_duplicate_only_as_a_second_step_and_is_it_logged(app, login_as, snapshot):
    """First send: warned, a checkbox, nothing stored. Second send with it ticked: stored and logged."""
    supervisor = _chinese(login_as("supervisor"))
    with app.app_context():
        existing = factories.customer(mobile="+8613812345678", email="same@example.com")
    before = snapshot()
    first = submit(supervisor, NEW, {"name": "王晓明", "mobile": "138-1234-5678", "email": "SAME@example.com"})
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and snapshot() == before
    assert "保存为另一位客户（我已核对）" in html
    form = read_form(html)
    assert CONFIRM not in form  # not ticked
    confirm = re.search(rf'name="{CONFIRM}" value="([^"]+)"', html).group(1)
    second = supervisor.post(NEW, data={**form, CONFIRM: confirm})
    assert second.status_code == 302, second.get_data(as_text=True)[:300]
    saved = [row for row in _customers(app) if row.name == "王晓明"]
    assert len(saved) == 1
    events = log_entries(app, action="duplicate_saved")
    assert [(e.record_type, e.record_id) for e in events] == [("customer", str(saved[0].id))]
    assert '"phone"' in events[0].changes and '"email"' in events[0].changes
    assert str(existing.id) in events[0].changes
    assert "138" not in events[0].changes and "same@" not in events[0].changes.lower()


def test_does_a_ticked_box_for_another_number_confirm_nothing(app, login_as, snapshot):
    supervisor = login_as("supervisor")
    with app.app_context():
        factories.customer(mobile="+8613812345678")
        factories.customer(mobile="+8613900000001")
    html = submit(supervisor, NEW, {"name": "A", "mobile": "13812345678"}).get_data(as_text=True)
    confirm = re.search(rf'name="{CONFIRM}" value="([^"]+)"', html).group(1)
    before = snapshot()
    response = submit(supervisor, NEW, {"name": "A", "mobile": "13900000001", CONFIRM: confirm})
    assert response.status_code == 200 and snapshot() == before


def test_can_a_clerk_force_the_second_step(app, login_as, snapshot):
    """A clerk who posts the checkbox anyway gets the form again and nothing is stored."""
    clerk = login_as("clerk")
    mine = _owned_by(app, clerk.username, mobile="+8613812345678")
    before = snapshot()
    response = submit(clerk, NEW, {"name": "B", "mobile": "13812345678", CONFIRM: f"phone:{mine.id}"})
    assert response.status_code == 200
    assert snapshot() == before
    assert log_entries(app, action="duplicate_saved") == []


# --- text limits -------------------------------------------------------------------------------------------------
def _record_views(app):
    from flask_admin.contrib.sqla import ModelView
    admin = app.extensions["admin"][0]
    return [v for v in admin._views if isinstance(v, ModelView)]


def _text_inputs(html: str) -> dict[str, tuple[str | None, str | None]]:
    """name -> (maxlength, the limit its hint shows) of each text box and text area of the page's admin form."""
    form = html[html.find('class="admin-form'):]
    form = form[:form.find("</form>")]
    found = {}
    for tag in re.finditer(r"<(input|textarea)\b[^>]*>", form):
        attrs = dict(re.findall(r'([\w-]+)(?:="([^"]*)")?', tag.group()[1:]))
        if tag.group(1) == "input" and attrs.get("type", "text") not in ("text", "email", ""):
            continue
        if attrs.get("name") and attrs.get("name") != "csrf_token" and attrs.get("data-role") != "datepicker":
            after = form[tag.end():]
            group_end = after.find('class="form-group')
            hint = re.search(r"最多 (\d+) 个字符", after[:group_end if group_end >= 0 else None])
            found[attrs["name"]] = (attrs.get("maxlength"), hint.group(1) if hint else None)
    return found


def _limited_fields(app, client):
    """(view, form url, field, length) of every text field of a limited column on every create and edit form."""
    from crmadmin.admin.limits import column_lengths

    found = []
    with app.app_context():
        customer = factories.customer()
        factories.complaint(customer)
        factories.transaction(customer)
        factories.interaction(customer)
        factories.campaign()
    for view in _record_views(app):
        lengths = column_lengths(view.model)
        with app.test_request_context():
            ids = [row[0] for row in db.session.execute(select(view.model.id).limit(1))] \
                if hasattr(view.model, "id") else []
        urls = [f"/admin/{view.endpoint}/new/"] + [f"/admin/{view.endpoint}/edit/?id={i}" for i in ids]
        for url in urls:
            page = client.get(url)
            if page.status_code != 200:
                continue
            for name, maxlength in _text_inputs(page.get_data(as_text=True)).items():
                if name in lengths:
                    found.append((view.endpoint, url, name, lengths[name], *maxlength))
    return found


def test_does_every_text_field_show_its_columns_length(app, login_as):
    """Every text box of a limited column, on every create and edit form, has maxlength = the column's length and
    shows that limit under it."""
    admin = _chinese(login_as("administrator"))
    fields = _limited_fields(app, admin)
    screens = {endpoint for endpoint, *_rest in fields}
    assert {"customer", "transaction", "interaction", "complaint", "campaign", "user", "role"} <= screens
    assert [f for f in fields if f[4] != str(f[3]) or f[5] != str(f[3])] == []


def test_is_a_2000_character_value_refused_in_every_field(app, login_as, snapshot):
    """A direct POST of 2,000 characters to any limited text field: refused with its limit, in Chinese, nothing
    stored."""
    admin = _chinese(login_as("administrator"))
    fields = _limited_fields(app, admin)
    assert len(fields) > 20
    for endpoint, url, name, length, _maxlength, _hint in fields:
        before = snapshot()
        response = submit(admin, url, {name: "长" * 2000})
        html = response.get_data(as_text=True)
        assert response.status_code == 200, (url, name, response.status_code)
        assert f"最多 {length} 个字符：这里有 2000 个" in html, (url, name)
        assert snapshot() == before, (url, name)


def test_is_a_2000_character_name_refused_not_cut(app, login_as, snapshot):
    """The clerk's paste of 2,000 characters: the form comes back with the whole text and the message."""
    clerk = _chinese(login_as("clerk"))
    before = snapshot()
    response = submit(clerk, NEW, {"name": "张" * 2000, "mobile": "13912345678"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "最多 120 个字符：这里有 2000 个" in html
    assert "张" * 2000 in html
    assert html.count("最多 120 个字符：这里有") == 1  # one check, not one per Length declared
    assert snapshot() == before


# --- sections ----------------------------------------------------------------------------------------------------
def test_does_the_customer_form_come_in_sections_with_required_marks(app, login_as):
    clerk = _chinese(login_as("clerk"))
    for url in (NEW, f"/admin/customer/edit/?id={_owned_by(app, clerk.username).id}"):
        html = clerk.get(url).get_data(as_text=True)
        legends = re.findall(r"<legend>([^<]+)</legend>", html)
        assert legends == ["身份信息", "联系方式", "公司信息", "偏好与备注", "来源与负责人"], legends
        name = re.search(r'<input[^>]*id="name"[^>]*>', html).group()
        assert "required" in name and 'aria-required="true"' in name and 'maxlength="120"' in name
        label = re.search(r'<label for="name"[^>]*>(.*?)</label>', html, re.S).group(1)
        assert '<span class="sr-only">（必填）</span>' in label
        mobile = re.search(r'<label for="mobile"[^>]*>(.*?)</label>', html, re.S).group(1)
        assert "必填" not in mobile
        assert "最多 120 个字符" in html


# --- the live check while typing ---------------------------------------------------------------------------------
def _ask(client, data, token=True):
    page = client.get(NEW).get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_token(page)} if token else {}
    return client.post("/admin/customer/taken/", data=data, headers=headers)


def test_does_the_live_check_answer_with_the_saves_words(app, login_as):
    """While typing: a link for the clerk's own customer, only the owner for another clerk's, nothing else."""
    with app.app_context():
        other = factories.user("clerk", display_name="李娜")
        factories.customer(owner_id=other.id, mobile="+8613812345678", **SECRET)
    clerk = _chinese(login_as("clerk"))
    mine = _owned_by(app, clerk.username, name="王小明", email="wang@example.com")
    response = _ask(clerk, {"mobile": "138-1234-5678", "email": "WANG@example.com"})
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["mobile"]["taken"] and "这个手机号码已被 李娜 的客户使用" in answer["mobile"]["message"]
    assert answer["email"]["taken"] and f'/admin/customer/details/?id={mine.id}"' in answer["email"]["message"]
    assert all(value not in response.get_data(as_text=True) for value in SECRET.values())
    assert _ask(clerk, {"mobile": "13900000000", "email": "new@example.com"}).get_json() == {
        "mobile": {"taken": False, "message": ""}, "email": {"taken": False, "message": ""}}
    # editing the customer who has the e-mail: no clash with itself
    edit = clerk.post("/admin/customer/taken/", data={"email": "wang@example.com", "id": mine.id},
                      headers={"X-CSRFToken": csrf_token(clerk.get(NEW).get_data(as_text=True))})
    assert edit.get_json() == {"email": {"taken": False, "message": ""}}


def test_is_the_live_check_refused_without_csrf_or_a_right_to_enter(app, login_as, snapshot):
    with app.app_context():
        factories.customer(mobile="+8613812345678", **SECRET)
    clerk, auditor = login_as("clerk"), login_as("auditor")
    before = snapshot()
    refused = _ask(clerk, {"mobile": "13812345678"}, token=False)
    assert refused.status_code == 400 and refused.content_type.startswith("text/html")
    token = csrf_token(auditor.get("/admin/customer/").get_data(as_text=True))
    forbidden = auditor.post("/admin/customer/taken/", data={"mobile": "13812345678"}, headers={"X-CSRFToken": token})
    assert forbidden.status_code == 403
    assert snapshot() == before


def test_is_the_live_check_rate_limited(app, login_as):
    """A clerk cannot walk the customer file number by number."""
    clerk = login_as("clerk")
    page = clerk.get(NEW).get_data(as_text=True)
    kept = app.config["CRM_TAKEN_CHECKS"]
    app.config["CRM_TAKEN_CHECKS"] = "3 per minute"
    try:
        codes = [clerk.post("/admin/customer/taken/", data={"mobile": f"1380000000{i}"},
                            headers={"X-CSRFToken": csrf_token(page)}).status_code for i in range(5)]
    finally:
        app.config["CRM_TAKEN_CHECKS"] = kept
    assert codes == [200, 200, 200, 429, 429]
