"""One customer's whole story, newest first: purchases, contacts, complaints, campaign responses, survey answers and
logged changes, as one keyset-paged select (a cursor of (time, kind, id), never OFFSET).

Each kind is its own branch, narrowed to the customer, past the cursor and to one page (each along an index of
customer and time), so a page costs the same at 3 records as at 10,000; the union of those short branches is sorted
once more and cut to the page. The rows themselves are then read per kind, by id (`kind_rows`). No Flask here.
"""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, DateTime, Integer, Select, String, and_, func, literal, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.functions import FunctionElement

from ..models import AuditEntry, CampaignParticipant, Complaint, Interaction, SurveyResponse, Transaction

# the kinds, in the order of their filter links; the stored strings also break ties of equal times (descending)
KINDS = ("purchase", "contact", "complaint", "campaign", "survey", "change")
CURSOR_SEPARATOR = "~"


class day_start(FunctionElement):
    """A local date as the UTC moment its day begins (its second argument: the local zone's offset from UTC, in
    minutes), comparable and sortable with stored date-times on both databases."""

    type = DateTime()
    inherit_cache = True
    name = "day_start"


@compiles(day_start)
def _day_start(element, compiler, **kw):
    day, minutes = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({day} AS TIMESTAMP) - ({minutes}) * INTERVAL '1 minute')"


@compiles(day_start, "sqlite")
def _day_start_sqlite(element, compiler, **kw):
    # SQLite keeps date-times as text, "YYYY-MM-DD HH:MM:SS.ffffff": a date's midnight must read the same way
    day, minutes = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(datetime({day}, (-({minutes})) || ' minutes') || '.000000')"


@dataclass(frozen=True)
class Cursor:
    """The last item of a page: the next page starts just after it in (time, kind, id) order, descending."""

    moment: datetime
    kind: str
    id: int

    def text(self) -> str:
        return CURSOR_SEPARATOR.join((self.moment.isoformat(), self.kind, str(self.id)))

    @classmethod
    def parse(cls, text: str | None) -> "Cursor | None":
        """A cursor from a URL; None for anything that is not one (the page then starts at the newest)."""
        parts = (text or "").split(CURSOR_SEPARATOR)
        if len(parts) != 3 or parts[1] not in KINDS or not parts[2].isdigit() or len(parts[2]) > 18:
            return None
        try:
            moment = datetime.fromisoformat(parts[0])
        except ValueError:
            return None
        return None if moment.tzinfo is not None else cls(moment, parts[1], int(parts[2]))


def _branches(customer_id: int, log_criterion: ColumnElement[bool] | None, utc_offset_minutes: int) -> dict:
    """kind -> (the select of its rows about the customer, its time, its id)."""
    participant_time = func.coalesce(CampaignParticipant.responded_at, CampaignParticipant.created_at)
    branches = {
        "purchase": (select().where(Transaction.customer_id == customer_id), Transaction.occurred_at, Transaction.id),
        "contact": (select().where(Interaction.customer_id == customer_id), Interaction.occurred_at, Interaction.id),
        "complaint": (select().where(Complaint.customer_id == customer_id), Complaint.received_at, Complaint.id),
        "campaign": (select().where(CampaignParticipant.customer_id == customer_id), participant_time,
                     CampaignParticipant.id),
        "survey": (select().where(SurveyResponse.customer_id == customer_id), day_start(SurveyResponse.answered_on,
                                                                                     literal(utc_offset_minutes)),
                   SurveyResponse.id),
    }
    if log_criterion is not None:
        about = select().where(AuditEntry.record_type == "customer", AuditEntry.record_id == str(customer_id))
        branches["change"] = (about.where(log_criterion), AuditEntry.occurred_at, AuditEntry.id)
    return branches


def _after(kind: str, moment, row_id, cursor: Cursor) -> ColumnElement[bool]:
    """The rows of one kind that come after the cursor: with the kind fixed, (time, id) is all that is compared."""
    if kind < cursor.kind:
        return moment <= cursor.moment
    if kind > cursor.kind:
        return moment < cursor.moment
    return or_(moment < cursor.moment, and_(moment == cursor.moment, row_id < cursor.id))


def timeline(customer_id: int, kinds=KINDS, after: Cursor | None = None, size: int = 20,
             log_criterion: ColumnElement[bool] | None = None, utc_offset_minutes: int = 0) -> Select:
    """(moment, kind, id) of the customer's next `size` items, newest first; ask for size + 1 to learn whether more
    follow. The log's changes are in only when `log_criterion` says which entries the reader may see (true(): all)."""
    parts = []
    for kind, (stmt, moment, row_id) in _branches(customer_id, log_criterion, utc_offset_minutes).items():
        if kind not in kinds:
            continue
        if after is not None:
            stmt = stmt.where(_after(kind, moment, row_id, after))
        branch = (stmt.add_columns(moment.label("moment"), literal(kind, String).label("kind"),
                                   row_id.label("id"))
                  .order_by(moment.desc(), row_id.desc()).limit(size))
        parts.append(select(branch.subquery()))
    if not parts:
        return select(literal(None, DateTime).label("moment"), literal("", String).label("kind"),
                      literal(0, Integer).label("id")).where(literal(False))
    union = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    return select(union.c.moment, union.c.kind, union.c.id).order_by(
        union.c.moment.desc(), union.c.kind.desc(), union.c.id.desc()).limit(size)


def kind_rows(kind: str, ids) -> Select:
    """The records of one kind on a page, with what the timeline shows of them loaded in the same statement."""
    ids = list(ids)
    if kind == "purchase":
        return select(Transaction).options(joinedload(Transaction.campaign)).where(Transaction.id.in_(ids))
    if kind == "contact":
        return select(Interaction).options(joinedload(Interaction.handled_by)).where(Interaction.id.in_(ids))
    if kind == "complaint":
        return select(Complaint).options(joinedload(Complaint.assignee)).where(Complaint.id.in_(ids))
    if kind == "campaign":
        return (select(CampaignParticipant).options(joinedload(CampaignParticipant.campaign))
                .where(CampaignParticipant.id.in_(ids)))
    if kind == "survey":
        return select(SurveyResponse).where(SurveyResponse.id.in_(ids))
    if kind == "change":
        return select(AuditEntry).where(AuditEntry.id.in_(ids))
    raise ValueError(kind)


def as_moment(value) -> datetime:
    """The union's time column as a datetime (SQLite may hand back a survey's day as text)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value))
