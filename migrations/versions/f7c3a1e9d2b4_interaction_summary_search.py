"""Search index for contacts' summaries: the Interactions list found by any part of a summary through an index

The Interactions list's search read every summary (`ILIKE '%term%'`): 7 to 10 s for a search by a customer's mobile
at three million contacts, as the summary is searched too. Same kind of index as the customers' (3c1f0e7a9b42): a
pg_trgm GIN index on PostgreSQL, an FTS5 trigram table kept in step by triggers on SQLite. See crmadmin/search.py.

Revision ID: f7c3a1e9d2b4
Revises: e3a9c5d27b14
Create Date: 2026-11-24 10:40:00.000000

"""
from alembic import op

from crmadmin import search

# revision identifiers, used by Alembic.
revision = 'f7c3a1e9d2b4'
down_revision = 'e3a9c5d27b14'
branch_labels = None
depends_on = None

INDEXED = {"interaction": ("summary",)}  # what this revision indexes, frozen here


def upgrade():
    search.create(op.get_bind(), INDEXED)


def downgrade():
    search.drop(op.get_bind(), INDEXED)
