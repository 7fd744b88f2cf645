"""Finding likely duplicate customers: hand-built pairs that must be found, and look-alikes that must not."""
import pytest

from crmadmin import duplicates
from crmadmin.extensions import db
from crmadmin.matching import email_key, name_key, phone_key, place_key
from crmadmin.models import CustomerMatch
from tests import factories


def _groups(app, owner_id=None, sections=duplicates.SECTIONS, limit=50):
    with app.app_context():
        page = duplicates.find(db.session, owner_id, sections, None, limit)
        return [(g.section, sorted(g.ids), g.same_name, g.confidence) for g in page.groups]


def _pairs(app, **kw) -> set:
    return {(section, tuple(ids)) for section, ids, _same, _confidence in _groups(app, **kw)}


def test_the_keys_read_a_phone_however_it_was_typed():
    """Are a national, a spaced and an international mobile the same key, and an unreadable one none?"""
    assert phone_key("138 1234 5678") == phone_key("+86 138-1234-5678") == phone_key("(0086) 13812345678") \
        == "+8613812345678"
    assert phone_key("call me") is None and phone_key("") is None
    assert email_key("  Wang.Wei@Example.COM ") == "wang.wei@example.com"
    assert name_key("王小明") == name_key("王晓明") == name_key(" 王 小明 ") == "wangxiaoming"
    assert name_key("Wang, Xiaoming") == name_key("xiaoming WANG") == name_key("王小明")
    assert place_key("北京星辰科技有限公司") == place_key("北京 星辰科技 有限公司 ")
    assert place_key("ＡＣＭＥ Inc.") == "acmeinc"


def test_same_mobile_in_different_formats_is_found_first(app):
    """Are two customers whose mobiles differ only in spacing and +86 one group, reasoned "same mobile"?"""
    with app.app_context():
        a = factories.customer(name="李雷", mobile="13912345678", email=None)
        b = factories.customer(name="Li Lei", mobile="+86 139 1234 5678", email=None)
        factories.customer(name="韩梅梅", mobile="13912345679", email=None)  # one digit apart: someone else
    found = _groups(app)
    assert found[0][:2] == ("phone", sorted([a.id, b.id]))
    assert found[0][3] == 100
    assert len([g for g in found if g[0] == "phone"]) == 1


def test_same_email_in_another_case_is_found(app):
    """Is an e-mail typed in capitals with spaces around the same as in lower case?"""
    with app.app_context():
        a = factories.customer(email="zhang.san@example.com")
        b = factories.customer(email=" Zhang.San@EXAMPLE.com ")
        factories.customer(email="zhang.san@example.org")
    assert _pairs(app) == {("email", tuple(sorted([a.id, b.id])))}


def test_similar_chinese_names_at_the_same_company_are_found(app):
    """Are 王小明 and 王晓明 (a homophone slip of the input method) at one company found, with the company's name
    written differently?"""
    with app.app_context():
        a = factories.customer(name="王小明", company_name="北京星辰科技有限公司")
        b = factories.customer(name="王晓明", company_name="北京 星辰科技有限公司")
        factories.customer(name="王芳", company_name="北京星辰科技有限公司")  # a colleague, not a duplicate
    assert _pairs(app) == {("company", tuple(sorted([a.id, b.id])))}
    [(_section, _ids, same_name, confidence)] = _groups(app)
    assert same_name and confidence < 95  # below the exact keys


def test_a_typo_in_a_latin_name_at_the_same_address_is_found(app):
    """Are "Jonathan Smith" and "Smith, Johnathan" at one address found as a similar (not the same) name?"""
    with app.app_context():
        a = factories.customer(name="Jonathan Smith", address="12 High Street, Leeds")
        b = factories.customer(name="Smith, Johnathan", address="12 high street leeds")
    assert _groups(app) == [("address", sorted([a.id, b.id]), False, pytest.approx(82, abs=3))]


def test_look_alikes_that_are_not_duplicates_are_not_reported(app):
    """Same name at different companies, different names at one company, near-identical phones: nothing found?"""
    with app.app_context():
        factories.customer(name="张伟", company_name="上海甲公司", address="上海市浦东新区1号")
        factories.customer(name="张伟", company_name="深圳乙公司", address="深圳市南山区2号")
        factories.customer(name="王伟", company_name="杭州丙公司")
        factories.customer(name="王文", company_name="杭州丙公司")
        factories.customer(name="Anna Lee", company_name="Acme")
        factories.customer(name="Hanna Li", company_name="Acme Trading")
        factories.customer(mobile="+8613700000001")
        factories.customer(mobile="+8613700000002")
    assert _groups(app) == []


def test_three_spellings_of_one_name_make_one_group(app):
    """Do three files of one person at one company come out as one group, not three pairs?"""
    with app.app_context():
        ids = sorted(factories.customer(name=n, company_name="Acme").id for n in ("Li Na", "李娜", "LI NA"))
    assert _pairs(app) == {("company", tuple(ids))}


def test_keys_follow_every_change_of_the_customer(app):
    """When a mobile is corrected, or a customer deleted, do the match keys follow in the same transaction?"""
    with app.app_context():
        customer = factories.customer(mobile="13800001111")
        customer = db.session.merge(customer)
        customer.mobile = "+8613900002222"
        db.session.commit()
        assert db.session.get(CustomerMatch, customer.id).phone == "+8613900002222"
        db.session.delete(customer)
        db.session.commit()
        assert db.session.get(CustomerMatch, customer.id) is None


def test_a_scoped_user_finds_only_duplicates_among_their_own_customers(app):
    """A role limited to its own customers: does it see a pair only when it owns both?"""
    with app.app_context():
        mine, theirs = factories.user("clerk"), factories.user("clerk")
        a = factories.customer(mobile="13611112222", owner_id=mine.id)
        b = factories.customer(mobile="136 1111 2222", owner_id=mine.id)
        factories.customer(mobile="+86 136-1111-2222", owner_id=theirs.id)
        factories.customer(email="x@example.com", owner_id=mine.id)
        factories.customer(email="X@example.com", owner_id=theirs.id)
    assert _pairs(app, owner_id=mine.id) == {("phone", tuple(sorted([a.id, b.id])))}
    assert len(_pairs(app)) == 2  # unscoped: the three phones and the two e-mails


def test_pages_walk_every_group_once_in_order_of_confidence(app):
    """With more groups than a page, does following "next" show each group once, phones before names?"""
    with app.app_context():
        for n in range(5):
            factories.customer(mobile=f"1350000{n:04d}", email=None)
            factories.customer(mobile=f"+86 1350000{n:04d}", email=None)
        for n in range(4):
            factories.customer(name=f"客户{n}号", company_name=f"公司{n}")
            factories.customer(name=f"客户 {n} 号", company_name=f"公司 {n}")
        seen, cursor = [], None
        while True:
            page = duplicates.find(db.session, None, duplicates.SECTIONS, cursor, limit=3)
            seen += [(g.section, tuple(g.ids)) for g in page.groups]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 9
    assert [s for s, _ in seen] == ["phone"] * 5 + ["company"] * 4
