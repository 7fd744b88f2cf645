"""Selects that gather the inputs of the standing rules, for any set of customers (a few, or an id range)."""
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, select

from ..models import Customer, CustomerStanding, Interaction, Transaction

CUSTOMER = Customer.__table__
TRANSACTION = Transaction.__table__
INTERACTION = Interaction.__table__
STANDING = CustomerStanding.__table__
# A literal, not a bound parameter: SQLite uses the partial index of paid purchases only for a literal match.
PAID = TRANSACTION.c.status == literal_column("'paid'")


def customers(where) -> Select:
    return select(CUSTOMER.c.id, CUSTOMER.c.owner_id, CUSTOMER.c.follow_up_days, CUSTOMER.c.created_at).where(
        where(CUSTOMER.c.id))


def purchases(where, window_start: datetime, half_start: datetime, previous_start: datetime) -> Select:
    """Per customer: first and last paid purchase, their number, and paid amounts in the window and its halves."""
    t = TRANSACTION.c
    in_window = t.occurred_at >= window_start
    return (select(t.customer_id, func.min(t.occurred_at), func.max(t.occurred_at), func.count(),
                   func.sum(case((in_window, 1), else_=0)),
                   func.sum(case((in_window, t.amount), else_=0)),
                   func.sum(case((t.occurred_at >= half_start, t.amount), else_=0)),
                   func.sum(case((and_(t.occurred_at >= previous_start, t.occurred_at < half_start), t.amount),
                                 else_=0)))
            .where(PAID, where(t.customer_id)).group_by(t.customer_id))


def latest_contacts(where) -> Select:
    """Per customer, the latest interaction (ties: all of them; the caller keeps the highest id)."""
    i = INTERACTION.c
    latest = (select(i.customer_id, func.max(i.occurred_at).label("at"))
              .where(where(i.customer_id)).group_by(i.customer_id).subquery())
    return select(i.customer_id, i.id, i.occurred_at, i.next_follow_up_on).join(
        latest, and_(i.customer_id == latest.c.customer_id, i.occurred_at == latest.c.at))


def latest_contact(where) -> Select:
    """Per customer, their latest interaction: one row each, the highest id among equal times."""
    i = INTERACTION.c
    ranked = select(i.customer_id, i.id, i.occurred_at, i.next_follow_up_on, func.row_number().over(
        partition_by=i.customer_id, order_by=(i.occurred_at.desc(), i.id.desc())).label("n")
    ).where(where(i.customer_id)).subquery()
    return select(ranked.c.customer_id, ranked.c.id, ranked.c.occurred_at, ranked.c.next_follow_up_on).where(
        ranked.c.n == 1)


def standings(where) -> Select:
    return select(STANDING).where(where(STANDING.c.customer_id))


def id_range(low: int, high: int):
    """Customers low..high inclusive, as a condition on any customer id column."""
    return lambda column: column.between(low, high)


def id_in(ids) -> "callable":
    ids = sorted(ids)
    return lambda column: column.in_(ids)


def everyone(column) -> ColumnElement[bool]:
    return column.isnot(None)
