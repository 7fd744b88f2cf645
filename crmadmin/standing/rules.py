"""The rules that turn purchase and contact figures into a tier, a lifecycle stage and a due date.

Pure functions of their inputs (no database, no Flask), so the live path, the full refresh, the screens that
explain a tier and the tests all apply exactly the same rules.
"""
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class Rules:
    """Every threshold an administrator may tune; the defaults follow the users' handbooks."""

    # value tiers (RFM): paid purchases in the window; a tier needs all three of its minimums
    window_months: int = 12
    high_min_amount: Decimal = Decimal("20000")
    high_min_orders: int = 4
    high_max_days_since: int = 90
    medium_min_amount: Decimal = Decimal("5000")
    medium_min_orders: int = 2
    medium_max_days_since: int = 180
    # lifecycle
    new_days: int = 90            # first purchase at most this long ago: new
    loyal_min_orders: int = 3     # repeat buyer ...
    loyal_min_span_days: int = 180  # ... over at least this span: loyal
    at_risk_factor: Decimal = Decimal("2")  # silent for this many times their usual interval: at risk
    at_risk_min_days: int = 90    # ... but never before this long
    spend_drop_percent: int = 50  # or spend in the recent half window fell this much below the half before
    churned_days: int = 365       # no purchase for this long: churned
    # follow-ups (至少每两周联系一次): default cadence, optionally per tier
    follow_up_days: int = 14
    follow_up_days_high: int | None = 7
    follow_up_days_medium: int | None = None
    follow_up_days_low: int | None = None

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_settings(cls, stored: dict[str, str]) -> "Rules":
        """Rules from stored text values; unknown keys are ignored and missing ones keep their default."""
        values = {}
        for f in fields(cls):
            if f.name in stored:
                values[f.name] = parse(f.name, stored[f.name])
        return cls(**values)

    def window_start(self, today: date) -> date:
        return add_months(today, -self.window_months)

    def half_start(self, today: date) -> date:
        """Where the recent half of the window begins (spend trend compares it with the half before)."""
        return today - (today - self.window_start(today)) / 2

    def cadence(self, tier: str | None, customer_days: int | None) -> int:
        if customer_days:
            return customer_days
        per_tier = getattr(self, f"follow_up_days_{tier}", None) if tier else None
        return per_tier or self.follow_up_days


def parse(name: str, text: str | None):
    """A stored or submitted value as its rule's type; '' means 'none' for optional rules."""
    kind = Rules.__dataclass_fields__[name].type
    if text is None or text == "":
        if "None" in str(kind):
            return None
        raise ValueError(name)
    if "Decimal" in str(kind):
        return Decimal(str(text))
    return int(text)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass
class Figures:
    """A customer's purchase and contact figures, as stored in customer_standing."""

    created_at: datetime | None = None
    customer_follow_up_days: int | None = None
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    purchase_count: int = 0
    window_count: int = 0
    window_amount: Decimal = Decimal("0")
    recent_amount: Decimal = Decimal("0")
    previous_amount: Decimal = Decimal("0")
    last_contact_at: datetime | None = None
    contact_next_on: date | None = None  # the date the clerk set when logging the latest contact
    rescheduled_to: date | None = None  # a date moved by hand while nobody had contacted them (followups.py)

    def days_since_purchase(self, today: date) -> int | None:
        return None if self.last_purchase_at is None else (today - self.last_purchase_at.date()).days

    def usual_interval(self) -> float | None:
        """The customer's average days between purchases, once they have bought at least twice."""
        if self.purchase_count < 2 or self.first_purchase_at is None or self.last_purchase_at is None:
            return None
        return (self.last_purchase_at - self.first_purchase_at).total_seconds() / 86400 / (self.purchase_count - 1)


@dataclass(frozen=True)
class Reason:
    """Why a rule gave its answer: a message id and its values, translated where it is shown."""

    code: str
    values: dict = field(default_factory=dict)


def tier(f: Figures, rules: Rules, today: date) -> tuple[str | None, Reason]:
    """High, medium or low value from recency, frequency and amount in the window; None if they never bought."""
    if f.purchase_count == 0:
        return None, Reason("never_bought")
    days = f.days_since_purchase(today)
    for name in ("high", "medium"):
        need_amount = getattr(rules, f"{name}_min_amount")
        need_orders = getattr(rules, f"{name}_min_orders")
        max_days = getattr(rules, f"{name}_max_days_since")
        if f.window_amount >= need_amount and f.window_count >= need_orders and days <= max_days:
            return name, Reason(f"{name}_met", {"amount": f.window_amount, "min_amount": need_amount,
                                                "orders": f.window_count, "min_orders": need_orders,
                                                "days": days, "max_days": max_days})
    missed = []
    if f.window_amount < rules.medium_min_amount:
        missed.append(Reason("amount_below", {"amount": f.window_amount, "min_amount": rules.medium_min_amount}))
    if f.window_count < rules.medium_min_orders:
        missed.append(Reason("orders_below", {"orders": f.window_count, "min_orders": rules.medium_min_orders}))
    if days > rules.medium_max_days_since:
        missed.append(Reason("too_long_ago", {"days": days, "max_days": rules.medium_max_days_since}))
    return "low", Reason("low", {"missed": missed})


def stage(f: Figures, rules: Rules, today: date) -> tuple[str, Reason]:
    """Potential, new, active, loyal, at risk or churned, checked in that order of precedence (churned first)."""
    if f.purchase_count == 0:
        return "potential", Reason("never_bought")
    days = f.days_since_purchase(today)
    if days >= rules.churned_days:
        return "churned", Reason("churned", {"days": days, "churned_days": rules.churned_days})
    interval = f.usual_interval()
    silent_limit = max(rules.at_risk_min_days, float(rules.at_risk_factor) * interval if interval else 0)
    if days > silent_limit:
        return "at_risk", Reason("silent", {"days": days, "interval": round(interval) if interval else None,
                                            "limit": round(silent_limit)})
    fell = (f.previous_amount - f.recent_amount) * 100  # compared cross-multiplied, exactly as the SQL does
    if f.previous_amount > 0 and fell >= f.previous_amount * rules.spend_drop_percent:
        return "at_risk", Reason("spend_fell", {"percent": int(fell / f.previous_amount), "before": f.previous_amount,
                                                "after": f.recent_amount})
    first_days = (today - f.first_purchase_at.date()).days
    if first_days <= rules.new_days:
        return "new", Reason("new", {"days": first_days})
    span = (f.last_purchase_at - f.first_purchase_at).days
    if f.purchase_count >= rules.loyal_min_orders and span >= rules.loyal_min_span_days:
        return "loyal", Reason("loyal", {"orders": f.purchase_count, "span": span})
    return "active", Reason("active", {"days": days})


def next_due(f: Figures, tier_value: str | None, rules: Rules) -> tuple[date | None, bool]:
    """The next follow-up date, and whether it is the one the clerk set when logging the latest contact.

    Otherwise, for a customer nobody has contacted yet, the date someone rescheduled them to; otherwise the
    cadence (customer's own, else their tier's, else the default) after the latest contact, or after the
    customer was registered if nobody has contacted them yet.
    """
    if f.contact_next_on is not None:
        return f.contact_next_on, True
    if f.rescheduled_to is not None and f.last_contact_at is None:
        return f.rescheduled_to, False
    since = f.last_contact_at or f.created_at
    if since is None:
        return None, False
    return since.date() + timedelta(days=rules.cadence(tier_value, f.customer_follow_up_days)), False
