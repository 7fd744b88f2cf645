"""Match keys of every customer (customer_match) for finding duplicates

Normalised phone (E.164), e-mail, name (pinyin / sorted Latin words), company and address per customer, each
indexed, so the Duplicates screen groups by an index instead of comparing every customer with every other. The
rows are derived (crmadmin/matching.py keeps them after each flush); this revision fills them for the customers
already there.

Revision ID: d5e8a1c7f302
Revises: d88c0e90098a
Create Date: 2026-11-25 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5e8a1c7f302'
down_revision = 'd88c0e90098a'
branch_labels = None
depends_on = None

CHUNK = 5_000


def upgrade():
    op.create_table('customer_match',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('company', sa.String(length=255), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_match_customer_id_customer'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_match'))
    )
    with op.batch_alter_table('customer_match', schema=None) as batch_op:
        batch_op.create_index('ix_customer_match_address_name', ['address', 'name'], unique=False)
        batch_op.create_index('ix_customer_match_company_name', ['company', 'name'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_match_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_match_phone'), ['phone'], unique=False)
    _fill()


def _fill():
    """The keys of the customers already stored (the normalisation itself lives in crmadmin.matching)."""
    from crmadmin.matching import keys_for, region

    customer = sa.table("customer", *(sa.column(c) for c in ("id", "name", "mobile", "email", "company_name",
                                                            "address")))
    match = sa.table("customer_match", *(sa.column(c) for c in ("customer_id", "phone", "email", "name", "company",
                                                               "address")))
    connection = op.get_bind()
    after, code = 0, region()
    while True:
        rows = connection.execute(sa.select(customer.c.id, customer.c.name, customer.c.mobile, customer.c.email,
                                            customer.c.company_name, customer.c.address)
                                  .where(customer.c.id > after).order_by(customer.c.id).limit(CHUNK)).all()
        if not rows:
            return
        connection.execute(sa.insert(match), [keys_for(*row, code) for row in rows])
        after = rows[-1][0]


def downgrade():
    with op.batch_alter_table('customer_match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_match_phone'))
        batch_op.drop_index(batch_op.f('ix_customer_match_email'))
        batch_op.drop_index('ix_customer_match_company_name')
        batch_op.drop_index('ix_customer_match_address_name')
    op.drop_table('customer_match')
