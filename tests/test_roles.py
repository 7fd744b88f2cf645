"""Permissions are data: administrators shape roles in the panel and the panel obeys at once."""
import importlib.util
from pathlib import Path

from sqlalchemy import select

from crmadmin import create_app
from crmadmin.admin.base import SecureModelView
from crmadmin.auth.permissions import BUILTIN_ROLES
from crmadmin.extensions import db
from crmadmin.models import Customer, Interaction, Role, User
from tests import factories
from tests.conftest import sign_in
from tests.forms import csrf_token, read_form, submit


def test_the_role_form_is_a_grid_of_the_roles_current_permissions(app, login_as):
    """Does the role form show one checkbox per resource and action, ticked for what the role has?"""
    client = login_as("administrator")
    with app.app_context():
        clerk_id = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
    page = client.get(f"/admin/role/edit/?id={clerk_id}").get_data(as_text=True)
    assert "permission-grid" in page
    form = read_form(page)
    assert set(form["permissions"]) == BUILTIN_ROLES["clerk"][1]
    assert form["own_customers_only"] == "y"


def test_granting_a_permission_in_the_grid_takes_effect_for_the_roles_users(app, login_as):
    """An administrator ticks 'Interactions: Delete' for clerks: can a clerk now delete their own interaction?"""
    admin, clerk = login_as("administrator"), login_as("clerk")
    with app.app_context():
        clerk_user = db.session.scalar(select(User).where(User.username == clerk.username))
        note = factories.interaction(factories.customer(owner_id=clerk_user.id))
        clerk_role = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
    token = csrf_token(clerk.get("/admin/interaction/").get_data(as_text=True))
    assert clerk.post("/admin/interaction/delete/", data={"id": str(note.id), "csrf_token": token}).status_code == 403

    url = f"/admin/role/edit/?id={clerk_role}"
    form = read_form(admin.get(url).get_data(as_text=True))
    assert admin.post(url, data={**form, "permissions": form["permissions"] + ["interactions.delete"]}).status_code == 302

    assert clerk.post("/admin/interaction/delete/", data={"id": str(note.id), "csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(Interaction, note.id) is None


def test_a_role_cannot_be_given_a_permission_that_does_not_exist(app, login_as):
    """Does the role form accept a made-up permission string?"""
    client = login_as("administrator")
    response = submit(client, "/admin/role/new/", {"name": "odd", "permissions": ["customers.view", "everything.all"]})
    assert response.status_code == 200 and "is not a valid choice" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Role).where(Role.name == "odd")) is None


def test_built_in_roles_cannot_be_deleted(app, login_as, snapshot):
    """Can an administrator delete the clerk role out from under every clerk?"""
    client = login_as("administrator")
    with app.app_context():
        clerk_id = db.session.scalar(select(Role.id).where(Role.name == "clerk"))
    rows = snapshot()
    token = csrf_token(client.get("/admin/role/").get_data(as_text=True))
    client.post("/admin/role/delete/", data={"id": str(clerk_id), "csrf_token": token})
    assert snapshot() == rows


def _revision(prefix: str):
    path = next(Path("migrations/versions").glob(f"{prefix}_*.py"))
    spec = importlib.util.spec_from_file_location(f"revision_{prefix}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migrations_create_the_built_in_roles_as_the_code_defines_them():
    """Do the frozen role definitions in the migrations add up to crmadmin.auth.permissions?"""
    roles, audit_grants = _revision("7557a98785c8").ROLES, _revision("6352d1fc7373").GRANTS
    survey_grants = _revision("f49cd8e64f4a").GRANTS
    migrated = {name: (perms | set(audit_grants.get(name, ())) | set(survey_grants.get(name, ())), scoped)
                for name, (_, perms, scoped) in roles.items()}
    assert migrated == {name: (perms, scoped) for name, (_, perms, scoped) in BUILTIN_ROLES.items()}


def test_a_screen_that_declares_no_permission_is_for_administrators_only(app, login_as):
    """If a developer adds a screen and forgets its permission, who can open it?"""
    fresh = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    fresh.extensions["admin"][0].add_view(SecureModelView(Customer, db, endpoint="forgotten"))
    try:
        for role, expected in (("administrator", 200), ("supervisor", 403), ("clerk", 403), ("auditor", 403)):
            with fresh.app_context():
                user = factories.user(role)
            client = fresh.test_client()
            sign_in(client, user.username)
            assert client.get("/admin/forgotten/").status_code == expected, role
    finally:
        with fresh.app_context():
            db.engine.dispose()
