"""Campaigns (营销活动) and their target lists with each participant's response."""
from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import Money, VersionedMixin, enum_column
from .customer import Customer
from .user import User

SEGMENT_LABEL_CHARS = 120


class Campaign(VersionedMixin, db.Model):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("budget IS NULL OR budget >= 0", name="budget_not_negative"),
        CheckConstraint("actual_cost IS NULL OR actual_cost >= 0", name="actual_cost_not_negative"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(enum_column(choices.CAMPAIGN_TYPE), nullable=False, index=True)
    channel: Mapped[str] = mapped_column(enum_column(choices.CONTACT_CHANNEL), nullable=False, index=True)
    status: Mapped[str] = mapped_column(enum_column(choices.CAMPAIGN_STATUS), nullable=False, default="planned",
                                        index=True)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    ends_on: Mapped[Optional[date]] = mapped_column(Date, index=True)
    budget: Mapped[Optional[Decimal]] = mapped_column(Money, index=True)
    actual_cost: Mapped[Optional[Decimal]] = mapped_column(Money, index=True)
    description: Mapped[Optional[str]] = mapped_column(Text)
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    owner: Mapped[Optional[User]] = relationship()
    participants: Mapped[list["CampaignParticipant"]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )

    def __str__(self) -> str:
        return self.name

    @classmethod
    def label_sql(cls, row):
        """__str__ as SQL (`row`: this class or an alias), for exports that build no records."""
        return row.name


class CampaignParticipant(VersionedMixin, db.Model):
    """A customer on a campaign's target list and how far they responded."""

    __tablename__ = "campaign_participant"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_campaign_participant_campaign_customer"),
        # a campaign's results per segment and response, counted from the index alone
        Index("ix_campaign_participant_campaign_id_segment_response", "campaign_id", "segment", "response"),
        # the campaign page's timeline of responses, newest first, a page read straight from the index
        Index("ix_campaign_participant_campaign_id_responded_at_id", "campaign_id", "responded_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), nullable=False, index=True)
    response: Mapped[str] = mapped_column(
        enum_column(choices.PARTICIPANT_RESPONSE), nullable=False, default="invited", index=True
    )
    responded_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    note: Mapped[Optional[str]] = mapped_column(String(255))
    # the segment whose criteria put them on the list (None: added one by one), so results can be shown per segment
    segment: Mapped[Optional[str]] = mapped_column(String(SEGMENT_LABEL_CHARS), index=True)

    campaign: Mapped[Campaign] = relationship(back_populates="participants")
    customer: Mapped[Customer] = relationship(back_populates="participations")

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.customer_id}"


