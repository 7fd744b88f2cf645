"""Search by address (issue 27: the handbooks' 模糊查询 covers name, phone, e-mail and address): a customer is found by
any part of their address, through the same indexes as their other fields, and no longer once it changes or is erased."""
import html
import re

import pytest
from sqlalchemy import text

from crmadmin import search
from crmadmin.extensions import db
from crmadmin.models import Customer
from tests import factories
from tests.forms import submit
from tests.pages import listed_ids
from tests.test_merge import family, post_merge

PUDONG = "上海市浦东新区世纪大道100号"
NANJING = "上海市黄浦区南京路步行街8号"
BAKER = "221B Baker Street, London"
ZH, EN = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}


@pytest.fixture
def addresses(app):
    """Three customers whose name, mobile, e-mail and company hold none of the address words searched below."""
    with app.app_context():
        return {"pudong": factories.customer(name="张伟", company_name="星辰科技", address=PUDONG).id,
                "nanjing": factories.customer(name="李娜", address=NANJING).id,
                "baker": factories.customer(name="Anna Holmes", address=BAKER).id,
                "none": factories.customer(name="王芳", address=None).id}


@pytest.mark.parametrize("common", [False, True], ids=["rare: through the index", "common: over the rows"])
@pytest.mark.parametrize("term, found", [
    ("浦东新区", {"pudong"}), ("南京路", {"nanjing"}), ("世纪大道100", {"pudong"}),
    ("浦东", {"pudong"}), ("黄浦", {"nanjing"}), ("上海", {"pudong", "nanjing"}), ("浦", {"pudong", "nanjing"}),
    ("baker street", {"baker"}), ("BAKER", {"baker"}), ("london", {"baker"}), ("221b", {"baker"}),
    ("上海市 南京路", {"nanjing"}), ("浦东 南京路", set()), ("paris", set())])
def test_a_customer_is_found_by_a_fragment_of_their_address(app, addresses, login_as, monkeypatch, term, found,
                                                            common):
    """Does the customer list find a customer by part of their address, Chinese (two characters and one included) or
    English in any case, both ways a search is answered, and no one whose address lacks a word?"""
    monkeypatch.setattr(search, "COMMON", 1 if common else 5000)
    client = login_as("administrator")
    assert listed_ids(client, f"/admin/customer/?search={term}") == {addresses[k] for k in found}


@pytest.mark.parametrize("term, found", [("张伟 浦东新区", {"pudong"}), ("张伟 浦东", {"pudong"}), ("星辰 南京路", set()),
                                         ("anna london", {"baker"}), ("holmes 上海", set()), ("李娜 上海市", {"nanjing"}),
                                         ("星辰科技 世纪大道", {"pudong"})])
def test_a_name_and_part_of_an_address_must_both_be_in_the_customer(app, addresses, login_as, term, found):
    """Are a name and an address word combined as any two words are: each in some field of the same customer?"""
    client = login_as("administrator")
    assert listed_ids(client, f"/admin/customer/?search={term}") == {addresses[k] for k in found}


def test_the_address_is_looked_up_in_the_index_not_read_row_by_row(app, addresses, login_as, count_queries):
    """Is an address word answered by the search indexes (FTS5 on SQLite, trigram GIN on PostgreSQL) and a
    two-character one by the index of pieces, never by a LIKE over every customer?"""
    client = login_as("administrator")
    for term, index in (("浦东新区", "search_customer MATCH"), ("浦东", "search_customer_pieces MATCH")):
        with count_queries() as statements:
            assert listed_ids(client, f"/admin/customer/?search={term}") == {addresses["pudong"]}
        page = next(s for s in statements if "ORDER BY" in s and "FROM customer" in s)
        with app.app_context():
            sqlite = db.engine.dialect.name == "sqlite"
        if sqlite:
            assert any(index in s for s in statements) and "LIKE" not in page.upper(), (statements, page)
        else:
            assert "customer.id = ANY (" in page and "LIKE" not in page.upper(), page
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # a handful of rows: show the index can answer
            plan = " ".join(conn.execute(text("EXPLAIN SELECT id FROM customer WHERE address LIKE :p"),
                                         {"p": "%浦东新区%"}).scalars())
            assert "ix_search_customer_address" in plan, plan


def test_a_changed_address_is_found_by_its_new_words_only(app, addresses, login_as):
    """After an address is changed through the form, or by plain SQL, does the search find the new words and not the
    old ones?"""
    client = login_as("administrator")
    response = submit(client, f"/admin/customer/edit/?id={addresses['pudong']}", {"address": "北京市海淀区中关村大街1号"})
    assert response.status_code == 302
    assert listed_ids(client, "/admin/customer/?search=浦东新区") == set()
    assert listed_ids(client, "/admin/customer/?search=浦东") == set()
    assert listed_ids(client, "/admin/customer/?search=中关村") == {addresses["pudong"]}
    assert listed_ids(client, "/admin/customer/?search=海淀") == {addresses["pudong"]}
    with app.app_context():
        db.session.execute(text("UPDATE customer SET address = NULL WHERE id = :id"), {"id": addresses["baker"]})
        db.session.commit()
    assert listed_ids(client, "/admin/customer/?search=baker street") == set()
    assert listed_ids(client, "/admin/customer/?search=Holmes") == {addresses["baker"]}  # the rest still there


def test_an_erased_address_is_no_longer_found(app, addresses, login_as):
    """After the customer's personal data is erased, does a search for their address, or part of it, find nothing?"""
    client = login_as("supervisor")
    response = submit(client, f"/admin/personaldata/erase/?id={addresses['nanjing']}",
                      {"received_on": "2026-11-20", "channel": "email", "confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Customer, addresses["nanjing"]).address is None
    for term in ("南京路", "南京", "黄浦区", "步行街8号", "上海市 南京路"):
        assert listed_ids(client, f"/admin/customer/?search={term}") == set(), term
    assert listed_ids(client, "/admin/customer/?search=上海") == {addresses["pudong"]}


def test_a_merged_address_is_found_on_the_customer_kept(app, login_as):
    """When a merge fills the kept customer's empty address from the duplicate's, does the search find the kept
    customer by it, and not the duplicate, which is gone?"""
    keep, dup, *_ = family(app)
    client = login_as("supervisor")
    assert listed_ids(client, "/admin/customer/?search=徐汇区") == {dup.id}
    assert post_merge(client, [keep.id, dup.id]).status_code == 302
    assert listed_ids(client, "/admin/customer/?search=徐汇区") == {keep.id}
    assert listed_ids(client, "/admin/customer/?search=徐汇") == {keep.id}


def test_a_clerk_finds_only_their_own_customers_by_address(app, login_as):
    """Two customers on one street, one of them the clerk's: does an address search show the clerk only their own, on
    the list, in the customer picker and on the transactions list?"""
    client = login_as("clerk")
    with app.app_context():
        owner = db.session.scalar(text('SELECT id FROM "user" WHERE username = :u'), {"u": client.username})
        own = factories.customer(name="赵敏", address="杭州市西湖区文三路1号", owner_id=owner)
        other = factories.customer(name="钱多多", address="杭州市西湖区文三路2号")
        bought = factories.transaction(own).id
        factories.transaction(other)
    for term in ("文三路", "西湖", "西湖区 文三路"):
        assert listed_ids(client, f"/admin/customer/?search={term}") == {own.id}, term
    assert listed_ids(client, "/admin/transaction/?search=文三路") == {bought}
    picked = client.get("/admin/transaction/ajax/lookup/", query_string={"name": "customer", "query": "文三路"})
    assert [row[0] for row in picked.get_json()] == [own.id]


def test_the_lists_that_search_a_customer_find_them_by_address(app, addresses, login_as):
    """Do the purchases, contacts, complaints and surveys lists, which search their customer's name and mobile, find
    the customer's records by part of the address too, and does the customer picker of a form?"""
    with app.app_context():
        pudong = db.session.get(Customer, addresses["pudong"])
        other = db.session.get(Customer, addresses["baker"])
        records = {"transaction": factories.transaction(pudong).id, "interaction": factories.interaction(pudong).id,
                   "complaint": factories.complaint(pudong).id, "survey": factories.survey(pudong).id}
        for make in (factories.transaction, factories.interaction, factories.complaint, factories.survey):
            make(other)
    client = login_as("administrator")
    for endpoint, record in records.items():
        assert listed_ids(client, f"/admin/{endpoint}/?search=浦东新区") == {record}, endpoint
        assert listed_ids(client, f"/admin/{endpoint}/?search=浦东") == {record}, endpoint
    picked = client.get("/admin/transaction/ajax/lookup/", query_string={"name": "customer", "query": "baker street"})
    assert [row[0] for row in picked.get_json()] == [addresses["baker"]]


def test_the_customer_picker_searches_like_the_list(app, addresses, login_as):
    """Does a form's customer picker find a customer by words in different fields, by a two-character name, and read
    `%` and `_` as themselves, as the customer list's search does (through the index, not a scan of every customer)?"""
    with app.app_context():
        percent = factories.customer(name="100% 纯棉服饰", address=None).id
        factories.customer(name="1000 纯棉服饰", address=None)
        underscore = factories.customer(name="a_b 贸易", address=None).id
        factories.customer(name="axb 贸易", address=None)
    client = login_as("administrator")

    def picked(term: str) -> set[int]:
        response = client.get("/admin/transaction/ajax/lookup/", query_string={"name": "customer", "query": term})
        assert response.status_code == 200, term
        return {row[0] for row in response.get_json()}

    assert picked("张伟 浦东") == {addresses["pudong"]}  # a name and an address word: no single field holds both
    assert picked("张伟") == {addresses["pudong"]}
    assert picked("holmes baker") == {addresses["baker"]}
    assert picked("100%") == {percent} and picked("a_b") == {underscore}
    assert picked("张伟 南京路") == set()


@pytest.mark.parametrize("headers, words", [(ZH, ("地址", "客户地址", "名称、电话、电子邮件或地址")),
                                            (EN, ("Address", "Customer's address", "name, phone, email or address"))])
def test_the_search_box_says_the_address_is_searched(app, login_as, headers, words):
    """Do the customer list's search box, the purchases list's and the customer picker say, in the reader's
    language, that the address is searched too?"""
    client = login_as("administrator")
    placeholder = re.compile(r'<input[^>]*name="search"[^>]*placeholder="([^"]*)"|'
                             r'<input[^>]*placeholder="([^"]*)"[^>]*name="search"')

    def search_box(url: str) -> str:
        found = placeholder.search(client.get(url, headers=headers).get_data(as_text=True))
        assert found, url
        return html.unescape(found.group(1) or found.group(2))

    assert words[0] in search_box("/admin/customer/")
    assert words[1] in search_box("/admin/transaction/")
    form = html.unescape(client.get("/admin/transaction/new/", headers=headers).get_data(as_text=True))
    assert words[2] in form


def _search_objects() -> set[str]:
    """The customers' search objects that hold the address: SQLite's columns of its FTS5 tables, PostgreSQL's
    indexes (and the definitions of those that hold several fields)."""
    if db.engine.dialect.name == "sqlite":
        return {f"{table}.{name}" for table in ("search_customer", "search_customer_pieces")
                for name in db.session.scalars(text(f"SELECT name FROM pragma_table_info('{table}')"))}
    return set(db.session.scalars(text(
        "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE tablename = 'customer' "
        "AND indexname LIKE 'ix_search_%'")))


def test_the_address_goes_into_the_search_indexes_with_its_revision_and_comes_back_filled(app):
    """Does downgrading past the revision take the address out of every search index, keeping the other fields
    searchable, and does upgrading put it back, filled from the customers there are?"""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        dialect = db.engine.dialect.name
        customer = factories.customer(name="吴军", address=PUDONG).id
        present = _search_objects()
        assert {o for o in present if "address" in o}, present
        db.session.commit()
        downgrade(revision="b4d8f2a6c913")
        assert {o for o in _search_objects() if "address" in o} == set()
        for columns, term in ((["name"], "吴军"), (["name", "mobile", "email", "company_name"], "吴军")):
            assert db.session.scalars(search.matching_ids("customer", columns, term, dialect)).all() == [customer]
        db.session.execute(text("UPDATE customer SET name = '吴军军' WHERE id = :id"), {"id": customer})
        db.session.commit()  # the triggers left by the downgrade still follow the other fields
        assert db.session.scalars(search.matching_ids("customer", ["name"], "吴军军", dialect)).all() == [customer]
        db.session.commit()  # the upgrade rebuilds the indexes, which waits for every reader of the table
        upgrade()
        assert _search_objects() == present
        for term in ("浦东新区", "浦东", "吴军军"):
            assert db.session.scalars(search.matching_ids("customer", search.INDEXED["customer"], term,
                                                          dialect)).all() == [customer], term
