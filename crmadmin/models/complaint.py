"""Complaints (客户投诉): received, classified, assigned, worked and closed on time, each step kept."""
from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import VersionedMixin, enum_column, utcnow
from .customer import Customer
from .user import User


class Complaint(VersionedMixin, db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        CheckConstraint("satisfaction_score IS NULL OR satisfaction_score BETWEEN 1 AND 5", name="satisfaction_range"),
        Index("ix_complaint_status_due_at", "status", "due_at", "received_at", "id"),  # complaints awaiting a step
        # the Overdue Complaints screen: urgent first, then the earliest deadline
        Index("ix_complaint_urgency_next_due_at_id", "urgency", "next_due_at", "id"),
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
    rejection_reason: Mapped[Optional[str]] = mapped_column(Text)
    # deadlines from urgency and severity (crmadmin/complaints/deadlines.py): first response, then resolution
    respond_due_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    responded_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    due_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    # the deadline that applies now (response until the first step, then resolution); empty once closed
    next_due_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)

    customer: Mapped[Customer] = relationship()
    assignee: Mapped[Optional[User]] = relationship()
    steps: Mapped[list["ComplaintStep"]] = relationship(
        back_populates="complaint", order_by="ComplaintStep.id", cascade="all, delete-orphan", passive_deletes=True)

    def __str__(self) -> str:
        return f"#{self.id} {self.subject}"


class ComplaintStep(db.Model):
    """One move of a complaint through its process: who made it, when, from which state to which, and why."""

    __tablename__ = "complaint_step"
    __table_args__ = (Index("ix_complaint_step_complaint_id_id", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), nullable=False)
    move: Mapped[str] = mapped_column(enum_column(choices.COMPLAINT_MOVE), nullable=False)
    from_status: Mapped[Optional[str]] = mapped_column(
        enum_column(choices.COMPLAINT_STATUS, name="complaint_step_from"))
    to_status: Mapped[str] = mapped_column(enum_column(choices.COMPLAINT_STATUS, name="complaint_step_to"),
                                           nullable=False)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    note: Mapped[Optional[str]] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="steps")
    actor: Mapped[Optional[User]] = relationship()

    def __str__(self) -> str:
        return f"#{self.complaint_id} {self.move} → {self.to_status}"
