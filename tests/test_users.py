"""Administrators manage accounts in the panel: create, disable, reset, assign roles; sessions follow."""
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import Role, User
from tests import factories
from tests.conftest import sign_in
from tests.forms import csrf_token, read_form, submit


def _user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_disabling_a_user_ends_their_sessions_everywhere(app, login_as):
    """After an administrator disables a clerk, does the clerk's open session stop working?"""
    admin, clerk = login_as("administrator"), login_as("clerk")
    assert clerk.get("/admin/").status_code == 200
    response = submit(admin, f"/admin/user/edit/?id={_user_id(app, clerk.username)}", {"active": None})
    assert response.status_code == 302
    assert clerk.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), clerk.username).status_code == 200  # and cannot sign in again


def test_resetting_a_password_ends_the_old_sessions_and_the_new_password_works(app, login_as):
    """When an administrator resets a password, is the old session closed and the new password usable?"""
    admin, clerk = login_as("administrator"), login_as("clerk")
    url = f"/admin/user/edit/?id={_user_id(app, clerk.username)}"
    assert submit(admin, url, {"new_password": "a brand new passphrase"}).status_code == 302
    assert clerk.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), clerk.username, "a brand new passphrase").status_code == 302


def test_editing_a_user_without_a_new_password_keeps_the_password_and_sessions(app, login_as):
    """Does changing a display name leave the password and open sessions alone?"""
    admin, clerk = login_as("administrator"), login_as("clerk")
    assert submit(admin, f"/admin/user/edit/?id={_user_id(app, clerk.username)}",
                  {"display_name": "小王"}).status_code == 302
    assert clerk.get("/admin/").status_code == 200
    assert sign_in(app.test_client(), clerk.username).status_code == 302


def test_roles_are_assigned_in_the_user_form(app, login_as):
    """Can an administrator make a clerk a supervisor too, with rights adding up?"""
    admin = login_as("administrator")
    with app.app_context():
        user = factories.user("clerk")
        supervisor = db.session.scalar(select(Role.id).where(Role.name == "supervisor"))
    url = f"/admin/user/edit/?id={user.id}"
    form = read_form(admin.get(url).get_data(as_text=True))
    roles = form["roles"] if isinstance(form["roles"], list) else [form["roles"]]
    assert admin.post(url, data={**form, "roles": roles + [str(supervisor)]}).status_code == 302
    with app.app_context():
        assert {r.name for r in db.session.get(User, user.id).roles} == {"clerk", "supervisor"}


def test_an_administrator_cannot_lock_themselves_out(app, login_as, snapshot):
    """Can the last administrator disable their own account or drop their own admin role by mistake?"""
    admin = login_as("administrator")
    url = f"/admin/user/edit/?id={_user_id(app, admin.username)}"
    rows = snapshot()
    response = submit(admin, url, {"active": None})
    assert response.status_code == 200 and "You cannot disable your own account" in response.get_data(as_text=True)
    form = read_form(admin.get(url).get_data(as_text=True))
    with app.app_context():
        clerk_role = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
    response = admin.post(url, data={**form, "roles": [str(clerk_role)]})
    assert response.status_code == 200
    assert snapshot() == rows


def test_users_are_disabled_never_deleted(app, login_as, snapshot):
    """Is there any way to delete an account (and orphan its history)?"""
    admin = login_as("administrator")
    with app.app_context():
        user = factories.user("clerk")
    rows = snapshot()
    page = admin.get("/admin/user/").get_data(as_text=True)
    assert "/admin/user/delete/" not in page
    assert admin.post("/admin/user/delete/", data={"id": str(user.id), "csrf_token": csrf_token(page)}).status_code == 403
    assert snapshot() == rows
