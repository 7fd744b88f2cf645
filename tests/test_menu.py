"""The menu bar is rendered once per set of rights, language and screen (crmadmin.admin.menu): is each viewer's still
their own?"""
import re

from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Role
from tests import factories
from tests.conftest import sign_in

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def menu_of(client, path: str = "/admin/", headers=EN) -> str:
    page = client.get(path, headers=headers).get_data(as_text=True)
    return re.search(r'<ul class="nav navbar-nav mr-auto">(.*?)</ul>\s*<ul class="nav navbar-nav navbar-right">',
                     page, re.S).group(1)


def signed_in(app, username: str):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def test_a_change_of_a_roles_rights_shows_in_the_menu_on_the_next_page(app):
    """Does granting and then withdrawing complaints.view add and remove Complaints for a user already signed in?"""
    with app.app_context():
        factories.role("menu-test", {"customers.view"})
        username = factories.user("menu-test").username
    client = signed_in(app, username)
    assert "/admin/customer/" in menu_of(client) and "/admin/complaint/" not in menu_of(client)

    with app.app_context():
        role = db.session.scalar(select(Role).where(Role.name == "menu-test"))
        role.permissions = {"customers.view", "complaints.view"}
        db.session.commit()
    assert "/admin/complaint/" in menu_of(client)

    with app.app_context():
        role = db.session.scalar(select(Role).where(Role.name == "menu-test"))
        role.permissions = {"customers.view"}
        db.session.commit()
    assert "/admin/complaint/" not in menu_of(client)


def test_two_users_of_different_roles_each_see_their_own_menu(app, login_as):
    """After an administrator's menu was shown, does a clerk's still leave out Users and Roles, and the reverse?"""
    admin, clerk = login_as("administrator"), login_as("clerk")
    for _ in range(2):
        assert "/admin/user/" in menu_of(admin) and "/admin/role/" in menu_of(admin)
        assert "/admin/customer/" in menu_of(clerk)
        assert "/admin/user/" not in menu_of(clerk) and "/admin/role/" not in menu_of(clerk)


def test_the_menu_marks_the_screen_being_viewed(login_as):
    """Is Customers the active item on the customer list, and Transactions on the transaction list, in turn?"""
    client = login_as("administrator")
    active = re.compile(r'class="dropdown-item active[^"]*" href="([^"]+)"')
    for _ in range(2):
        assert active.findall(menu_of(client, "/admin/customer/")) == ["/admin/customer/"]
        assert active.findall(menu_of(client, "/admin/transaction/")) == ["/admin/transaction/"]
        assert active.findall(menu_of(client, "/admin/")) == []


def test_the_menu_speaks_each_viewers_language(login_as):
    """Does the same screen's menu read 客户 for a Chinese browser and Customers for an English one, in turn?"""
    client = login_as("administrator")
    for _ in range(2):
        chinese, english = menu_of(client, headers=ZH), menu_of(client, headers=EN)
        assert "客户" in chinese and "Customers" not in chinese
        assert "Customers" in english and "客户" not in english
