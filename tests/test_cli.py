"""The command line: first-run setup, accounts with no default passwords, built-in roles."""
import re

import pytest
from sqlalchemy import func, select

from crmadmin.auth.permissions import BUILTIN_ROLES, TWO_FACTOR_BY_DEFAULT
from crmadmin.extensions import db
from crmadmin.models import Customer, Role, User
from tests.conftest import sign_in

PASSWORD_LINE = re.compile(r"^\s+(administrator|supervisor|clerk|auditor)\s+(\S{12,})$", re.M)


def test_bootstrap_creates_one_account_per_role_with_a_random_password_shown_once(app):
    """Does the first run print a working, distinct password per built-in role, and never again?"""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["crm", "bootstrap", "--demo-customers", "30"])
    assert first.exit_code == 0, first.output
    passwords = dict(PASSWORD_LINE.findall(first.output))
    assert set(passwords) == set(BUILTIN_ROLES)
    assert len(set(passwords.values())) == 4
    for username, password in passwords.items():
        client = app.test_client()
        response = sign_in(client, username, password)
        assert response.status_code == 302
        if username in TWO_FACTOR_BY_DEFAULT:  # first sign-in: the second factor their role requires is set up first
            assert response.headers["Location"] == "/account/two-factor"
            assert client.get("/account/two-factor").status_code == 200
        else:
            assert client.get("/admin/").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 30

    second = runner.invoke(args=["crm", "bootstrap", "--demo-customers", "30"])
    assert second.exit_code == 0
    assert PASSWORD_LINE.findall(second.output) == []
    assert "Accounts exist already" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 30  # reused, not doubled
    assert sign_in(app.test_client(), "clerk", passwords["clerk"]).status_code == 302


@pytest.mark.parametrize("options, language", [((), re.compile(r"^[\u4e00-\u9fff]+$")),
                                               (("--locale", "en"), re.compile(r"^[A-Za-z' .-]+$"))])
def test_bootstrap_loads_the_demo_in_the_language_asked(app, options, language):
    """Does the first run load a Chinese demo by default (what ./run.sh shows), and an English one with --locale en?"""
    result = app.test_cli_runner().invoke(args=["crm", "bootstrap", "--demo-customers", "30", *options])
    assert result.exit_code == 0, result.output
    with app.app_context():
        names = db.session.scalars(select(Customer.name)).all()
    assert len(names) == 30 and all(language.search(name) for name in names), names


def test_create_user_refuses_a_weak_password(app):
    """Can an operator create an account with a password that breaks the policy?"""
    result = app.test_cli_runner().invoke(args=["crm", "create-user", "wang", "--role", "clerk", "--password-stdin"],
                                          input="short\n")
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_create_user_makes_an_account_that_can_sign_in(app):
    """Does `flask crm create-user` give a working account with the asked role?"""
    result = app.test_cli_runner().invoke(
        args=["crm", "create-user", "wang.fang", "--role", "supervisor", "--display-name", "王芳", "--password-stdin"],
        input="a sensible long passphrase\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "wang.fang"))
        assert [r.name for r in user.roles] == ["supervisor"] and user.display_name == "王芳"
    assert sign_in(app.test_client(), "wang.fang", "a sensible long passphrase").status_code == 302


def test_create_user_with_generate_prints_a_password_once(app):
    """Can an operator have a strong password generated instead of typing one?"""
    result = app.test_cli_runner().invoke(args=["crm", "create-user", "li", "--role", "auditor", "--generate"])
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown once\): (\S+)", result.output).group(1)
    assert sign_in(app.test_client(), "li", password).status_code == 302


def test_create_user_refuses_an_unknown_role(app):
    """Does a typo in a role name stop the command instead of creating a powerless account?"""
    result = app.test_cli_runner().invoke(args=["crm", "create-user", "x", "--role", "clerc", "--generate"])
    assert result.exit_code != 0 and "Unknown role" in result.output


def test_sync_roles_restores_the_built_in_permissions(app):
    """If someone strips the clerk role, does sync-roles put its shipped permissions back?"""
    with app.app_context():
        clerk = db.session.scalar(select(Role).where(Role.name == "clerk"))
        clerk.permissions = set()
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["crm", "sync-roles"])
    assert result.exit_code == 0 and "clerk" in result.output
    with app.app_context():
        clerk = db.session.scalar(select(Role).where(Role.name == "clerk"))
        assert clerk.permissions == BUILTIN_ROLES["clerk"][1]
