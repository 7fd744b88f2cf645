"""Index of one- and two-character pieces: customers and contacts found by a two-character name or word

A trigram index cannot answer a word of one or two characters, and a Chinese name or word is often two (吴军, 退款):
such a search read every customer (1.1 to 2.2 s at a million) or every summary (5.5 s at three million). A GIN index
over the pieces on PostgreSQL, a contentless FTS5 table of them kept in step by triggers on SQLite, for the customers'
name, mobile, e-mail and company and the contacts' summaries. See crmadmin/pieces.py.

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

INDEXED = {"customer": ("name", "mobile", "email", "company_name"), "interaction": ("summary",)}  # frozen here


def upgrade():
    pieces.create(op.get_bind(), INDEXED)


def downgrade():
    pieces.drop(op.get_bind(), INDEXED)
