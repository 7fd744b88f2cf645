"""Search indexes: customers found by any part of their name, mobile, e-mail or company through an index

The customer list's search read every row (`ILIKE '%term%'` over four columns, about 2 s at a million customers).
PostgreSQL gets the pg_trgm extension (trusted: the database owner may create it) and a trigram GIN index per
column, which answers ILIKE itself; SQLite gets an FTS5 table with the trigram tokenizer over the same columns,
kept in step with `customer` by triggers, and filled here from the rows there are. See crmadmin/search.py.

Revision ID: 3c1f0e7a9b42
Revises: a605617c85fc
Create Date: 2026-11-24 10:05:00.000000

"""
from alembic import op

from crmadmin import search

# revision identifiers, used by Alembic.
revision = '3c1f0e7a9b42'
down_revision = 'a605617c85fc'
branch_labels = None
depends_on = None

# what this revision indexes, frozen here: later revisions that index more say so themselves
INDEXED = {"customer": ("name", "mobile", "email", "company_name")}


def upgrade():
    search.create(op.get_bind(), INDEXED)


def downgrade():
    search.drop(op.get_bind(), INDEXED)
