"""Satisfaction figures (客户满意度): NPS and CSAT per month, per owner and per value tier, from survey answers.

NPS (净推荐值) = % promoters (推荐者, 9–10) − % detractors (贬损者, 0–6) of the NPS answers, from −100 to 100;
passives (被动者, 7–8) count only in the total. CSAT (客户满意度) is the average 1–5 score, and the share of
satisfied answers (4–5). Periods are [since, until) ranges of the date answered, a calendar date as the customer
gave it. `owner_id` None means every customer's answers; otherwise only those of the customers that user owns
(不得抢客). The selects return tallies, never ratios, so an empty period is zeros, not a division by zero.
"""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, case, extract, func, select
from sqlalchemy.orm import Session

from ..models import Customer, CustomerStanding, SurveyResponse, User
from ..queries import of_owned_customer
from .dashboard import month_firsts

PROMOTER_MIN = 9
DETRACTOR_MAX = 6
SATISFIED_MIN = 4


@dataclass(frozen=True)
class Figures:
    """The tallies of a set of answers and the figures made of them; None where there is no answer to count."""

    nps_answers: int = 0
    promoters: int = 0
    detractors: int = 0
    csat_answers: int = 0
    csat_total: int = 0
    satisfied: int = 0

    @property
    def passives(self) -> int:
        return self.nps_answers - self.promoters - self.detractors

    @property
    def responses(self) -> int:
        return self.nps_answers + self.csat_answers

    @property
    def nps(self) -> float | None:
        """From −100 (all detractors) to 100 (all promoters)."""
        return 100 * (self.promoters - self.detractors) / self.nps_answers if self.nps_answers else None

    @property
    def csat_average(self) -> float | None:
        return self.csat_total / self.csat_answers if self.csat_answers else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.csat_answers if self.csat_answers else None


NONE = Figures()


def _tallies() -> tuple:
    """The columns each figure is made of, in the order of Figures' fields."""
    r = SurveyResponse
    nps, csat = r.kind == "nps", r.kind == "csat"

    def answers(*conditions):
        return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

    return (answers(nps), answers(nps, r.score >= PROMOTER_MIN), answers(nps, r.score <= DETRACTOR_MAX),
            answers(csat), func.coalesce(func.sum(case((csat, r.score), else_=0)), 0),
            answers(csat, r.score >= SATISFIED_MIN))


def _figures(row) -> Figures:
    return Figures(*(int(value or 0) for value in row))


def _answered(stmt: Select, owner_id: int | None, since: date | None, until: date | None) -> Select:
    """Answers given in [since, until) (either end open when None), of the owner's customers when one is given."""
    if since is not None:
        stmt = stmt.where(SurveyResponse.answered_on >= since)
    if until is not None:
        stmt = stmt.where(SurveyResponse.answered_on < until)
    return stmt if owner_id is None else stmt.where(of_owned_customer(SurveyResponse.customer_id, owner_id))


# --- the selects --------------------------------------------------------------------------------
def totals(owner_id: int | None, since: date | None, until: date | None) -> Select:
    """One row of tallies over the period."""
    return _answered(select(*_tallies()), owner_id, since, until)


def by_month(owner_id: int | None, since: date, until: date) -> Select:
    """Tallies per calendar month answered: (year, month, *tallies); months without answers have no row."""
    year, month = extract("year", SurveyResponse.answered_on), extract("month", SurveyResponse.answered_on)
    return _answered(select(year, month, *_tallies()).group_by(year, month), owner_id, since, until)


def by_owner(owner_id: int | None, since: date | None, until: date | None) -> Select:
    """Tallies per owner of the answering customer: (owner id or None, user name, display name, *tallies)."""
    stmt = (select(Customer.owner_id, User.username, User.display_name, *_tallies())
            .join(Customer, Customer.id == SurveyResponse.customer_id)
            .outerjoin(User, User.id == Customer.owner_id)
            .group_by(Customer.owner_id, User.username, User.display_name))
    return _answered(stmt, owner_id, since, until)


def by_tier(owner_id: int | None, since: date | None, until: date | None) -> Select:
    """Tallies per value tier of the answering customer now: (tier or None, *tallies)."""
    stmt = (select(CustomerStanding.tier, *_tallies())
            .outerjoin(CustomerStanding, CustomerStanding.customer_id == SurveyResponse.customer_id)
            .group_by(CustomerStanding.tier))
    return _answered(stmt, owner_id, since, until)


# --- plain data ---------------------------------------------------------------------------------
def overall(session: Session, owner_id: int | None, since: date | None, until: date | None) -> Figures:
    return _figures(session.execute(totals(owner_id, since, until)).one())


def monthly(session: Session, owner_id: int | None, day: date, months: int = 12) -> list[tuple[date, Figures]]:
    """Each of the last `months` months up to `day`'s, oldest first, those without answers included (all zero)."""
    firsts = month_firsts(day, months)
    found = {(int(year), int(month)): _figures(rest)
             for year, month, *rest in session.execute(by_month(owner_id, firsts[0], firsts[-1]))}
    return [(first, found.get((first.year, first.month), NONE)) for first in firsts[:-1]]


def per_owner(session: Session, owner_id: int | None, since: date | None,
              until: date | None) -> list[dict]:
    """Owners whose customers answered, by name; customers without an owner last."""
    rows = [{"owner_id": owner, "username": username, "name": display_name or username, "figures": _figures(rest)}
            for owner, username, display_name, *rest in session.execute(by_owner(owner_id, since, until))]
    return sorted(rows, key=lambda row: (row["owner_id"] is None, str(row["name"] or "").lower()))


def per_tier(session: Session, owner_id: int | None, since: date | None,
             until: date | None) -> dict[str | None, Figures]:
    """Tier (None: no tier, never bought) -> figures; tiers without answers are left out."""
    return {tier: _figures(rest) for tier, *rest in session.execute(by_tier(owner_id, since, until))}
