"""One password policy on every path that sets a password: the account page, the user screen, `crm create-user`."""
import pytest
from sqlalchemy import select

from crmadmin.auth.passwords import generate_password, policy_problems, verify_password
from crmadmin.extensions import db
from crmadmin.models import User
from tests import factories
from tests.conftest import sign_in
from tests.forms import csrf_token, submit

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}
# the account every rule is tried against: its names and e-mail address are what a password must not look like
NAMES = {"username": "li.qiang", "display_name": "Marketing Lead", "email": "mzhou@corp.example"}
# (password, the one rule it breaks in English, in Chinese)
RULES = [
    ("short", "Use at least 12 characters.", "密码至少需要 12 个字符。"),
    ("liqiang-2024", "The password is too similar to the user name.", "密码与用户名太相似。"),
    ("Marketinglead1", "The password is too similar to the display name.", "密码与显示名称太相似。"),
    ("mzhou.corp.ex1", "The password is too similar to the e-mail address.", "密码与电子邮箱地址太相似。"),
    ("iloveyou1234", "This password is too common.", "该密码过于常见。"),
    ("welcome12345", "This password is too common.", "该密码过于常见。"),
    ("358294017362", "The password must not be digits only.", "密码不能只有数字。"),
    ("abba-abba-baab", "Use at least 5 different characters.", "密码至少需要 5 个不同的字符。"),
    ("sup1sup1sup1sup1!", "The password must not be one short sequence repeated (like abcabcabc).",
     "密码不能是一小段字符的重复（如 abcabcabc）。"),
]
IDS = [password for password, _en, _zh in RULES]


def test_each_password_breaks_only_the_rule_it_is_named_for(app):
    """Does each rule refuse on its own, so the path tests below show that path applies that very rule?"""
    with app.test_request_context(headers=EN):
        for password, message, _zh in RULES:
            assert policy_problems(password, **NAMES) == [message], password


def test_the_password_from_the_issue_is_refused(app):
    """Is sup1sup1sup1 refused for the user sup1, and so are other short units repeated?"""
    with app.test_request_context(headers=EN):
        for password in ("sup1sup1sup1", "aaaaaaaaaaaa", "123123123123", "xyzxyzxyzxyz", "passwordpassword"):
            assert policy_problems(password, "sup1"), password


def test_the_tests_and_generated_passwords_pass(app):
    """Do the suite's password and a thousand generated ones pass the policy, whatever the user's names?"""
    with app.test_request_context(headers=EN):
        for role in ("administrator", "supervisor", "clerk", "auditor"):
            assert policy_problems(factories.PASSWORD, f"{role}1", role.capitalize(), f"{role}@example.com") == []
        assert all(policy_problems(generate_password("administrator", "Administrator"), "administrator",
                                   "Administrator") == [] for _ in range(1000))


def _stored_hash(app, username):
    with app.app_context():
        return db.session.scalar(select(User.password_hash).where(User.username == username))


@pytest.mark.parametrize("headers, language", [(EN, 1), (ZH, 2)], ids=["en", "zh_CN"])
@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_the_password_page_refuses_each_rule_in_the_users_language(app, snapshot, rule, headers, language):
    """Can a user choose a weak password on their own password page? Is the message in their language?"""
    with app.app_context():
        factories.user("clerk", **NAMES)
    client = app.test_client()
    assert sign_in(client, NAMES["username"]).status_code == 302
    rows = snapshot()
    page = client.get("/account/password", headers=headers)
    response = client.post("/account/password", headers=headers, data={
        "current_password": factories.PASSWORD, "new_password": rule[0], "confirm_password": rule[0],
        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 200
    assert rule[language] in response.get_data(as_text=True)
    assert snapshot() == rows


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_the_user_screen_refuses_each_rule_for_a_new_password(app, login_as, snapshot, rule):
    """Can an administrator set a weak password on someone's account?"""
    admin = login_as("administrator")
    with app.app_context():
        user = factories.user("clerk", **NAMES)
    rows = snapshot()
    response = submit(admin, f"/admin/user/edit/?id={user.id}", {"new_password": rule[0]}, headers=EN)
    assert rule[1] in response.get_data(as_text=True)
    assert snapshot() == rows


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_the_user_screen_refuses_each_rule_for_a_new_account(app, login_as, snapshot, rule):
    """Can an administrator create an account with a weak password, judged against the names typed in the form?"""
    admin = login_as("administrator")
    rows = snapshot()
    response = submit(admin, "/admin/user/new/", {**NAMES, "new_password": rule[0]}, headers=EN)
    assert rule[1] in response.get_data(as_text=True)
    assert snapshot() == rows


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_create_user_refuses_each_rule_from_stdin(app, snapshot, rule):
    """Can `flask crm create-user --password-stdin` make an account with a weak password?"""
    rows = snapshot()
    result = app.test_cli_runner().invoke(args=[
        "crm", "create-user", NAMES["username"], "--role", "clerk", "--display-name", NAMES["display_name"],
        "--email", NAMES["email"], "--password-stdin"], input=rule[0] + "\n")
    assert result.exit_code != 0
    assert rule[1] in result.output
    assert snapshot() == rows


def test_create_user_refuses_a_weak_password_typed_at_the_prompt(app, snapshot):
    """Is the prompted password judged by the same rules?"""
    rows = snapshot()
    result = app.test_cli_runner().invoke(args=["crm", "create-user", "sup1", "--role", "supervisor"],
                                          input="sup1sup1sup1\nsup1sup1sup1\n")
    assert result.exit_code != 0 and "one short sequence repeated" in result.output
    assert snapshot() == rows


def test_a_good_password_is_still_accepted_on_every_path(app, login_as):
    """With the stricter rules, do ordinary passphrases still work on the page, the screen and the command line?"""
    result = app.test_cli_runner().invoke(args=[
        "crm", "create-user", NAMES["username"], "--role", "clerk", "--display-name", NAMES["display_name"],
        "--email", NAMES["email"], "--password-stdin"], input="lantern orchard 7 pebbles\n")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert sign_in(client, NAMES["username"], "lantern orchard 7 pebbles").status_code == 302
    page = client.get("/account/password")
    response = client.post("/account/password", data={
        "current_password": "lantern orchard 7 pebbles", "new_password": "copper kettle on the hill",
        "confirm_password": "copper kettle on the hill", "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == NAMES["username"]))
    admin = login_as("administrator")
    assert submit(admin, f"/admin/user/edit/?id={user_id}", {"new_password": "quiet river 42 stones"}).status_code == 302
    with app.app_context():
        assert verify_password(_stored_hash(app, NAMES["username"]), "quiet river 42 stones")
