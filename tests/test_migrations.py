"""The schema comes from reviewed migrations, and the models say the same thing."""
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm.attributes import InstrumentedAttribute

from crmadmin import search
from crmadmin.admin.base import SecureModelView
from crmadmin.extensions import db
from crmadmin.models import Transaction, utcnow
from tests import factories


def test_models_and_migrations_agree(app):
    """After `flask db upgrade`, would autogenerate find anything to add, drop or alter?"""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True,
                                                               "include_object": search.include_object})
        assert compare_metadata(context, db.metadata) == []


def test_every_foreign_key_and_list_filter_has_an_index(app):
    """Is every foreign key column indexed, so joins and 'records of this customer' stay fast?"""
    with app.app_context():
        inspector = inspect(db.engine)
        missing = []
        for table in db.metadata.sorted_tables:
            indexed = {tuple(ix["column_names"])[0] for ix in inspector.get_indexes(table.name)}
            indexed |= {tuple(uc["column_names"])[0] for uc in inspector.get_unique_constraints(table.name)}
            indexed |= {inspector.get_pk_constraint(table.name)["constrained_columns"][0]}
            for fk in inspector.get_foreign_keys(table.name):
                if fk["constrained_columns"][0] not in indexed:
                    missing.append(f"{table.name}.{fk['constrained_columns'][0]}")
        assert missing == []


def test_money_is_stored_exactly(app):
    """Does 0.1 + 0.2 stay 0.30 in the database (no floating point), on SQLite too?"""
    with app.app_context():
        customer = factories.customer()
        for amount in ("0.10", "0.20", "19999999.99"):
            factories.transaction(customer, amount=Decimal(amount))
        total = db.session.scalar(select(func.sum(Transaction.amount)))
        assert total == Decimal("20000000.29")
        assert {t.amount for t in db.session.scalars(select(Transaction))} == {
            Decimal("0.10"), Decimal("0.20"), Decimal("19999999.99")}


def test_the_database_refuses_a_negative_amount_even_outside_the_forms(app):
    """Does the CHECK constraint hold when code bypasses the form validation?"""
    with app.app_context():
        customer = factories.customer()
        db.session.add(Transaction(customer_id=customer.id, product="x", quantity=1, amount=Decimal("-1"),
                                   occurred_at=utcnow(), channel="store", status="paid"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_the_database_refuses_an_unknown_status(app):
    """Is an enumeration enforced by the database, not just by the form?"""
    with app.app_context():
        customer = factories.customer()
        with pytest.raises((IntegrityError, StatementError)):
            db.session.execute(text("UPDATE customer SET lifecycle_stage = 'zombie' WHERE id = :id"), {"id": customer.id})
            db.session.commit()
        db.session.rollback()


def test_every_list_filter_and_sort_has_an_index_behind_it(app):
    """Would filtering or sorting any screen's list scan a whole table for want of an index?"""
    with app.app_context():
        inspector = inspect(db.engine)

        def leading_columns(table: str) -> set[str]:
            columns = {ix["column_names"][0] for ix in inspector.get_indexes(table)}
            columns |= {uc["column_names"][0] for uc in inspector.get_unique_constraints(table)}
            return columns | set(inspector.get_pk_constraint(table)["constrained_columns"][:1])

        missing = set()
        for view in app.extensions["admin"][0]._views:
            if not isinstance(view, SecureModelView):
                continue
            for column in [f.column for f in view._filters or []] + list((view._sortable_columns or {}).values()):
                column = column.property.columns[0] if isinstance(column, InstrumentedAttribute) else column
                if column.name not in leading_columns(column.table.name):
                    missing.add(f"{view.endpoint}: {column.table.name}.{column.name}")
        assert sorted(missing) == []


def pieces_objects() -> set[str]:
    """The index of pieces' objects: SQLite's tables and triggers, PostgreSQL's index and function."""
    if db.engine.dialect.name == "sqlite":
        listed = "SELECT name FROM sqlite_master WHERE name LIKE '%pieces%' OR name = 'search_numbers'"
    else:
        listed = ("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%pieces%' "
                  "UNION SELECT proname FROM pg_proc WHERE proname LIKE '%pieces%'")
    return set(db.session.scalars(text(listed)))


def test_the_index_of_pieces_goes_with_its_revision_and_comes_back_filled(app):
    """Does downgrading past the revision remove the index of pieces, and upgrading build it from the rows there are?"""
    with app.app_context():
        customer = factories.customer(name="吴军")
        present = pieces_objects()
        assert present, "the migrations built no index of pieces"
        db.session.commit()
        downgrade(revision="f7c3a1e9d2b4")
        assert pieces_objects() == set()
        upgrade()
        assert pieces_objects() == present
        dialect = db.engine.dialect.name
        assert db.session.scalars(search.matching_ids("customer", ["name"], "吴军", dialect)).all() == [customer.id]


def test_on_postgresql_the_searched_columns_keep_finer_statistics_with_their_revision(app):
    """A search's first step follows PostgreSQL's estimate of its rows, within 0.6 to 1.7 times the truth with 1,000
    entries a column, off by 20 with the default 100: do the columns of searched words have them, and lose them on
    downgrade?"""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite's planner keeps no histograms of these columns")

        def targets() -> dict:
            return dict(db.session.execute(text(
                "SELECT attrelid::regclass::text || '.' || attname, attstattarget FROM pg_attribute "
                "WHERE attrelid IN ('customer'::regclass, 'interaction'::regclass) AND attstattarget > 0")).all())

        searched = {"customer.name", "customer.email", "customer.company_name", "customer.address",  # not digits
                    "interaction.summary"}
        assert targets() == dict.fromkeys(searched, 1000)
        db.session.commit()
        downgrade(revision="a1d4c7e9b2f6")
        assert targets() == {}
        upgrade()
        assert targets() == dict.fromkeys(searched, 1000)


def test_the_undo_right_goes_to_the_built_in_administrators_with_its_revision(app):
    """On an existing database, does the upgrade give audit.undo to the built-in administrator role (and no other),
    keep a custom role's grant on the way, and does a downgrade take the right away again?"""
    from crmadmin.models import Role

    def holders() -> set[str]:
        found = set(db.session.scalars(text("SELECT r.name FROM role r JOIN role_permission p ON p.role_id = r.id "
                                            "WHERE p.permission = 'audit.undo'")))
        db.session.commit()  # no open read of `role` while a migration alters it (PostgreSQL would wait for ever)
        return found

    with app.app_context():
        db.session.add(Role(name="undoers", permissions={"customers.view", "audit.undo"}))
        db.session.commit()
        assert holders() == {"administrator", "undoers"}
        downgrade(revision="9e4b2d7a1c30")
        assert holders() == set()
        db.session.execute(text("INSERT INTO role_permission (role_id, permission) SELECT id, 'audit.undo' FROM role "
                                "WHERE name = 'undoers'"))  # granted again in the grid meanwhile
        db.session.commit()
        upgrade()
        assert holders() == {"administrator", "undoers"}
