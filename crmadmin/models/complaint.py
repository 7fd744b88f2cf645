"""Complaints (客户投诉): received, classified, assigned, worked and closed on time."""
from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import VersionedMixin, enum_column
from .customer import Customer
from .user import User


class Complaint(VersionedMixin, db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        CheckConstraint("satisfaction_score IS NULL OR satisfaction_score BETWEEN 1 AND 5", name="satisfaction_range"),
        Index("ix_complaint_status_due_at", "status", "due_at", "received_at", "id"),  # complaints awaiting a step
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # a complaint is evidence of service quality: the customer cannot be deleted while it exists
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    channel: Mapped[str] = mapped_column(enum_column(choices.CONTACT_CHANNEL), nullable=False, index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    type: Mapped[str] = mapped_column(enum_column(choices.COMPLAINT_TYPE), nullable=False, index=True)
    severity: Mapped[str] = mapped_column(enum_column(choices.COMPLAINT_SEVERITY), nullable=False, default="general", index=True)
    urgency: Mapped[str] = mapped_column(enum_column(choices.COMPLAINT_URGENCY), nullable=False, default="normal", index=True)
    status: Mapped[str] = mapped_column(enum_column(choices.COMPLAINT_STATUS), nullable=False, default="received", index=True)
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    department: Mapped[Optional[str]] = mapped_column(String(100), index=True)
    solution: Mapped[Optional[str]] = mapped_column(Text)
    action_taken: Mapped[Optional[str]] = mapped_column(Text)
    customer_feedback: Mapped[Optional[str]] = mapped_column(Text)
    satisfaction_score: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    due_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)

    customer: Mapped[Customer] = relationship()
    assignee: Mapped[Optional[User]] = relationship()

    def __str__(self) -> str:
        return f"#{self.id} {self.subject}"
