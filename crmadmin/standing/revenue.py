"""Monthly revenue per owner and campaign (revenue_month), kept exact by adding each flush's differences.

A purchase added, edited, refunded, moved or deleted, or a customer given to another owner, changes a few cells
by what it adds and removes, in the flush's own transaction (an upsert that adds, so concurrent writers never
lose each other's amounts). `rebuild` recomputes the table from every paid purchase, for after bulk loads that
bypassed the session.
"""
from collections import defaultdict
from datetime import date

from sqlalchemy import BigInteger, event, func, insert, literal, literal_column, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..models import Customer, Money, RevenueMonth, Transaction
from .bulk import Clock

REVENUE = RevenueMonth.__table__
TRANSACTION = Transaction.__table__
CUSTOMER = Customer.__table__
MONEY = Money()
FIELDS = ("customer_id", "status", "amount", "occurred_at", "campaign_id", "currency")

Cell = tuple[int, date, int, str]  # owner (0: none), first of the month, campaign (0: none), currency


def _month(moment, local) -> date:
    wall = local(moment)
    return date(wall.year, wall.month, 1)


def _before_flush(session: Session, flush_context, instances) -> None:
    """What the database holds now for the purchases and owners this flush may change (the objects may not know)."""
    purchase_ids = [obj.id for obj in (*session.dirty, *session.deleted)
                    if isinstance(obj, Transaction) and obj.id is not None]
    customer_ids = [obj.id for obj in session.dirty if isinstance(obj, Customer) and obj.id is not None]
    before, owners = {}, {}
    if purchase_ids:
        before = {row.id: row._asdict() for row in session.connection().execute(
            select(TRANSACTION.c.id, *(TRANSACTION.c[name] for name in FIELDS))
            .where(TRANSACTION.c.id.in_(purchase_ids)))}
    if customer_ids:
        owners = dict(session.connection().execute(
            select(CUSTOMER.c.id, CUSTOMER.c.owner_id).where(CUSTOMER.c.id.in_(customer_ids))).all())
    session.info["revenue_before"], session.info["owners_before"] = before, owners


def differences(session: Session, local) -> dict[Cell, list]:
    """{cell: [cents, purchases]} to add for what this flush changed."""
    stored = session.info.pop("revenue_before", {})
    owners_before = session.info.pop("owners_before", {})
    purchases, moved = [], {}
    new, deleted = session.new, session.deleted  # each a new set: read once, not once per object (imports)
    for obj in (*new, *session.dirty, *deleted):
        if isinstance(obj, Transaction):
            before = stored.get(obj.id) if obj not in new else None
            after = None if obj in deleted else {name: getattr(obj, name) for name in FIELDS}
            purchases.append((before, after))
        elif isinstance(obj, Customer) and obj.id in owners_before and obj not in deleted:
            if owners_before[obj.id] != obj.owner_id:
                moved[obj.id] = (owners_before[obj.id], obj.owner_id)
    ids = {v["customer_id"] for pair in purchases for v in pair if v and v["customer_id"] is not None}
    owners = dict(session.connection().execute(
        select(CUSTOMER.c.id, CUSTOMER.c.owner_id).where(CUSTOMER.c.id.in_(ids))).all()) if ids else {}
    cells: dict[Cell, list] = defaultdict(lambda: [0, 0])
    changed_of_moved: dict[int, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0]))

    def add(values, sign, owner_of):
        if not values or values["status"] != "paid" or values["amount"] is None or values["occurred_at"] is None:
            return
        key = (_month(values["occurred_at"], local), values["campaign_id"] or 0, values["currency"])
        cents = MONEY.process_bind_param(values["amount"], None)  # as stored: integer cents, rounded alike
        customer = values["customer_id"]
        if customer in moved:  # counted below, with the whole of this customer's history
            cell = changed_of_moved[customer][key]
        else:
            cell = cells[(owner_of(customer) or 0, *key)]
        cell[0] += sign * cents
        cell[1] += sign

    for before, after in purchases:
        add(before, -1, owners.get)
        add(after, +1, owners.get)
    for customer_id, (old_owner, new_owner) in moved.items():
        # after the flush the customer holds these; before it they held these minus this flush's changes
        for month, campaign, currency, cents, count in _history_of(session.connection(), customer_id, local):
            cells[(new_owner or 0, month, campaign, currency)][0] += cents
            cells[(new_owner or 0, month, campaign, currency)][1] += count
            changed = changed_of_moved[customer_id].pop((month, campaign, currency), [0, 0])
            cells[(old_owner or 0, month, campaign, currency)][0] -= cents - changed[0]
            cells[(old_owner or 0, month, campaign, currency)][1] -= count - changed[1]
        for (month, campaign, currency), (cents, count) in changed_of_moved[customer_id].items():
            # changes that left nothing in a month: the old owner had what they removed
            cells[(old_owner or 0, month, campaign, currency)][0] += cents
            cells[(old_owner or 0, month, campaign, currency)][1] += count
    return {cell: value for cell, value in cells.items() if value != [0, 0]}


def _history_of(connection: Connection, customer_id: int, local) -> list[tuple]:
    """One customer's paid purchases as (month, campaign, currency, cents, count), months in the panel's zone."""
    grouped: dict[tuple, list] = defaultdict(lambda: [0, 0])
    for at, campaign, currency, cents in connection.execute(
            select(TRANSACTION.c.occurred_at, TRANSACTION.c.campaign_id, TRANSACTION.c.currency,
                   type_coerce(TRANSACTION.c.amount, BigInteger))
            .where(TRANSACTION.c.customer_id == customer_id, TRANSACTION.c.status == "paid")):
        cell = grouped[(_month(at, local), campaign or 0, currency)]
        cell[0] += cents
        cell[1] += 1
    return [(*key, *value) for key, value in grouped.items()]


def apply(connection: Connection, cells: dict[Cell, list]) -> None:
    """Add the differences to their cells, creating missing ones, in one statement per cell."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for (owner, month, campaign, currency), (cents, count) in sorted(cells.items()):
        stmt = dialect.insert(REVENUE).values(owner_id=owner, month=month, campaign_id=campaign, currency=currency,
                                              amount=type_coerce(literal(cents), BigInteger), purchases=count)
        connection.execute(stmt.on_conflict_do_update(
            index_elements=["owner_id", "month", "campaign_id", "currency"],
            set_={"amount": REVENUE.c.amount + type_coerce(stmt.excluded.amount, BigInteger),
                  "purchases": REVENUE.c.purchases + stmt.excluded.purchases}))


def rebuild(connection: Connection, zone_name: str, day: date) -> int:
    """Recompute the whole table from the paid purchases; returns the number of cells."""
    clock = Clock(connection, zone_name, day)
    t, c = TRANSACTION.c, CUSTOMER.c
    month = clock.month_start(t.occurred_at)
    grouped = (select(func.coalesce(c.owner_id, 0), month, func.coalesce(t.campaign_id, 0), t.currency,
                      func.sum(type_coerce(t.amount, BigInteger)), func.count())
               .select_from(TRANSACTION.join(CUSTOMER, CUSTOMER.c.id == t.customer_id))
               .where(t.status == "paid")
               .group_by(*(literal_column(str(n)) for n in range(1, 5))))  # by position: PostgreSQL sees the same
    connection.execute(REVENUE.delete())
    return connection.execute(
        insert(REVENUE).from_select(["owner_id", "month", "campaign_id", "currency", "amount", "purchases"], grouped),
        execution_options={"preserve_rowcount": True}).rowcount


def _after_flush(session: Session, flush_context) -> None:
    from .maintain import local  # the panel's zone, as the standing rules count days

    cells = differences(session, local)
    if cells:
        apply(session.connection(), cells)


def listen() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
