"""Dashboard figures (数据分析): one aggregate select per figure set, over everyone or one owner's customers.

`owner_id` None means every customer; otherwise only the customers that user owns (不得抢客). The figure
functions return plain data (numbers, strings, dates), safe to cache and to hand to a template.
"""
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from ..models import Campaign, Complaint, Customer, CustomerStanding, RevenueMonth, User
from ..queries import of_owned_customer
from . import campaigns as campaign_figures

CLOSED_COMPLAINTS = ("closed", "rejected")  # every other status is still being worked
RESPONDED = campaign_figures.RESPONDED
CAMPAIGNS_SHOWN = ("running", "finished")
RECENT_CAMPAIGNS = 5
MONTHS = 12
SATISFIED = 4  # CSAT: the share of scores 4 and 5 out of 5
ACTIVE_STAGES = ("new", "active", "loyal", "at_risk")  # customers who buy: the base of the complaint rate


def _mine(stmt: Select, owner_column, owner_id: int | None) -> Select:
    return stmt if owner_id is None else stmt.where(owner_column == owner_id)


def _of_owned(customer_id_column, owner_id: int | None):
    return of_owned_customer(customer_id_column, owner_id)


# --- the selects --------------------------------------------------------------------------------
def customers_by(column, owner_id: int | None) -> Select:
    """Customers per value of a standing column (tier, stage) or a file column (region, source), largest first."""
    owner = CustomerStanding.owner_id if column.class_ is CustomerStanding else Customer.owner_id
    stmt = select(column, func.count()).group_by(column).order_by(func.count().desc(), column)
    return _mine(stmt, owner, owner_id)


def overdue_by_owner(owner_id: int | None, day: date) -> Select:
    """Customers whose follow-up date has passed, per owner (None: nobody owns them)."""
    stmt = (select(CustomerStanding.owner_id, User.username, func.count())
            .outerjoin(User, User.id == CustomerStanding.owner_id)
            .where(CustomerStanding.next_follow_up_on < day)
            .group_by(CustomerStanding.owner_id, User.username)
            .order_by(func.count().desc(), User.username))
    return _mine(stmt, CustomerStanding.owner_id, owner_id)


def revenue_by_month(owner_id: int | None, firsts: list[date]) -> Select:
    """Paid purchases per month from the monthly sums: `firsts` are the months' first days, one more than the months."""
    r = RevenueMonth
    stmt = (select(r.month, func.sum(r.amount), func.sum(r.purchases))
            .where(r.month >= firsts[0], r.month < firsts[-1]).group_by(r.month))
    return stmt if owner_id is None else stmt.where(r.owner_id == owner_id)


def open_complaints_by_urgency(owner_id: int | None, now: datetime) -> Select:
    """Complaints still being worked, per urgency, and how many are past the deadline that applies now."""
    past_due = func.sum(case((Complaint.next_due_at < now, 1), else_=0))
    stmt = (select(Complaint.urgency, func.count(), past_due)
            .where(Complaint.status.not_in(CLOSED_COMPLAINTS))
            .group_by(Complaint.urgency))
    return stmt if owner_id is None else stmt.where(_of_owned(Complaint.customer_id, owner_id))


def satisfaction_scores(owner_id: int | None) -> Select:
    """Complaints closed with a satisfaction score (1–5), per score: the CSAT recorded so far."""
    stmt = (select(Complaint.satisfaction_score, func.count())
            .where(Complaint.satisfaction_score.is_not(None))
            .group_by(Complaint.satisfaction_score))
    return stmt if owner_id is None else stmt.where(_of_owned(Complaint.customer_id, owner_id))


def complaints_per_month(owner_id: int | None, starts: list[datetime]) -> Select:
    """Today's active customers (new, active, loyal, at risk), then complaints received in each month of `starts`."""
    active = select(func.count()).select_from(CustomerStanding).where(CustomerStanding.stage.in_(ACTIVE_STAGES))
    active = _mine(active, CustomerStanding.owner_id, owner_id)
    received = Complaint.received_at
    per_month = [func.coalesce(func.sum(case(((received >= start) & (received < end), 1), else_=0)), 0)
                 for start, end in zip(starts, starts[1:])]
    stmt = select(active.scalar_subquery(), *per_month).where(received >= starts[0], received < starts[-1])
    return stmt if owner_id is None else stmt.where(_of_owned(Complaint.customer_id, owner_id))


def recent_campaigns(participant_owner_id: int | None, revenue_owner_id: int | None) -> Select:
    """The latest running or finished campaigns with their target list's responses and the paid revenue they brought."""
    return (campaign_figures.results(participant_owner_id, revenue_owner_id)
            .where(Campaign.status.in_(CAMPAIGNS_SHOWN))
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
            .limit(RECENT_CAMPAIGNS))


# --- plain data ---------------------------------------------------------------------------------
def month_firsts(day: date, months: int = MONTHS) -> list[date]:
    """The first days of the last `months` months up to `day`'s, and of the month after, oldest first."""
    index = day.year * 12 + day.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 2)]


def month_starts(day: date, zone: ZoneInfo, months: int = MONTHS) -> list[datetime]:
    """The first instants (naive UTC) of those months in the panel's zone: the boundaries revenue_by_month takes."""
    return [datetime.combine(first, time(), zone).astimezone(timezone.utc).replace(tzinfo=None)
            for first in month_firsts(day, months)]


def customer_mix(session: Session, owner_id: int | None) -> dict:
    """Customers by tier, stage, region and source: (value, count) pairs, largest first."""
    columns = {"tier": CustomerStanding.tier, "stage": CustomerStanding.stage,
               "region": Customer.region, "source": Customer.source}
    return {name: [tuple(row) for row in session.execute(customers_by(column, owner_id))]
            for name, column in columns.items()}


def overdue_follow_ups(session: Session, owner_id: int | None, day: date) -> list[dict]:
    return [{"owner_id": owner, "username": username, "count": count}
            for owner, username, count in session.execute(overdue_by_owner(owner_id, day))]


def revenue(session: Session, owner_id: int | None, starts: list[datetime], firsts: list[date]) -> list[dict]:
    """Every month of the window, those without sales included, oldest first."""
    found = {month: (amount, count) for month, amount, count in session.execute(revenue_by_month(owner_id, firsts))}
    return [{"start": start, "end": end, "amount": found.get(first, (0, 0))[0] or 0,
             "count": found.get(first, (0, 0))[1] or 0}
            for first, start, end in zip(firsts, starts, starts[1:])]


def complaints(session: Session, owner_id: int | None, now: datetime) -> dict:
    """Open complaints per urgency with those past due, and the satisfaction scores recorded at closing."""
    open_ = {urgency: (count, past_due or 0)
             for urgency, count, past_due in session.execute(open_complaints_by_urgency(owner_id, now))}
    scores = dict(session.execute(satisfaction_scores(owner_id)).all())
    answered = sum(scores.values())
    return {"now": now, "open": open_, "scores": scores, "answered": answered,
            "average": sum(s * n for s, n in scores.items()) / answered if answered else None,
            "satisfied_share": sum(n for s, n in scores.items() if s >= SATISFIED) / answered if answered else None}


def complaint_rate(session: Session, owner_id: int | None, starts: list[datetime]) -> list[dict]:
    """Complaints per 100 active customers in each month between `starts` (None where nobody is active).

    The base is today's active customers: stages are not kept per month, and the rate is read for recent months.
    """
    active, *received = session.execute(complaints_per_month(owner_id, starts)).one()
    active = active or 0
    return [{"start": start, "end": end, "complaints": n, "active": active,
             "rate": n * 100 / active if active else None}
            for start, end, n in zip(starts, starts[1:], received)]


def campaigns(session: Session, participant_owner_id: int | None, revenue_owner_id: int | None) -> list[dict]:
    """Response rate always; the return on cost only over all revenue, as a part of it would understate it."""
    rows = []
    for row in session.execute(recent_campaigns(participant_owner_id, revenue_owner_id)):
        figures = campaign_figures.campaign_results(row, True, participant_owner_id is None, revenue_owner_id is None)
        rows.append({"id": row.id, "name": row.name, "status": row.status, "starts_on": row.starts_on,
                     "cost": figures.cost, "cost_from": figures.cost_from, "invited": row.invited,
                     "responded": row.responded, "converted": row.converted, "revenue": row.revenue,
                     "response_rate": figures.response_rate, "return": figures.roi})
    return rows
