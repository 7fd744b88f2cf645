"""Index of the customers' one- and two-character pieces: a search by a two-character name through an index

A trigram index cannot answer a word of one or two characters, and a Chinese name is often two (吴军): such a search
read every customer, 1.4 s at a million. A GIN index over the pieces on PostgreSQL, a contentless FTS5 table of them
kept in step by triggers on SQLite. See crmadmin/pieces.py.

Revision ID: a1d4c7e9b2f6
Revises: f7c3a1e9d2b4
Create Date: 2026-11-24 12:00:00.000000

"""
from alembic import op

from crmadmin import pieces

# revision identifiers, used by Alembic.
revision = 'a1d4c7e9b2f6'
down_revision = 'f7c3a1e9d2b4'
branch_labels = None
depends_on = None

INDEXED = {"customer": ("name", "mobile", "email", "company_name")}  # what this revision indexes, frozen here


def upgrade():
    pieces.create(op.get_bind(), INDEXED)


def downgrade():
    pieces.drop(op.get_bind(), INDEXED)
