"""Campaign target lists built from a segment (客户分群): who a segment holds, and adding them in one statement.

A segment is a set of criteria over the customer file and its standing: a customer is in it when they meet every
criterion given, and a criterion with several values is met by any of them. Adding a segment to a campaign is one
INSERT ... SELECT that skips the customers already on the list, so a million customers cost one statement, not a
million ORM objects; the batch is logged as one "bulk_insert" entry about the campaign, in the same transaction.
"""
from dataclasses import asdict, dataclass, fields

from sqlalchemy import ColumnElement, Select, exists, func, insert, literal, or_, select, text
from sqlalchemy.orm import Session

from .audit import log_event
from .models import Campaign, CampaignParticipant, Customer, CustomerStanding, utcnow

NO_TIER = "none"  # the tier criterion's value for customers without a tier (they never bought)
TAG_SEPARATORS = ("，", ";", "；", "、")  # written as commas before matching; spaces are ignored
LIKE_ESCAPE = "/"


@dataclass(frozen=True)
class Segment:
    """Criteria, each a tuple of accepted values (empty: not a criterion). owners: user ids, None for no owner."""

    tiers: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    owners: tuple[int | None, ...] = ()

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def criteria(self) -> dict:
        """The criteria given, as lists: what the operation log records."""
        return {name: list(values) for name, values in asdict(self).items() if values}


def _normalised_tags(column) -> ColumnElement:
    """",vip,keyaccount," from "VIP, Key account": every separator a comma, no spaces, lower case, commas around."""
    tags = func.coalesce(column, "")
    for separator in TAG_SEPARATORS:
        tags = func.replace(tags, separator, ",")
    return literal(",") + func.lower(func.replace(tags, " ", "")) + literal(",")


def tag_pattern(tag: str) -> str:
    """The LIKE pattern of one tag as a whole item of a normalised tag list."""
    for separator in TAG_SEPARATORS:
        tag = tag.replace(separator, "")
    tag = tag.replace(" ", "").replace(",", "")
    for special in (LIKE_ESCAPE, "%", "_"):
        tag = tag.replace(special, LIKE_ESCAPE + special)
    return f"%,{tag},%"


def split_tags(typed: str | None) -> tuple[str, ...]:
    """The tags typed in one field ("VIP, 重点客户"), without blanks or repeats, in the order given."""
    typed = typed or ""
    for separator in TAG_SEPARATORS:
        typed = typed.replace(separator, ",")
    seen = []
    for tag in (part.strip() for part in typed.split(",")):
        if tag and tag not in seen:
            seen.append(tag)
    return tuple(seen)


def _any_of(column, values, none_value=object()) -> ColumnElement:
    """column IN values, where `none_value` among them also accepts NULL."""
    named = [v for v in values if v != none_value]
    terms = [column.in_(named)] if named else []
    if len(named) < len(values):
        terms.append(column.is_(None))
    return or_(*terms)


def conditions(segment: Segment, owner_id: int | None) -> list[ColumnElement]:
    """The WHERE terms over customer (and customer_standing, outer-joined) for a segment; `owner_id` limits the
    segment to that user's own customers whatever it says about owners (不得抢客)."""
    s = CustomerStanding
    where = []
    if segment.tiers:
        where.append(_any_of(s.tier, segment.tiers, NO_TIER))
    if segment.stages:
        stage = s.stage.in_(segment.stages)
        # a customer whose standing is not computed yet is a potential customer
        where.append(or_(stage, s.customer_id.is_(None)) if "potential" in segment.stages else stage)
    for column, values in ((Customer.region, segment.regions), (Customer.industry, segment.industries),
                           (Customer.source, segment.sources)):
        if values:
            where.append(column.in_(values))
    if segment.tags:
        tags = _normalised_tags(Customer.tags)
        where.append(or_(*(tags.like(func.lower(literal(tag_pattern(t))), escape=LIKE_ESCAPE) for t in segment.tags)))
    if segment.owners:
        where.append(_any_of(Customer.owner_id, segment.owners, None))
    if owner_id is not None:
        where.append(Customer.owner_id == owner_id)
    return where


def _uses_standing(segment: Segment) -> bool:
    return bool(segment.tiers or segment.stages)


def not_on_list(campaign_id: int) -> ColumnElement:
    return ~exists().where(CampaignParticipant.campaign_id == campaign_id,
                           CampaignParticipant.customer_id == Customer.id)


def segment_customers(campaign_id: int, segment: Segment, owner_id: int | None, *columns) -> Select:
    """The customers of a segment who are not on the campaign's list yet (by default their ids), in id order."""
    stmt = select(*(columns or (Customer.id,))).select_from(Customer)
    if _uses_standing(segment) or any(getattr(c, "class_", None) is CustomerStanding for c in columns):
        stmt = stmt.outerjoin(CustomerStanding, CustomerStanding.customer_id == Customer.id)
    return stmt.where(*conditions(segment, owner_id), not_on_list(campaign_id)).order_by(Customer.id)


def count_new(campaign_id: int, segment: Segment, owner_id: int | None) -> Select:
    """How many customers adding the segment would put on the list."""
    return select(func.count()).select_from(segment_customers(campaign_id, segment, owner_id).order_by(None).subquery())


def add_segment(session: Session, campaign: Campaign, segment: Segment, label: str, owner_id: int | None) -> int:
    """Put the segment's customers who are not on the list yet on it, as invited, labelled `label`; returns how many.

    One INSERT ... SELECT and one operation log entry, in the session's transaction: the caller commits or rolls
    back both. The unique (campaign, customer) constraint stands behind the NOT EXISTS against a simultaneous add.
    """
    now = utcnow()
    p = CampaignParticipant.__table__
    rows = segment_customers(campaign.id, segment, owner_id).with_only_columns(
        literal(campaign.id, p.c.campaign_id.type), Customer.id, literal("invited", p.c.response.type),
        literal(label, p.c.segment.type), literal(1, p.c.version.type), literal(now, p.c.created_at.type),
        literal(now, p.c.updated_at.type), maintain_column_froms=True).order_by(None)
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Statistics taken while the list was small make the planner check NOT EXISTS by scanning campaign_participant
        # once per candidate (a nested loop), and that scan reads the rows this very statement is adding: quadratic,
        # 80 s for 100,000 customers. Any other join reads the list once: 2 s.
        session.execute(text("SET LOCAL enable_nestloop = off"))
    result = session.execute(insert(p).from_select(
        ["campaign_id", "customer_id", "response", "segment", "version", "created_at", "updated_at"], rows)
        .execution_options(preserve_rowcount=True))  # psycopg's rowcount of an INSERT is dropped unless asked
    if postgresql:
        session.execute(text("RESET enable_nestloop"))
    added = result.rowcount
    if added:  # the rows bypass the per-row log (a segment may hold a million customers): the batch is one entry
        log_event(session, "bulk_insert", record=campaign, details={
            "what": "campaign targets", "campaign": campaign.name, "segment": label, "criteria": segment.criteria(),
            "own_customers_of": owner_id, "rows": added})
    return added

