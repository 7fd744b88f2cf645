"""Search by address: customers found by any part of their address, as by their name, phone, e-mail or company

The handbooks' fuzzy search (模糊查询) covers a customer's address (浦东新区, 南京路, "Baker Street"); the customer
list did not search it. The address joins the customers' searched fields in every index of them (crmadmin/search.py,
crmadmin/pieces.py): on PostgreSQL a trigram GIN index of its own, the document index and the index of pieces built
again over five fields, and its statistics at 1,000 entries like the other fields of words (c5e8a2f4d1b7); on SQLite
the FTS5 trigram table and the table of pieces made again with an address column and filled from the rows there are,
their triggers following the address too. At a million customers this takes a few minutes (docs/PERFORMANCE.md),
during which `customer` takes no writes.

Revision ID: d3f1a8c6b5e2
Revises: c9e1f4a7b2d6
Create Date: 2026-12-07 14:00:00.000000

"""
from alembic import op

from crmadmin import fts5, pieces, search

# revision identifiers, used by Alembic.
revision = 'd3f1a8c6b5e2'
down_revision = 'c9e1f4a7b2d6'
branch_labels = None
depends_on = None

# the customers' searched fields before and after this revision, frozen here
BEFORE = {"customer": ("name", "mobile", "email", "company_name")}
AFTER = {"customer": ("name", "mobile", "email", "company_name", "address")}
STATISTICS = 1000


def _index(fields: dict) -> None:
    """Every index of the customers' searched fields, built again over `fields` from the rows there are."""
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # an FTS5 table's columns are fixed: the tables and their triggers go, and come back with the fields
        fts5.drop(conn, "search_customer")
        fts5.drop(conn, "search_customer_pieces")
        search.create(conn, fields)
        pieces.create(conn, fields)
    elif conn.dialect.name == "postgresql":
        for name in set(BEFORE["customer"]) ^ set(AFTER["customer"]):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS ix_search_customer_{name}")
        search.create(conn, fields)  # the address's own trigram index (the others are there: IF NOT EXISTS)
        search.drop_documents(conn, fields)
        search.create_documents(conn, fields)
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_search_customer_pieces")
        pieces.create(conn, fields)
        target = STATISTICS if "address" in fields["customer"] else -1
        conn.exec_driver_sql(f"ALTER TABLE customer ALTER COLUMN address SET STATISTICS {target}")
        conn.exec_driver_sql("ANALYZE customer")


def upgrade():
    _index(AFTER)


def downgrade():
    _index(BEFORE)
