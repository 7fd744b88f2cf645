"""Every row of an import checked against its fields and the database, each problem kept per row and field.

Look-ups are made for all rows at once, in chunks (owners, campaigns, customers by ID, phone or e-mail, stored
transactions and interactions): the number of statements grows with the file's size in thousands of rows, never
per row.

Matching, which decides between creating and updating and makes a second import of the same file create nothing:
- a customer is the one with the same mobile phone (E.164) or e-mail (any case);
- a transaction is the one of the same customer at the same second with the same product;
- an interaction is the one of the same customer at the same second through the same channel.
In "create only" mode a match is a problem (a duplicate); in "create and update" mode the match is updated with
the row's non-empty cells, or skipped when they change nothing. Two rows of one file with the same key are a
problem on the later row.
"""
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Campaign, Customer, Interaction, Transaction, User
from .mapping import CUSTOMER_REFS, Field, fields_of
from .reading import Table
from .values import Parser, Problem

CHUNK = 1000  # values per IN (...)
# what update mode may change on a matched record (keys and the customer stay)
UPDATABLE = {
    "transactions": ("quantity", "amount", "currency", "channel", "status", "campaign_id"),
    "interactions": ("direction", "summary", "outcome", "handled_by_id", "next_follow_up_on"),
}
DEFAULTS = {
    "customers": {"kind": "person"},
    "transactions": {"quantity": 1, "status": "paid"},
    "interactions": {"direction": "outbound"},
}


@dataclass(frozen=True)
class Context:
    """Who imports what, and how: everything validation needs besides the file and the database."""

    kind: str
    mode: str  # create or update
    user_id: int | None
    may_assign_owner: bool
    scope_owner: int | None  # only this owner's customers may be seen and changed (None: everyone's)
    region: str
    now: datetime
    currency: str = "CNY"
    zone: str = ""  # the importing user's time zone: a time without an offset is read in it ("" business zone)


@dataclass
class Row:
    number: int  # the row in the spreadsheet (the header is row 1)
    cells: list
    values: dict = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    action: str | None = None  # create, update or unchanged, once valid
    target: int | None = None  # the matched record's id

    @property
    def valid(self) -> bool:
        return not self.problems

    def problem(self, name: str, message: str) -> None:
        self.problems.setdefault(name, []).append(message)


@dataclass
class Report:
    context: Context
    headers: list[str]
    mapping: dict[int, str]
    fields: dict[str, Field]
    rows: list[Row]

    def count(self, action: str | None = None) -> int:
        if action == "invalid":
            return sum(1 for r in self.rows if not r.valid)
        return sum(1 for r in self.rows if r.valid and (action is None or r.action == action))

    @property
    def counts(self) -> dict[str, int]:
        invalid = self.count("invalid")
        return {"total": len(self.rows), "valid": len(self.rows) - invalid, "invalid": invalid,
                "create": self.count("create"), "update": self.count("update"), "unchanged": self.count("unchanged")}


def _chunks(values: Iterable, size: int = CHUNK):
    values = sorted(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def validate(session: Session, table: Table, mapping: dict[int, str], context: Context) -> Report:
    """Parse every mapped cell, then look up and match all rows; the database is only read."""
    fields = {f.name: f for f in fields_of(context.kind, context.may_assign_owner)}
    mapping = {i: name for i, name in mapping.items() if name in fields and i < len(table.headers)}
    parse = Parser(fields, context.region, context.now, context.zone)
    rows = []
    for number, cells in table.rows:
        row = Row(number, cells)
        for index, name in mapping.items():
            raw = cells[index] if index < len(cells) else None
            if raw is None:
                continue
            try:
                row.values[name] = parse(fields[name], raw)
            except Problem as problem:
                row.problem(name, str(problem))
        for name, f in fields.items():
            if f.required and name not in row.values and name not in row.problems:
                row.problem(name, _("A value is required."))
        rows.append(row)
    report = Report(context, table.headers, mapping, fields, rows)
    _resolve_names(session, report)
    if context.kind == "customers":
        _match_customers(session, report)
    else:
        _resolve_customers(session, report)
        _match_records(session, report)
    return report


# --- owners, handlers and campaigns by name -------------------------------------------------
def _resolve_names(session: Session, report: Report) -> None:
    users = campaigns = None
    for row in report.rows:
        for name in ("owner", "handled_by"):
            if name in row.values:
                if users is None:
                    users = {u.casefold(): (i, active) for i, u, active in
                             session.execute(select(User.id, User.username, User.active))}
                found = users.get(row.values[name].casefold())
                if found is None:
                    row.problem(name, _("No user with the user name “%(value)s”.", value=row.values.pop(name)))
                elif not found[1]:
                    row.problem(name, _("The account of “%(value)s” is disabled.", value=row.values.pop(name)))
                else:
                    row.values[f"{name}_id"] = found[0]
                    del row.values[name]
        if "campaign" in row.values:
            if campaigns is None:
                campaigns = {}
                for i, n in session.execute(select(Campaign.id, Campaign.name)):
                    campaigns.setdefault(n.casefold(), []).append(i)
            found = campaigns.get(row.values["campaign"].casefold(), [])
            if len(found) != 1:
                message = _("No campaign named “%(value)s”.") if not found else \
                    _("Several campaigns are named “%(value)s”.")
                row.problem("campaign", message % {"value": row.values.pop("campaign")})
            else:
                row.values["campaign_id"] = found[0]
                del row.values["campaign"]


# --- customers by phone, e-mail or ID ----------------------------------------------------------
def _by_mobile(session: Session, mobiles: set[str], columns) -> dict[str, list]:
    found: dict[str, list] = {}
    for chunk in _chunks(mobiles):
        for row in session.execute(select(*columns).where(Customer.mobile.in_(chunk))):
            found.setdefault(row.mobile, []).append(row)
    return found


def _by_email(session: Session, emails: set[str], columns) -> dict[str, list]:
    """lower(email) -> customers; one pass either way (no index serves lower(), so never one scan per chunk)."""
    found: dict[str, list] = {}
    if not emails:
        return found
    query = select(*columns).where(Customer.email.isnot(None))
    if len(emails) <= CHUNK:
        query = query.where(func.lower(Customer.email).in_(sorted(emails)))
    for row in session.execute(query.execution_options(yield_per=5000)):
        key = row.email.casefold()
        if key in emails:
            found.setdefault(key, []).append(row)
    return found


def _by_id(session: Session, ids: set[int], columns) -> dict[int, list]:
    found: dict[int, list] = {}
    for chunk in _chunks(ids):
        for row in session.execute(select(*columns).where(Customer.id.in_(chunk))):
            found[row.id] = [row]
    return found


def _match_customers(session: Session, report: Report) -> None:
    context, rows = report.context, report.rows
    columns = [c for c in Customer.__table__.c]
    for row in rows:
        if "mobile" not in row.values and "email" not in row.values and not \
                {"mobile", "email"} & set(row.problems):
            row.problem("mobile", _("Give a mobile phone or an email address: the customer is recognised by them."))
    by_mobile = _by_mobile(session, {r.values["mobile"] for r in rows if "mobile" in r.values}, columns)
    by_email = _by_email(session, {r.values["email"].casefold() for r in rows if "email" in r.values}, columns)
    seen: dict[tuple, int] = {}
    targeted: dict[int, int] = {}  # customer id -> the row that updates them
    for row in rows:
        matches = {}
        for name, index in (("mobile", by_mobile), ("email", by_email)):
            if name not in row.values:
                continue
            key = row.values[name] if name == "mobile" else row.values[name].casefold()
            earlier = seen.setdefault((name, key), row.number)
            if earlier != row.number:
                row.problem(name, _("The same as row %(row)d of this file.", row=earlier))
            for customer in index.get(key, []):
                matches.setdefault(customer.id, (name, customer))
        if not row.valid:
            continue
        if not matches:
            row.action = "create"
            continue
        name, customer = next(iter(matches.values()))
        hidden = context.scope_owner is not None and customer.owner_id != context.scope_owner
        if context.mode == "create":
            message = _("A customer of another owner has this value.") if hidden else \
                _("Customer %(name)s (#%(id)d) has this value already.", name=customer.name, id=customer.id)
            for name, customer in matches.values():
                row.problem(name, message)
                break
        elif len(matches) > 1:
            row.problem(name, _("Matches %(num)d customers by mobile phone and email; correct them first.",
                                num=len(matches)))
        elif hidden:
            row.problem(name, _("A customer of another owner has this value; you may not change them."))
        elif targeted.setdefault(customer.id, row.number) != row.number:
            row.problem(name, _("Matches the same customer as row %(row)d of this file.", row=targeted[customer.id]))
        else:
            row.target = customer.id
            row.action = "update" if _changes(row.values, customer._mapping) else "unchanged"


def _changes(values: dict, stored) -> dict:
    """The fields a row would change on a stored record: its non-empty cells that differ."""
    return {k: v for k, v in values.items() if k in stored and stored[k] != v}


def _resolve_customers(session: Session, report: Report) -> None:
    """Transactions and interactions: the customer each row is about, among those the user may see."""
    context, rows = report.context, report.rows
    columns = [Customer.id, Customer.mobile, Customer.email, Customer.owner_id]
    wanted = {name: set() for name in CUSTOMER_REFS}
    for row in rows:
        ref = next((n for n in CUSTOMER_REFS if n in row.values), None)
        if ref is None:
            if not set(CUSTOMER_REFS) & set(row.problems):
                row.problem(next((n for n in CUSTOMER_REFS if n in report.mapping.values()), "customer_id"),
                            _("A value is required."))
            continue
        row.values["_ref"] = ref
        value = row.values[ref]
        wanted[ref].add(value.casefold() if ref == "customer_email" else value)
    found = {"customer_id": _by_id(session, wanted["customer_id"], columns),
             "customer_mobile": _by_mobile(session, wanted["customer_mobile"], columns),
             "customer_email": _by_email(session, wanted["customer_email"], columns)}
    for row in rows:
        ref = row.values.pop("_ref", None)
        if ref is None:
            continue
        value = row.values[ref]
        matches = [c for c in found[ref].get(value.casefold() if ref == "customer_email" else value, [])
                   if context.scope_owner is None or c.owner_id == context.scope_owner]
        if not matches:
            row.problem(ref, _("No customer with this value."))
        elif len(matches) > 1:
            row.problem(ref, _("%(num)d customers have this value; give the customer ID instead.", num=len(matches)))
        else:
            row.values["customer_id"] = matches[0].id
        for name in ("customer_mobile", "customer_email"):
            row.values.pop(name, None)


# --- transactions and interactions: their natural keys -------------------------------------
def _key(kind: str, values: dict) -> tuple:
    if kind == "transactions":
        return (values["customer_id"], values["occurred_at"], values["product"].casefold())
    return (values["customer_id"], values["occurred_at"], values["channel"])


def _stored(session: Session, kind: str, rows: list[Row]) -> dict[tuple, list]:
    """The stored records of the rows' customers, in the rows' time span, by natural key."""
    model = Transaction if kind == "transactions" else Interaction
    valid = [r for r in rows if r.valid]
    if not valid:
        return {}
    earliest = min(r.values["occurred_at"] for r in valid)
    latest = max(r.values["occurred_at"] for r in valid)
    columns = [model.id, model.customer_id, model.occurred_at, model.channel,
               *(getattr(model, n) for n in UPDATABLE[kind] if n != "channel")]
    if kind == "transactions":
        columns.append(model.product)
    found: dict[tuple, list] = {}
    for chunk in _chunks({r.values["customer_id"] for r in valid}):
        query = select(*columns).where(model.customer_id.in_(chunk), model.occurred_at.between(earliest, latest))
        for record in session.execute(query):
            found.setdefault(_key(kind, record._mapping), []).append(record)
    return found


def _match_records(session: Session, report: Report) -> None:
    kind, mode = report.context.kind, report.context.mode
    stored = _stored(session, kind, report.rows)
    seen: dict[tuple, int] = {}
    what = _("customer, time and product") if kind == "transactions" else _("customer, time and channel")
    for row in report.rows:
        if not row.valid:
            continue
        key = _key(kind, row.values)
        earlier = seen.setdefault(key, row.number)
        if earlier != row.number:
            row.problem("occurred_at", _("The same %(what)s as row %(row)d of this file.", what=what, row=earlier))
            continue
        matches = stored.get(key, [])
        if not matches:
            row.action = "create"
        elif mode == "create":
            row.problem("occurred_at", _("Recorded already (#%(id)d): the same %(what)s.", id=matches[0].id,
                                         what=what))
        elif len(matches) > 1:
            row.problem("occurred_at", _("Matches %(num)d stored records with the same %(what)s.", num=len(matches),
                                         what=what))
        else:
            row.target = matches[0].id
            mine = {k: v for k, v in row.values.items() if k in UPDATABLE[kind]}
            row.action = "update" if _changes(mine, matches[0]._mapping) else "unchanged"

