"""Tier and churn figures over customer_standing: selects for the Tiers and Churn Warning screens."""
from sqlalchemy import Select, func, select

from ..models import CustomerStanding


def tier_totals(owner_id: int | None) -> Select:
    """Customers and their spend in the window, per tier (None: never bought), for everyone or one owner."""
    s = CustomerStanding
    stmt = select(s.tier, func.count(), func.coalesce(func.sum(s.window_amount), 0)).group_by(s.tier)
    return stmt if owner_id is None else stmt.where(s.owner_id == owner_id)


def at_risk_total(owner_id: int | None) -> Select:
    s = CustomerStanding
    stmt = select(func.count(), func.coalesce(func.sum(s.window_amount), 0)).where(s.stage == "at_risk")
    return stmt if owner_id is None else stmt.where(s.owner_id == owner_id)
