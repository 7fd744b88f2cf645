"""A customer's standing (客户分级, 生命周期, 回访): figures derived from purchases and contacts, kept apart
from the customer file so that keeping them current never bumps the file's version or its operation log."""
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import Money, enum_column, utcnow
from .customer import Customer
from .user import User


class CustomerStanding(db.Model):
    """One row per customer, rewritten by crmadmin.standing whenever a purchase, contact or the customer changes."""

    __tablename__ = "customer_standing"
    __table_args__ = (
        Index("ix_customer_standing_tier_window_amount", "tier", "window_amount"),
        Index("ix_customer_standing_stage_window_amount", "stage", "window_amount"),
        # the follow-up list's order (due date, then customer) read straight from an index, for everyone or one owner
        Index("ix_customer_standing_next_follow_up_on_customer_id", "next_follow_up_on", "customer_id"),
        Index("ix_customer_standing_owner_id_next_follow_up_on_customer_id", "owner_id", "next_follow_up_on",
              "customer_id"),
        Index("ix_customer_standing_owner_id_tier_window_amount", "owner_id", "tier", "window_amount"),
        Index("ix_customer_standing_owner_id_window_amount", "owner_id", "window_amount"),  # a clerk's tiers, all
        Index("ix_customer_standing_owner_id_stage_window_amount", "owner_id", "stage", "window_amount"),
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    # a copy of the customer's owner, so "my follow-ups" and scoped screens are one index range
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # purchases (paid ones only): lifetime, the tier window, and the two halves of the window
    first_purchase_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_purchase_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    purchase_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    window_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    window_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=0, index=True)
    recent_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=0)
    previous_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=0)
    # what the rules make of them
    tier: Mapped[Optional[str]] = mapped_column(enum_column(choices.VALUE_TIER))
    tier_since: Mapped[Optional[date]] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(enum_column(choices.LIFECYCLE_STAGE), nullable=False, default="potential")
    stage_since: Mapped[Optional[date]] = mapped_column(Date)
    # contacts
    last_contact_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    last_interaction_id: Mapped[Optional[int]] = mapped_column(ForeignKey("interaction.id", ondelete="SET NULL"),
                                                               index=True)
    next_follow_up_on: Mapped[Optional[date]] = mapped_column(Date)
    due_set_by_contact: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # a next follow-up moved by hand before anyone contacted the customer (no contact to carry the date): kept by
    # the rules while they have no contact, cleared by the first one (crmadmin/followups.py, standing/rules.py)
    rescheduled_to: Mapped[Optional[date]] = mapped_column(Date)
    # when the live path or a refresh last wrote the row: the compare-and-set token of refreshes
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    customer: Mapped[Customer] = relationship(foreign_keys=[customer_id], viewonly=True)
    owner: Mapped[Optional[User]] = relationship(foreign_keys=[owner_id], viewonly=True)
    last_interaction = relationship("Interaction", foreign_keys=[last_interaction_id], viewonly=True)

    def __str__(self) -> str:
        return f"#{self.customer_id}"


class StandingChange(db.Model):
    """A customer's tier or lifecycle stage changed on this day: the history of their standing."""

    __tablename__ = "standing_change"
    __table_args__ = (Index("ix_standing_change_customer_id_changed_at", "customer_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # "tier" or "stage"
    before: Mapped[Optional[str]] = mapped_column(String(16))
    after: Mapped[Optional[str]] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)


class Setting(db.Model):
    """A rule an administrator tunes in the panel (tier thresholds, lifecycle and follow-up cadence)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    @property
    def id(self) -> str:  # the operation log names records by id
        return self.key

    def __str__(self) -> str:
        return self.key


class RevenueMonth(db.Model):
    """Paid purchases per owner, month (in the panel's zone), campaign and currency, kept as purchases change.

    The dashboard sums these few thousand rows instead of ten million purchases. Zero stands for "no owner" and
    "no campaign" so that every column can be part of the key.
    """

    __tablename__ = "revenue_month"

    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=0)
    purchases: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
