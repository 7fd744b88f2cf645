"""The Simplified Chinese interface: a complete, compiled catalog, and pages that speak it.

When a test here fails after adding or changing a user-visible string, run scripts/i18n.sh,
translate the new empty msgstr entries in crmadmin/translations/zh_CN/LC_MESSAGES/messages.po,
and run scripts/i18n.sh again (it recompiles the .mo).
"""
import io
import re
import subprocess
import sys
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from tests.forms import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "crmadmin" / "translations"
PO = TRANSLATIONS / "zh_CN" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "zh_CN" / "LC_MESSAGES" / "messages.mo"
# the same keywords as scripts/i18n.sh (pybabel's defaults _, gettext, ngettext... come on top)
KEYWORDS = ["_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def _read_po(path: Path):
    with path.open("rb") as f:
        return read_po(f, abort_invalid=True)


def _ids(message) -> tuple:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple:
    return message.string if isinstance(message.string, tuple) else (message.string,)


@pytest.fixture(scope="module")
def catalog():
    return _read_po(PO)


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory):
    """What pybabel finds in crmadmin/ today, extracted exactly as scripts/i18n.sh does it."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    command = [sys.executable, "-c", "import sys; from babel.messages.frontend import main; sys.exit(main())",
               "-q", "extract", "-F", str(ROOT / "babel.cfg"), *keywords,
               "--ignore-dirs", ".* _* instance migrations tests docs scripts",
               "--no-location", "--sort-output", "-o", str(pot), str(ROOT)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with pot.open("rb") as f:
        extracted = read_po(f)
    return [m for m in extracted if m.id]


# --- the catalog ------------------------------------------------------------------------------

def test_every_msgid_has_a_chinese_translation_and_none_is_fuzzy(catalog):
    """Does every message of the zh_CN catalog have a non-empty, non-fuzzy translation?"""
    assert not catalog.fuzzy, "the catalog header is marked fuzzy: pybabel compile would skip the whole file"
    assert catalog.num_plurals == 1, "Chinese has one plural form (Plural-Forms: nplurals=1; plural=0;)"
    untranslated = [m.id for m in catalog if m.id and not all(s and s.strip() for s in _strings(m))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"{len(untranslated)} msgid(s) without a translation: {untranslated}"
    assert not fuzzy, f"fuzzy entries (check the translation, then remove the fuzzy flag): {fuzzy}"
    plurals = [m for m in catalog if m.id and m.pluralizable]
    assert all(len(_strings(m)) == 1 for m in plurals), "zh plural entries carry exactly msgstr[0]"


def test_translations_keep_every_placeholder(catalog):
    """Does every translation keep exactly the %(name)s / %(n)d placeholders of its msgid?"""
    wrong = []
    for m in catalog:
        if not m.id:
            continue
        wanted = sorted(set(PLACEHOLDER.findall(" ".join(_ids(m)))))
        for string in _strings(m):
            if sorted(set(PLACEHOLDER.findall(string))) != wanted:
                wrong.append((m.id, string))
    assert not wrong, f"placeholders changed in translation: {wrong}"
    problems = [(m.id, errors) for m, errors in catalog.check()]
    assert not problems, problems


def test_catalog_has_every_string_the_source_marks_for_translation(catalog, source_messages):
    """Is every string marked in crmadmin/ (Python and templates) in the zh_CN catalog?"""
    assert len(source_messages) > 100, "extraction found almost nothing: is babel.cfg still matching crmadmin/?"
    missing = [m.id if m.context is None else (m.context, m.id)
               for m in source_messages if catalog.get(m.id, m.context) is None]
    assert not missing, (f"{len(missing)} string(s) in crmadmin/ are not in the zh_CN catalog; "
                         f"run scripts/i18n.sh and translate them: {missing}")
    plural_mismatch = [m.id for m in source_messages if catalog.get(m.id, m.context).id != m.id]
    assert not plural_mismatch, f"singular/plural pairs differ from the source: {plural_mismatch}"


def test_extraction_settings_of_the_script_match_this_test():
    """Does scripts/i18n.sh extract with the keywords this suite checks against?"""
    script = (ROOT / "scripts" / "i18n.sh").read_text()
    for keyword in KEYWORDS:
        assert re.search(rf'-k "?{re.escape(keyword)}"?(\s|\))', script), keyword
    assert "--no-location" in script and "--sort-output" in script


def test_compiled_mo_is_up_to_date_with_the_po(catalog):
    """Is the committed messages.mo exactly what compiling the current messages.po gives?"""
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    with MO.open("rb") as f:
        committed = GNUTranslations(f)
    fresh = GNUTranslations(compiled)
    stale = sorted(k for k in set(fresh._catalog) | set(committed._catalog)
                   if fresh._catalog.get(k) != committed._catalog.get(k))
    assert not stale, f"messages.mo is stale (run scripts/i18n.sh); differing entries: {stale[:20]}"


def test_flask_babel_finds_the_catalog_under_the_locale_it_asks_for():
    """Does a lookup for "zh_CN" (which Babel parses as zh_Hans_CN) load our catalog?"""
    locale = Locale.parse("zh_CN")
    translations = Translations.load(str(TRANSLATIONS), [locale], "messages")
    assert isinstance(translations, Translations), f"no catalog found for {locale} under {TRANSLATIONS}"
    assert translations.gettext("Sign in") == "登录"
    assert translations.gettext("Customers") == "客户"


# --- the pages --------------------------------------------------------------------------------

def test_the_customer_list_speaks_chinese_to_a_chinese_browser(login_as):
    """With Accept-Language: zh-CN, does the customer list show Chinese labels and no English ones?"""
    client = login_as("clerk")
    html = client.get("/admin/customer/", headers=ZH).get_data(as_text=True)
    for chinese in ("客户", "交易记录", "生命周期阶段", "客户分级", "来源渠道", "负责人", "退出登录"):
        assert chinese in html, chinese
    for english in ("Customers", "Transactions", "Lifecycle stage", "Value tier", "Source channel", "Sign out"):
        assert english not in html, english


def test_the_customer_list_speaks_english_to_an_english_browser(login_as):
    """With Accept-Language: en, does the customer list stay in English?"""
    client = login_as("clerk")
    html = client.get("/admin/customer/", headers=EN).get_data(as_text=True)
    for english in ("Customers", "Transactions", "Lifecycle stage", "Value tier", "Source channel", "Sign out"):
        assert english in html, english
    for chinese in ("交易记录", "生命周期阶段", "客户分级", "退出登录"):
        assert chinese not in html, chinese


def test_each_list_row_shows_its_choices_in_the_viewers_language(app, login_as):
    """Are a choice's words in the list's cells (a customer's kind) translated for each page, in the language of that
    page, though a page translates each label only once?"""
    from tests import factories

    with app.app_context():
        names = {factories.customer(name=f"Kind {kind}", kind=kind).name: kind for kind in ("person", "company")}
    client = login_as("supervisor")
    chinese, english = {"person": "个人", "company": "企业"}, {"person": "Person", "company": "Company"}
    for headers, words in ((ZH, chinese), (EN, english), (ZH, chinese)):
        html = client.get("/admin/customer/?search=Kind", headers=headers).get_data(as_text=True)
        for name, kind in names.items():
            row = re.search(rf"<tr>(?:(?!</tr>).)*{name}(?:(?!</tr>).)*</tr>", html, re.S).group(0)
            assert re.search(f'<td class="col-kind"[^>]*>{words[kind]}</td>', row), (headers, row)


@pytest.mark.parametrize("headers, shown, hidden", [
    (ZH, ("登录", "用户名", "密码"), ("Sign in", "User name", "Password")),
    (EN, ("Sign in", "User name", "Password"), ("登录", "用户名")),
])
def test_the_login_page_follows_the_browser_language(client, headers, shown, hidden):
    """Does the login page speak the browser's language (Chinese for zh-CN, English for en)?"""
    html = client.get("/login", headers=headers).get_data(as_text=True)
    for text in shown:
        assert text in html, text
    for text in hidden:
        assert text not in html, text


# --- the language switch ----------------------------------------------------------------------

def test_the_language_switch_makes_later_pages_chinese_despite_an_english_browser(login_as):
    """After choosing 简体中文 in the navbar, are the next pages Chinese even with Accept-Language: en?"""
    client = login_as("clerk")
    page = client.get("/admin/customer/", headers=EN)
    assert "Customers" in page.get_data(as_text=True)
    response = client.post("/language", headers=EN, data={
        "language": "zh_CN", "next": "/admin/customer/", "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/customer/")
    html = client.get("/admin/customer/", headers=EN).get_data(as_text=True)
    assert "客户" in html and "生命周期阶段" in html and "退出登录" in html
    assert "Lifecycle stage" not in html and "Sign out" not in html
    assert "欢迎您" in client.get("/admin/", headers=EN).get_data(as_text=True)


def test_the_language_switch_works_before_signing_in(client):
    """Can a visitor switch the login page to Chinese, and back to English, from its own switch form?"""
    page = client.get("/login", headers=EN)
    token = csrf_token(page.get_data(as_text=True))
    response = client.post("/language", headers=EN, data={"language": "zh_CN", "next": "/login", "csrf_token": token})
    assert response.status_code == 302
    assert "登录" in client.get("/login", headers=EN).get_data(as_text=True)
    response = client.post("/language", headers=ZH, data={"language": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 302
    html = client.get("/login", headers=ZH).get_data(as_text=True)
    assert "Sign in" in html and "登录" not in html


def test_a_language_switch_without_csrf_token_is_refused_and_changes_nothing(login_as):
    """Is a POST /language without CSRF token refused (400), leaving the pages in English?"""
    client = login_as("clerk")
    response = client.post("/language", headers=EN, data={"language": "zh_CN", "next": "/admin/customer/"})
    assert response.status_code == 400
    html = client.get("/admin/customer/", headers=EN).get_data(as_text=True)
    assert "Customers" in html and "Sign out" in html
    assert "生命周期阶段" not in html and "退出登录" not in html


def test_an_unknown_language_is_refused(client):
    """Is a switch to a language the panel does not offer refused (400)?"""
    page = client.get("/login", headers=EN)
    response = client.post("/language", headers=EN, data={
        "language": "fr", "next": "/login", "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 400
    assert "Sign in" in client.get("/login", headers=EN).get_data(as_text=True)


@pytest.mark.parametrize("headers, shown, hidden", [(ZH, "保存记录失败。", "Failed to save record."),
                                                    (EN, "Failed to save record.", "保存记录失败。")])
def test_flask_admins_own_failure_message_speaks_the_readers_language(app, login_as, snapshot, headers, shown, hidden):
    """Does an edit that fails validation say Flask-Admin's "Failed to save record." in the reader's language (its
    wheel's zh catalogue lacks it), and save nothing?"""
    from tests import factories

    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer()
    form = client.get(f"/admin/customer/edit/?id={customer.id}", headers=headers).get_data(as_text=True)
    before = snapshot()
    page = client.post(f"/admin/customer/edit/?id={customer.id}", headers=headers,
                       data={"csrf_token": csrf_token(form), "name": ""}).get_data(as_text=True)
    assert shown in page and hidden not in page
    assert snapshot() == before


def test_the_page_size_menu_speaks_chinese(login_as):
    """Does the page size menu of a list read 每页 20 条 for a Chinese browser, not "20 items"?"""
    page = login_as("clerk").get("/admin/customer/", headers=ZH).get_data(as_text=True)
    assert "每页 50 条" in page and "50 items" not in page and "项目" not in page
