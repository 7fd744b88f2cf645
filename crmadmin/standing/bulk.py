"""The full refresh as set-based SQL: the rules of rules.py evaluated by the database, a range of customers a statement.

Evaluating the rules in Python costs ~150 µs a customer (fetching, converting, comparing), so a million customers
took minutes; the same rules as SQL expressions run inside the database in seconds. The live path keeps the Python
rules (a flush touches a few customers); tests/test_standing_bulk.py proves that both give identical rows.

Times: the rules count whole days in the panel's time zone, so every stored UTC timestamp is shifted by the zone's
offset at that instant (a CASE over the zone's transitions, usually none or two a year) before taking its date.
Money is integer cents in both databases, so amounts compare exactly.
"""
import math
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import (BigInteger, Column, Date, DateTime, Enum, Float, Integer, MetaData, String, Table, and_,
                        case, cast, false, func, insert, literal, literal_column, null, or_, select, true,
                        type_coerce, update)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select, operators
from sqlalchemy.sql.expression import UnaryExpression

from .. import planner
from ..models import CustomerStanding, StandingChange, utcnow
from . import figures as q
from .rules import Rules

STANDING = CustomerStanding.__table__
CHANGE = StandingChange.__table__
DERIVED = ("owner_id", "first_purchase_at", "last_purchase_at", "purchase_count", "window_count", "window_amount",
           "recent_amount", "previous_amount", "tier", "stage", "last_contact_at", "last_interaction_id",
           "next_follow_up_on", "due_set_by_contact", "rescheduled_to")
ORDINAL_JULIAN = 1721424.5  # julianday() of the day before 0001-01-01, so SQLite dates become date.toordinal()
SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US

# The computed standings of one range, before they are compared with the stored ones.
_meta = MetaData()
FRESH = Table(
    "standing_refresh", _meta,
    Column("customer_id", Integer, primary_key=True),
    *(Column(c.name, String(16) if isinstance(c.type, Enum) else c.type) for c in STANDING.c if c.name in DERIVED),
    Column("seen_updated_at", DateTime), Column("seen_tier", String(16)), Column("seen_stage", String(16)),
    prefixes=["TEMPORARY"],
)


@lru_cache(maxsize=16)
def transitions(zone_name: str, until_year: int) -> tuple[tuple[datetime, int], ...]:
    """(UTC instant, offset in seconds from then on), newest first, from 1970 to the end of `until_year`."""
    zone = ZoneInfo(zone_name)

    def offset(moment: datetime) -> int:
        return int(moment.replace(tzinfo=timezone.utc).astimezone(zone).utcoffset().total_seconds())

    found = [(datetime(1970, 1, 1), offset(datetime(1970, 1, 1)))]
    moment, end = datetime(1970, 1, 1), datetime(until_year + 1, 1, 1)
    while moment < end:
        step = moment + timedelta(days=1)
        if offset(step) != found[-1][1]:
            low, high = moment, step  # the change lies in (low, high]: bisect to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == found[-1][1]:
                    low = middle
                else:
                    high = middle
            found.append((high.replace(microsecond=0), offset(high)))
        moment = step
    return tuple(reversed(found))


class Clock:
    """SQL for whole days and elapsed time in the panel's zone, in the dialect of one connection."""

    def __init__(self, connection: Connection, zone_name: str, day: date):
        self.sqlite = connection.dialect.name == "sqlite"
        self.today = day.toordinal()
        self.changes = transitions(zone_name, day.year + 1)

    def offset(self, column):
        """The zone's offset in seconds at a stored UTC instant."""
        if len(self.changes) == 1:
            return literal(self.changes[0][1], Integer)
        whens = [(column >= literal(at, DateTime), seconds) for at, seconds in self.changes[:-1]]
        return case(*whens, else_=self.changes[-1][1])

    def local_date(self, column):
        """The business day of a stored UTC instant, as a date."""
        if self.sqlite:
            # whole seconds only: SQLite's date functions round to milliseconds, so .9999995 would become tomorrow
            return func.date(func.substr(column, 1, 19), func.printf("%+d seconds", self.offset(column)), type_=Date)
        return cast(column + self.offset(column) * literal_column("INTERVAL '1 second'"), Date)

    def ordinal(self, column):
        """The business day of a stored UTC instant as date.toordinal()."""
        if self.sqlite:
            return cast(func.julianday(self.local_date(column)) - ORDINAL_JULIAN, Integer)
        return self.local_date(column) - literal(date(1, 1, 1), Date) + 1

    def local_us(self, column):
        """A stored UTC instant as wall-clock microseconds in the zone (for elapsed time between two instants)."""
        if self.sqlite:  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'
            seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), BigInteger) + self.offset(column)
            return seconds * literal(SECOND_US, BigInteger) + cast(func.substr(column, 21, 6), BigInteger)
        epoch = func.extract("epoch", column)
        return cast(func.round(epoch * SECOND_US), BigInteger) + self.offset(column) * literal(SECOND_US, BigInteger)

    def month_start(self, column):
        """The first day of the business month of a stored UTC instant."""
        if self.sqlite:
            return func.date(func.substr(column, 1, 19), func.printf("%+d seconds", self.offset(column)),
                             "start of month", type_=Date)
        shifted = column + self.offset(column) * literal_column("INTERVAL '1 second'")
        return cast(func.date_trunc("month", shifted), Date)

    def greatest(self, *values):
        return func.max(*values) if self.sqlite else func.greatest(*values)

    def add_days(self, day_expr, days):
        if self.sqlite:
            return func.date(day_expr, func.printf("%+d days", days), type_=Date)
        return cast(day_expr + days, Date)


def computed(connection: Connection, where, rules: Rules, day: date, zone_name: str, midnight,
             only_changed: bool = False) -> Select:
    """The standing of every customer matched by `where` (or only of those whose standing differs from the stored
    one), by the rules, beside what is stored."""
    clock = Clock(connection, zone_name, day)
    purchases = q.purchases(where, midnight(rules.window_start(day)), midnight(rules.half_start(day)),
                            midnight(rules.window_start(day)))
    # The business days and the elapsed time are worked out once per customer, beside the aggregates (a grouped
    # subquery is never merged into the join), instead of again in each rule that reads them.
    first_of, last_of = purchases.selected_columns[1], purchases.selected_columns[2]
    bought = purchases.add_columns(
        clock.ordinal(first_of).label("first_day"), clock.ordinal(last_of).label("last_day"),
        (clock.local_us(last_of) - clock.local_us(first_of)).label("elapsed_us")).subquery("bought")
    first_at, last_at, count, window_count = (bought.c[i] for i in range(1, 5))
    # cents as plain integers, so thresholds compare as cents too (not converted again as Money)
    window_amount, recent, previous = (type_coerce(bought.c[i], BigInteger) for i in range(5, 8))
    contact = q.latest_contact(where).subquery("contact")
    customer = q.CUSTOMER
    seen = STANDING.alias("seen")

    days_since = clock.today - bought.c.last_day
    first_days = clock.today - bought.c.first_day
    elapsed_us = bought.c.elapsed_us
    span_days = elapsed_us // literal(DAY_US, BigInteger)  # never negative: integer division is Python's floor
    # in floating point, operation by operation as Python computes it
    interval = cast(elapsed_us, Float) / literal(1e6, Float) / literal(86400.0, Float) / cast(count - 1, Float)
    silent_limit = clock.greatest(rules.at_risk_min_days, interval * float(rules.at_risk_factor))
    cents = {name: math.ceil(getattr(rules, f"{name}_min_amount") * 100) for name in ("high", "medium")}
    amount = func.coalesce(window_amount, 0)
    orders = func.coalesce(window_count, 0)

    def meets(name):
        return and_(amount >= cents[name], orders >= getattr(rules, f"{name}_min_orders"),
                    days_since <= getattr(rules, f"{name}_max_days_since"))

    tier = case((count.is_(None), null()), (meets("high"), "high"), (meets("medium"), "medium"), else_="low")
    stage = case(
        (count.is_(None), "potential"),
        (days_since >= rules.churned_days, "churned"),
        (and_(count >= 2, days_since > silent_limit), "at_risk"),
        (and_(count < 2, days_since > rules.at_risk_min_days), "at_risk"),
        (and_(previous > 0, (previous - recent) * 100 >= previous * rules.spend_drop_percent), "at_risk"),
        (first_days <= rules.new_days, "new"),
        (and_(count >= rules.loyal_min_orders, span_days >= rules.loyal_min_span_days), "loyal"),
        else_="active")
    figures = (
        select(customer.c.id.label("customer_id"), customer.c.owner_id, customer.c.follow_up_days,
               customer.c.created_at, first_at.label("first_purchase_at"), last_at.label("last_purchase_at"),
               func.coalesce(count, 0).label("purchase_count"), orders.label("window_count"),
               amount.label("window_amount"), func.coalesce(recent, 0).label("recent_amount"),
               func.coalesce(previous, 0).label("previous_amount"), tier.label("tier"), stage.label("stage"),
               contact.c.occurred_at.label("last_contact_at"), contact.c.id.label("last_interaction_id"),
               contact.c.next_follow_up_on.label("contact_next_on"),
               seen.c.rescheduled_to.label("seen_rescheduled_to"),
               seen.c.updated_at.label("seen_updated_at"), seen.c.tier.label("seen_tier"),
               seen.c.stage.label("seen_stage"), *(seen.c[name].label(f"was_{name}") for name in DERIVED))
        .select_from(customer)
        .outerjoin(bought, bought.c.customer_id == customer.c.id)
        .outerjoin(contact, contact.c.customer_id == customer.c.id)
        # the range is repeated on the stored standing: PostgreSQL does not carry it across the join, and read all
        # of customer_standing for each range
        .outerjoin(seen, and_(seen.c.customer_id == customer.c.id, where(seen.c.customer_id)))
        .where(where(customer.c.id))
    ).subquery("figures")
    f = figures.c
    per_tier = [(f.tier == name, getattr(rules, f"follow_up_days_{name}"))
                for name in ("high", "medium", "low") if getattr(rules, f"follow_up_days_{name}")]
    cadence = func.coalesce(func.nullif(f.follow_up_days, 0), case(*per_tier, else_=null()) if per_tier else null(),
                            rules.follow_up_days)
    since = func.coalesce(f.last_contact_at, f.created_at)
    # as rules.next_due: a date moved by hand holds until the first contact, which clears it
    rescheduled = case((f.last_interaction_id.is_(None), f.seen_rescheduled_to), else_=null())
    due = case((f.contact_next_on.isnot(None), f.contact_next_on),
               (rescheduled.isnot(None), rescheduled),
               else_=clock.add_days(clock.local_date(since), cadence))
    stored_as_is = ("customer_id", "owner_id", "first_purchase_at", "last_purchase_at", "purchase_count",
                    "window_count", "window_amount", "recent_amount", "previous_amount", "tier", "stage",
                    "last_contact_at", "last_interaction_id")
    fresh = {name: type_coerce(f[name], STANDING.c[name].type) for name in stored_as_is}
    fresh["next_follow_up_on"] = due
    fresh["due_set_by_contact"] = case((f.contact_next_on.isnot(None), true()), else_=false())
    fresh["rescheduled_to"] = type_coerce(rescheduled, Date)
    stmt = select(*(value.label(name) for name, value in fresh.items()), f.seen_updated_at, f.seen_tier, f.seen_stage)
    if only_changed:  # most customers keep their standing from one day to the next: carry only the others
        stmt = stmt.where(or_(f.seen_updated_at.is_(None),
                              *(f[f"was_{name}"].is_distinct_from(fresh[name]) for name in DERIVED)))
    return stmt


def refresh_range(connection: Connection, where, rules: Rules, day: date, zone_name: str, midnight) -> tuple[int, int]:
    """Compute and store the standing of the customers matched by `where`; returns (seen, written)."""
    seen = connection.execute(select(func.count()).select_from(q.CUSTOMER).where(where(q.CUSTOMER.c.id))).scalar()
    try:
        changed = compute_into_fresh(connection, where, rules, day, zone_name, midnight)
        # a quiet day changes nobody: the writes below would only search customer_standing for nothing
        return seen, store_fresh(connection, day) if changed else 0
    finally:
        drop_fresh(connection)


def compute_into_fresh(connection: Connection, where, rules: Rules, day: date, zone_name: str, midnight,
                       only_changed: bool = True) -> int:
    """Fill the temporary table with the computed standings that differ from the stored ones (all of them if not
    `only_changed`), beside what is stored now; returns how many."""
    drop_fresh(connection)
    if connection.dialect.name == "postgresql":
        # compiling the statement with JIT cost about a tenth of each range's time, for no faster run
        connection.exec_driver_sql("SET LOCAL jit = off")
    FRESH.create(connection)
    rows = connection.execute(insert(FRESH).from_select(
        [c.name for c in FRESH.c], computed(connection, where, rules, day, zone_name, midnight, only_changed)),
        execution_options={"preserve_rowcount": True}).rowcount
    if connection.dialect.name == "postgresql":
        # autovacuum never sees a temporary table: unanalyzed, the writes below scanned all of customer_standing
        # for each range instead of looking up the few changed customers by key
        planner.analyze(connection, [FRESH])
    return rows


def store_fresh(connection: Connection, day: date) -> int:
    """Write the computed standings that differ from the stored ones; returns the rows written.

    Compare-and-set on updated_at: a row the live path rewrote after it was read is left for the next refresh.
    Each tier or stage change also gets its history row.
    """
    now = utcnow()
    n, s = FRESH.c, STANDING.c
    changed = or_(*(s[name].is_distinct_from(n[name]) for name in DERIVED))
    sqlite = connection.dialect.name == "sqlite"
    # SQLite has no statistics for the temporary table and may scan all of customer_standing, probing the computed
    # rows by key; with their key behind a unary plus it reads them in order and looks up each stored row by key
    by_fresh = s.customer_id == (_unindexed(n.customer_id) if sqlite else n.customer_id)
    unchanged = and_(by_fresh, s.updated_at == n.seen_updated_at)
    # SQLite rewrites the index entries of every column an UPDATE sets, changed or not (PostgreSQL compares values)
    names = _differing(connection, unchanged) if sqlite else DERIVED
    values = {name: n[name] for name in names}
    if "tier" in names:
        values["tier_since"] = case((s.tier.is_distinct_from(n.tier), day), else_=s.tier_since)
    if "stage" in names:
        values["stage_since"] = case((s.stage.is_distinct_from(n.stage), day), else_=s.stage_since)
    updated = connection.execute(
        update(STANDING).where(unchanged, changed).values(**values, updated_at=now)).rowcount if names else 0
    added = connection.execute(insert(STANDING).from_select(
        [*DERIVED, "customer_id", "tier_since", "stage_since", "updated_at"],
        select(*(n[name] for name in DERIVED), n.customer_id, literal(day, Date), literal(day, Date),
               literal(now, DateTime)).where(n.seen_updated_at.is_(None))),
        execution_options={"preserve_rowcount": True}).rowcount
    written_now = and_(by_fresh, s.updated_at == now)
    for kind in ("tier", "stage"):
        after, before = n[kind], n[f"seen_{kind}"]
        new_row = and_(n.seen_updated_at.is_(None), after.isnot(None), after != "potential")
        moved = and_(n.seen_updated_at.isnot(None), before.is_distinct_from(after))
        connection.execute(insert(CHANGE).from_select(
            ["customer_id", "kind", "before", "after", "changed_at"],
            select(n.customer_id, literal(kind, String), before, after, literal(now, DateTime))
            .select_from(FRESH.join(STANDING, written_now)).where(or_(new_row, moved))))
    return updated + added


def _differing(connection: Connection, unchanged) -> list[str]:
    """The derived columns that differ between a computed standing and its stored one in at least one row."""
    n, s = FRESH.c, STANDING.c
    found = connection.execute(select(*(func.max(case((s[name].is_distinct_from(n[name]), 1), else_=0))
                                        for name in DERIVED)).where(unchanged)).one()
    return [name for name, differs in zip(DERIVED, found) if differs]


def _unindexed(column):
    """`+column`: SQLite's way to keep a term from being used through the column's index (or rowid)."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def drop_fresh(connection: Connection) -> None:
    FRESH.drop(connection, checkfirst=True)
