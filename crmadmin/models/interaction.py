"""Contacts (交互记录 / 跟进记录): every call, email and visit; the follow-up list is built from them."""
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import VersionedMixin, enum_column
from .customer import Customer
from .user import User


class Interaction(VersionedMixin, db.Model):
    __tablename__ = "interaction"
    __table_args__ = (Index("ix_interaction_customer_id_occurred_at", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # contact history belongs to the customer file and goes with it
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), nullable=False)
    channel: Mapped[str] = mapped_column(enum_column(choices.CONTACT_CHANNEL), nullable=False, index=True)
    direction: Mapped[str] = mapped_column(enum_column(choices.DIRECTION), nullable=False, default="outbound", index=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    outcome: Mapped[Optional[str]] = mapped_column(String(255))
    handled_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    next_follow_up_on: Mapped[Optional[date]] = mapped_column(Date, index=True)

    customer: Mapped[Customer] = relationship(back_populates="interactions")
    handled_by: Mapped[Optional[User]] = relationship()

    def __str__(self) -> str:
        return f"#{self.id} {self.channel} {self.occurred_at:%Y-%m-%d}" if self.occurred_at else f"#{self.id}"
