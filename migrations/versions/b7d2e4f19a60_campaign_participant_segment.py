"""Campaign participants remember the segment that put them on the target list, for results per segment.

Revision ID: b7d2e4f19a60
Revises: f49cd8e64f4a
Create Date: 2026-11-25 09:30:00.000000

`segment` is a short label (NULL: added one by one, as every participant before this revision). The index on
(campaign_id, segment, response) lets a campaign's results per segment and response be counted from the index
alone; the one on segment serves the participant list's filter.
"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d2e4f19a60'
down_revision = 'f49cd8e64f4a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segment', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_campaign_participant_segment'), ['segment'], unique=False)
        batch_op.create_index('ix_campaign_participant_campaign_id_segment_response',
                              ['campaign_id', 'segment', 'response'], unique=False)


def downgrade():
    with op.batch_alter_table('campaign_participant', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_participant_campaign_id_segment_response')
        batch_op.drop_index(batch_op.f('ix_campaign_participant_segment'))
        batch_op.drop_column('segment')
