"""Keeping every customer's standing current: after each flush for the customers it touched, and in full.

The live path hooks the session (like the operation log), so a purchase, contact or customer change made by a
form, bulk action, import or CLI command updates the standing in the same transaction. The full refresh walks
all customers in id ranges, one short transaction each, for what changes with time alone (purchases ageing out
of the window, customers falling silent) and after bulk loads; it never overwrites a row that the live path
rewrote meanwhile (compare-and-set on updated_at).
"""
import time as time_module
from datetime import date, datetime, time, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import bindparam, event, inspect, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .. import planner
from ..bulk_insert import insert_rows
from ..models import Customer, CustomerStanding, Interaction, Setting, StandingChange, Transaction, utcnow
from . import bulk, figures as q, revenue
from .bulk import DERIVED
from .rules import Figures, Rules, next_due, stage, tier

STANDING = CustomerStanding.__table__
CHANGE = StandingChange.__table__
SETTING = Setting.__table__
CHUNK = 50_000  # customers per refresh transaction
REFRESHED_KEY = "standing_refreshed_on"  # a bookkeeping setting: the day of the last full refresh
ZERO = Decimal("0.00")


def zone() -> ZoneInfo:
    """The app's CRM_TIMEZONE; outside an app, the configured one too (UTC there made a test's "today" the app's
    yesterday from 16:00 to midnight UTC, when Shanghai's day has turned)."""
    from config import Config

    return ZoneInfo(current_app.config.get("CRM_TIMEZONE", "UTC") if has_app_context() else Config.CRM_TIMEZONE)


def today() -> date:
    """The business day in the panel's time zone (CRM_TIMEZONE): due dates and ages are counted in days there."""
    return datetime.now(timezone.utc).astimezone(zone()).date()


def local(moment: datetime | None) -> datetime | None:
    """A stored (naive UTC) timestamp as wall-clock time in the panel's zone, for counting days."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(zone()).replace(tzinfo=None)


def load_rules(connection: Connection) -> Rules:
    stored = dict(connection.execute(select(SETTING.c.key, SETTING.c.value)).all())
    return Rules.from_settings(stored)


def _midnight(day: date) -> datetime:
    """The start of a business day as a stored (naive UTC) timestamp."""
    return datetime.combine(day, time(), tzinfo=zone()).astimezone(timezone.utc).replace(tzinfo=None)


def compute(connection: Connection, where, rules: Rules, day: date, created: bool = False
            ) -> list[tuple[dict, dict | None]]:
    """(new standing, stored standing or None) for every customer matched by `where`; `created`: customers inserted
    in this transaction, who have no purchases, contacts or standing to look up yet."""
    half = rules.half_start(day)
    window = rules.window_start(day)
    previous = window  # the half before the recent half starts where the window does
    bought, contacts, stored = {}, {}, {}
    if not created:
        bought = {row[0]: row for row in connection.execute(
            q.purchases(where, _midnight(window), _midnight(half), _midnight(previous)))}
        for customer_id, interaction_id, at, next_on in connection.execute(q.latest_contacts(where)):
            if customer_id not in contacts or interaction_id > contacts[customer_id][0]:
                contacts[customer_id] = (interaction_id, at, next_on)
        stored = {row.customer_id: row._asdict() for row in connection.execute(q.standings(where))}
    results = []
    for customer_id, owner_id, follow_up_days, created_at in connection.execute(q.customers(where)):
        row = {"customer_id": customer_id, "owner_id": owner_id, "first_purchase_at": None,
               "last_purchase_at": None, "purchase_count": 0, "window_count": 0, "window_amount": ZERO,
               "recent_amount": ZERO, "previous_amount": ZERO, "last_contact_at": None, "last_interaction_id": None}
        p = bought.get(customer_id)
        if p is not None:
            (_, row["first_purchase_at"], row["last_purchase_at"], row["purchase_count"], row["window_count"],
             *amounts) = p
            row["window_count"] = int(row["window_count"] or 0)
            row["window_amount"], row["recent_amount"], row["previous_amount"] = (
                Decimal(v or 0).quantize(ZERO) for v in amounts)
        contact = contacts.get(customer_id)
        if contact is not None:
            row["last_interaction_id"], row["last_contact_at"] = contact[0], contact[1]
        old = stored.get(customer_id)
        # a date moved by hand holds until the first contact, which clears it (its own next date takes over)
        row["rescheduled_to"] = old["rescheduled_to"] if old is not None and contact is None else None
        f = figures_of(row, created_at, follow_up_days, contact[2] if contact else None)
        row["tier"], _ = tier(f, rules, day)
        row["stage"], _ = stage(f, rules, day)
        row["next_follow_up_on"], row["due_set_by_contact"] = next_due(f, row["tier"], rules)
        results.append((row, stored.get(customer_id)))
    return results


def figures_of(row: dict, created_at, follow_up_days, contact_next_on) -> Figures:
    """The rules' inputs from stored figures, with timestamps as business-day wall-clock time."""
    return Figures(created_at=local(created_at), customer_follow_up_days=follow_up_days,
                   first_purchase_at=local(row["first_purchase_at"]), last_purchase_at=local(row["last_purchase_at"]),
                   purchase_count=row["purchase_count"], window_count=row["window_count"],
                   window_amount=row["window_amount"], recent_amount=row["recent_amount"],
                   previous_amount=row["previous_amount"], last_contact_at=local(row["last_contact_at"]),
                   contact_next_on=contact_next_on, rescheduled_to=row["rescheduled_to"])


def write(connection: Connection, results, day: date, check_unchanged: bool) -> int:
    """Store what changed, and a history row for each tier or stage change; returns the rows written."""
    now = utcnow()
    inserts, updates, changes = [], [], []
    for row, old in results:
        if old is not None and all(_same(row[k], old[k]) for k in DERIVED):
            continue
        row = dict(row, updated_at=now)
        for kind in ("tier", "stage"):
            before = old[kind] if old is not None else None
            if old is None or before != row[kind]:
                row[f"{kind}_since"] = day
                if old is not None or row[kind] not in (None, "potential"):
                    changes.append({"customer_id": row["customer_id"], "kind": kind, "before": before,
                                    "after": row[kind], "changed_at": now})
            else:
                row[f"{kind}_since"] = old[f"{kind}_since"]
        if old is None:
            inserts.append(row)
        else:
            row["seen"] = old["updated_at"]
            updates.append(row)
    if inserts:
        insert_rows(connection, STANDING, inserts)
    if updates:
        stmt = update(STANDING).where(STANDING.c.customer_id == bindparam("b_customer_id"))
        if check_unchanged:
            stmt = stmt.where(STANDING.c.updated_at == bindparam("b_seen"))
        names = (*DERIVED, "tier_since", "stage_since", "updated_at")
        connection.execute(stmt.values({k: bindparam(f"v_{k}") for k in names}),
                           [{**{f"v_{k}": r[k] for k in names}, "b_customer_id": r["customer_id"], "b_seen": r["seen"]}
                            for r in updates])
    if changes:
        insert_rows(connection, CHANGE, changes)
    return len(inserts) + len(updates)


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(a or 0) == Decimal(b or 0)
    return a == b


# --- the live path: after each flush, the customers it touched --------------------------------
def _touched(session: Session) -> set[int]:
    ids = set()
    new, deleted = session.new, session.deleted  # each a new set: read once, not once per object (imports)
    for obj in (*new, *session.dirty, *deleted):
        if isinstance(obj, (Transaction, Interaction)):
            state = inspect(obj)
            history = state.attrs.customer_id.history
            ids.update(v for v in (*history.added, *history.unchanged, *history.deleted) if v is not None)
            if not (history.added or history.unchanged or history.deleted):
                value = state.attrs.customer_id.loaded_value
                if isinstance(value, int):
                    ids.add(value)
        elif isinstance(obj, Customer) and obj not in deleted:
            state = inspect(obj)
            if obj in new or any(state.attrs[k].history.has_changes()
                                         for k in ("owner_id", "follow_up_days", "created_at")):
                if obj.id is not None:
                    ids.add(obj.id)
    return ids


def refresh_customers(connection: Connection, ids, created: bool = False) -> None:
    """Recompute the standing of these customers inside the caller's transaction (`created`: all of them inserted in
    it, as by an import's bulk path, so nothing of theirs is there to look up or wait for)."""
    ids = sorted(ids)
    if not ids:
        return
    where = q.id_in(ids)
    if connection.dialect.name == "postgresql" and not created:
        # Wait for any other writer of these rows, so the figures below include what it committed.
        connection.execute(select(STANDING.c.customer_id).where(where(STANDING.c.customer_id))
                           .order_by(STANDING.c.customer_id).with_for_update())
    write(connection, compute(connection, where, load_rules(connection), today(), created), today(),
          check_unchanged=False)


def _after_flush(session: Session, flush_context) -> None:
    ids = _touched(session)
    if not ids:
        return
    refresh_customers(session.connection(), ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, CustomerStanding) and obj.customer_id in ids:
            session.expire(obj)


def listen() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


# --- the full refresh --------------------------------------------------------------------------
def refresh_all(engine, chunk: int = CHUNK, progress=None, rebuild_revenue: bool = False) -> dict:
    """Recompute every customer by set-based SQL, one short transaction per id range; returns counts for the report.

    Monthly revenue is kept exact by the live path, so it is rebuilt only when asked (after bulk loads) or missing.
    """
    day = today()
    zone_name = zone().key
    with engine.connect() as connection:
        low, high = connection.execute(select(q.CUSTOMER.c.id).order_by(q.CUSTOMER.c.id).limit(1)).scalar(), \
            connection.execute(select(q.CUSTOMER.c.id).order_by(q.CUSTOMER.c.id.desc()).limit(1)).scalar()
        rules = load_rules(connection)
    written = seen = 0
    if low is not None:
        for start in range(low, high + 1, chunk):
            where = q.id_range(start, start + chunk - 1)
            range_seen, range_written = _retrying(
                engine, lambda connection: bulk.refresh_range(connection, where, rules, day, zone_name, _midnight))
            seen += range_seen
            written += range_written
            if progress:
                progress(seen, written)
    revenue_cells = None
    with engine.begin() as connection:
        if rebuild_revenue or _revenue_missing(connection):
            revenue_cells = revenue.rebuild(connection, zone_name, day)
        _store_setting(connection, REFRESHED_KEY, day.isoformat())
        # a refresh after a bulk load writes every customer's standing: the planner must not keep judging it empty
        planner.analyze_grown(connection, {STANDING: written, CHANGE: written, revenue.REVENUE: revenue_cells})
    return {"customers": seen, "written": written, "day": day, "revenue_cells": revenue_cells}


def _revenue_missing(connection: Connection) -> bool:
    """Paid purchases but no monthly revenue: a new table, or purchases loaded in bulk outside the session."""
    return connection.execute(select(revenue.REVENUE.c.owner_id).limit(1)).first() is None and \
        connection.execute(select(q.TRANSACTION.c.id).where(q.PAID).limit(1)).first() is not None


def _retrying(engine, work, attempts: int = 5):
    """Run `work` in a transaction, again if SQLite refused the write because another writer got in between."""
    for attempt in range(attempts):
        try:
            with engine.begin() as connection:
                return work(connection)
        except OperationalError as error:
            if engine.dialect.name != "sqlite" or "locked" not in str(error) or attempt == attempts - 1:
                raise
            time_module.sleep(0.05 * (attempt + 1))


def _store_setting(connection: Connection, key: str, value: str) -> None:
    done = connection.execute(update(SETTING).where(SETTING.c.key == key).values(value=value, updated_at=utcnow()))
    if not done.rowcount:
        connection.execute(insert(SETTING).values(key=key, value=value, updated_at=utcnow()))


def refreshed_on(connection: Connection) -> date | None:
    value = connection.execute(select(SETTING.c.value).where(SETTING.c.key == REFRESHED_KEY)).scalar()
    return date.fromisoformat(value) if value else None
