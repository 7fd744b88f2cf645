"""Campaign results (营销活动效果): target list, responses, conversions, attributed paid revenue, cost and return.

The selects serve the campaign's page, the comparison screen and the dashboard alike. Viewers limited to their own
customers pass their user id: `participant_owner_id` counts only their customers on the lists, `revenue_owner_id`
only their customers' purchases (None: everyone's). `Results` turns one row into the figures, "—" being None.
"""
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Float, Select, and_, case, cast, func, nulls_last, select

from ..models import Campaign, CampaignParticipant, Customer, RevenueMonth, Transaction
from ..queries import of_owned_customer

RESPONDED = ("responded", "attended", "converted")  # every step past invited counts as a response
ATTENDED = ("attended", "converted")
CONVERTED = ("converted",)


def _participants(*where):
    return select(func.count()).where(CampaignParticipant.campaign_id == Campaign.id, *where).scalar_subquery()


def _owned_participants(owner_id: int):
    """Per campaign, the owner's customers on its list and how they responded, in one pass over those places joined to
    their customers. Four counts per campaign, each testing ownership place by place, took 1.1 s for a clerk's
    dashboard at a million customers on PostgreSQL."""
    p = CampaignParticipant
    return (select(p.campaign_id, func.count().label("invited"),
                   func.count().filter(p.response.in_(RESPONDED)).label("responded"),
                   func.count().filter(p.response.in_(ATTENDED)).label("attended"),
                   func.count().filter(p.response.in_(CONVERTED)).label("converted"))
            .join(Customer, Customer.id == p.customer_id).where(Customer.owner_id == owner_id)
            .group_by(p.campaign_id).subquery("owned_participants"))


def results(participant_owner_id: int | None, revenue_owner_id: int | None) -> Select:
    """Every campaign with its list size, responses, attendance, conversions and paid revenue: filter, order, limit.

    Revenue comes from the monthly sums (`revenue_month`), which every purchase keeps current, rather than from the
    purchases themselves: the comparison of a hundred campaigns reads a few thousand rows, not millions.
    """
    p = CampaignParticipant
    revenue = select(func.coalesce(func.sum(RevenueMonth.amount), 0)).where(RevenueMonth.campaign_id == Campaign.id)
    if revenue_owner_id is not None:
        revenue = revenue.where(RevenueMonth.owner_id == revenue_owner_id)
    campaign = (Campaign.id, Campaign.name, Campaign.type, Campaign.channel, Campaign.status, Campaign.starts_on,
                Campaign.ends_on, Campaign.budget, Campaign.actual_cost)
    if participant_owner_id is None:  # counted from the index on (campaign, segment, response) alone
        return select(*campaign, _participants().label("invited"),
                      _participants(p.response.in_(RESPONDED)).label("responded"),
                      _participants(p.response.in_(ATTENDED)).label("attended"),
                      _participants(p.response.in_(CONVERTED)).label("converted"),
                      revenue.scalar_subquery().label("revenue"))
    owned = _owned_participants(participant_owner_id)
    return (select(*campaign, *(func.coalesce(owned.c[name], 0).label(name)
                                for name in ("invited", "responded", "attended", "converted")),
                   revenue.scalar_subquery().label("revenue"))
            .outerjoin(owned, owned.c.campaign_id == Campaign.id))


SORTS = ("name", "starts_on", "invited", "responded", "response_rate", "converted", "revenue", "cost",
         "cost_per_conversion", "roi")


def ordered(stmt: Select, sort: str, descending: bool) -> Select:
    """`results()` (filtered) in the order of one of SORTS, empty figures last, newest campaign first on ties."""
    sub = stmt.subquery()
    cost = func.coalesce(sub.c.actual_cost, sub.c.budget)

    def ratio(numerator, denominator):
        return cast(numerator, Float) / func.nullif(cast(denominator, Float), 0)

    keys = {"name": sub.c.name, "starts_on": sub.c.starts_on, "invited": sub.c.invited,
            "responded": sub.c.responded, "response_rate": ratio(sub.c.responded, sub.c.invited),
            "converted": sub.c.converted, "revenue": sub.c.revenue, "cost": cost,
            "cost_per_conversion": ratio(cost, sub.c.converted), "roi": ratio(sub.c.revenue - cost, cost)}
    key = keys[sort]
    return select(sub).order_by(nulls_last(key.desc() if descending else key.asc()),
                                sub.c.starts_on.desc(), sub.c.id.desc())


def segment_counts(campaign_id: int, owner_id: int | None) -> Select:
    """A campaign's list per segment (None: added one by one): size, responses, attendance, conversions."""
    p = CampaignParticipant

    def counted(values):
        return func.coalesce(func.sum(case((p.response.in_(values), 1), else_=0)), 0)

    stmt = (select(p.segment, func.count(), counted(RESPONDED), counted(ATTENDED), counted(CONVERTED))
            .where(p.campaign_id == campaign_id).group_by(p.segment).order_by(p.segment))
    return stmt if owner_id is None else stmt.where(of_owned_customer(p.customer_id, owner_id))


def segment_revenue(campaign_id: int, owner_id: int | None) -> Select:
    """The campaign's paid purchases per segment of their customer: (segment, on the list, amount). A purchase
    attributed to the campaign by a customer who is not on its list has no segment and `on the list` false."""
    p, t = CampaignParticipant, Transaction
    stmt = (select(p.segment, p.campaign_id, func.sum(t.amount))
            .select_from(t)
            .outerjoin(p, and_(p.campaign_id == t.campaign_id, p.customer_id == t.customer_id))
            .where(t.campaign_id == campaign_id, t.status == "paid")
            .group_by(p.segment, p.campaign_id))
    return stmt if owner_id is None else stmt.where(of_owned_customer(t.customer_id, owner_id))


# --- plain figures -------------------------------------------------------------------------------
def ratio(numerator, denominator):
    """numerator / denominator, or None when either is unknown or the denominator is zero (shown as "—")."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    if isinstance(numerator, Decimal) or isinstance(denominator, Decimal):
        return Decimal(numerator) / Decimal(denominator)
    return numerator / denominator


def campaign_cost(actual_cost: Decimal | None, budget: Decimal | None) -> tuple[Decimal | None, str | None]:
    """What a campaign cost: its actual cost once recorded, else its budget; and which of the two it is."""
    if actual_cost is not None:
        return actual_cost, "actual"
    if budget is not None:
        return budget, "budget"
    return None, None


@dataclass
class Results:
    """A campaign's (or a segment's) figures. `revenue` None: not shown to this viewer. Cost-based figures need the
    whole picture: cost per conversion the whole list (`whole_list`), the return all revenue (`all_revenue`)."""

    invited: int
    responded: int
    attended: int
    converted: int
    revenue: Decimal | None
    cost: Decimal | None
    cost_from: str | None = None  # "actual", "budget", "share" (of the campaign's cost, by list size) or None
    whole_list: bool = True
    all_revenue: bool = True

    @property
    def response_rate(self):
        return ratio(self.responded, self.invited)

    @property
    def attendance_rate(self):
        return ratio(self.attended, self.invited)

    @property
    def conversion_rate(self):
        return ratio(self.converted, self.invited)

    @property
    def cost_per_conversion(self) -> Decimal | None:
        return ratio(self.cost, self.converted) if self.whole_list else None

    @property
    def roi(self) -> Decimal | None:
        """投入产出比: (revenue − cost) / cost."""
        if not self.all_revenue or self.revenue is None or self.cost is None:
            return None
        return ratio(self.revenue - self.cost, self.cost)


def campaign_results(row, with_revenue: bool, whole_list: bool, all_revenue: bool) -> Results:
    """The figures of one `results()` row."""
    cost, cost_from = campaign_cost(row.actual_cost, row.budget)
    return Results(invited=row.invited, responded=row.responded, attended=row.attended, converted=row.converted,
                   revenue=row.revenue if with_revenue else None, cost=cost, cost_from=cost_from,
                   whole_list=whole_list, all_revenue=all_revenue and with_revenue)


def per_segment(counts: list, revenue: list, campaign: Results, with_revenue: bool) -> list[tuple]:
    """(segment, on the list, Results) for each segment of a list, then the purchases of customers not on it.

    Each segment bears a share of the campaign's cost in proportion to its size on the list, so that the segments'
    costs add up to the campaign's; revenue per segment is its participants' paid purchases attributed to the
    campaign. A segment with a cost share shows it only when the viewer sees the whole list.
    """
    listed = {segment: amount for segment, on_list, amount in revenue if on_list is not None}
    unlisted = sum((amount for _segment, on_list, amount in revenue if on_list is None), Decimal(0))
    total = sum(row[1] for row in counts)
    rows = []
    # named segments by name, then those added one by one
    for segment, invited, responded, attended, converted in sorted(counts, key=lambda c: (c[0] is None, c[0] or "")):
        share = (campaign.cost * invited / total).quantize(Decimal("0.01")) \
            if campaign.cost is not None and total and campaign.whole_list else None
        rows.append((segment, True, Results(
            invited=invited, responded=responded, attended=attended, converted=converted,
            revenue=listed.get(segment, Decimal(0)) if with_revenue else None, cost=share,
            cost_from="share" if share is not None else None, whole_list=campaign.whole_list,
            all_revenue=campaign.all_revenue)))
    if with_revenue and unlisted:
        rows.append((None, False, Results(invited=0, responded=0, attended=0, converted=0, revenue=unlisted,
                                          cost=None, whole_list=campaign.whole_list,
                                          all_revenue=campaign.all_revenue)))
    return rows
