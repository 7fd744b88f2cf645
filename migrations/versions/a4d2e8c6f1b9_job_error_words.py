"""A job's failure in the refusal's own words (an import or its undo refused: which row, which record), kept
untranslated as JSON so each reader sees it in their own language.

Revision ID: a4d2e8c6f1b9
Revises: a4d2c7e9f1b3
Create Date: 2026-12-07 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4d2e8c6f1b9'
down_revision = 'a4d2c7e9f1b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_words', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_column('error_words')
