"""Follow-up figures over the stored, indexed due dates in customer_standing: who is due, without a full COUNT."""
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select

from ..models import Complaint, CustomerStanding, User

# "This week" is the next seven business days, today included (today .. today + 6): a rolling window, so that
# on a Friday the list still shows Monday's customers and on a Sunday it is not one day long.
WEEK_DAYS = 7
BUCKETS = ("overdue", "today", "week")
COUNT_CAP = 1000  # counts above this are shown as "1000+": a capped count reads at most this many index entries

# Waiting for feedback to the customer: the handbooks' step 6 (carry out the solution, status "in_progress")
# is done or under way and step 7 (report the result to the customer, "result_reported") has not happened yet.
WAITING_FOR_FEEDBACK = "in_progress"


def last_due_day(day: date) -> date:
    """The last day of the window the Follow-ups screen shows."""
    return day + timedelta(days=WEEK_DAYS - 1)


def due_in(day: date, bucket: str | None = None) -> ColumnElement[bool]:
    """Customers due in a bucket (overdue, due today, due later this week), or in any of them when bucket is None."""
    due = CustomerStanding.next_follow_up_on
    if bucket == "overdue":
        return due < day
    if bucket == "today":
        return due == day
    if bucket == "week":
        return and_(due > day, due <= last_due_day(day))
    return due <= last_due_day(day)


def of_owner(owner_id: int | None) -> ColumnElement[bool]:
    """Customers of one owner; None means the customers nobody owns."""
    return CustomerStanding.owner_id.is_(None) if owner_id is None else CustomerStanding.owner_id == owner_id


def bucket_counts(day: date, *where: ColumnElement[bool], cap: int = COUNT_CAP) -> Select:
    """One row: the customers overdue, due today and due later this week, each counted up to cap + 1."""
    def capped(bucket: str):
        rows = select(literal(1)).select_from(CustomerStanding).where(due_in(day, bucket), *where).limit(cap + 1)
        return select(func.count()).select_from(rows.subquery()).scalar_subquery()

    return select(*(capped(bucket).label(bucket) for bucket in BUCKETS))


def owner_summary(day: date) -> Select:
    """Per owner (None: unassigned): overdue, due today, due later this week; one GROUP BY over the due index."""
    s = CustomerStanding
    counts = [func.coalesce(func.sum(case((due_in(day, bucket), 1), else_=0)), 0).label(bucket) for bucket in BUCKETS]
    return (select(s.owner_id, User.username, User.display_name, *counts)
            .outerjoin(User, User.id == s.owner_id)
            .where(due_in(day))
            .group_by(s.owner_id, User.username, User.display_name)
            .order_by(User.username))


def waiting_for_feedback() -> Select:
    """Complaints whose result is still to be reported to the customer, the most overdue first, then the oldest."""
    return (select(Complaint)
            .where(Complaint.status == WAITING_FOR_FEEDBACK)
            # in the order of ix_complaint_status_due_at, so PostgreSQL reads the first page from it
            .order_by(Complaint.due_at.asc().nulls_last(), Complaint.received_at, Complaint.id))


def bucket_of(day: date, due: date | None) -> str | None:
    """The bucket a due date falls in today (as due_in() decides in SQL), None past this week: where a row moves."""
    if due is None or due > last_due_day(day):
        return None
    return "overdue" if due < day else "today" if due == day else "week"
