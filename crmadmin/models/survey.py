"""Satisfaction surveys (客户满意度调查): one customer's answer to an NPS or CSAT question."""
from datetime import date
from typing import Optional

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import VersionedMixin, enum_column
from .campaign import Campaign
from .complaint import Complaint
from .customer import Customer
from .user import User

# the scale of each kind of question: NPS "how likely are you to recommend us" 0–10, CSAT "how satisfied" 1–5
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5)}


class SurveyResponse(VersionedMixin, db.Model):
    __tablename__ = "survey_response"
    __table_args__ = (
        CheckConstraint("kind <> 'nps' OR score BETWEEN 0 AND 10", name="nps_score_range"),
        CheckConstraint("kind <> 'csat' OR score BETWEEN 1 AND 5", name="csat_score_range"),
        # the list's order (newest answers first) and the monthly figures: one index range
        Index("ix_survey_response_answered_on_id", "answered_on", "id"),
        # a customer's answers, and a clerk's own customers' answers by date
        Index("ix_survey_response_customer_id_answered_on", "customer_id", "answered_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # an answer is evidence of service quality, as a complaint is: the customer cannot be deleted while it exists
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), nullable=False)
    kind: Mapped[str] = mapped_column(enum_column(choices.SURVEY_KIND), nullable=False, index=True)
    score: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    channel: Mapped[str] = mapped_column(enum_column(choices.CONTACT_CHANNEL), nullable=False, index=True)
    answered_on: Mapped[date] = mapped_column(Date, nullable=False)
    comment: Mapped[Optional[str]] = mapped_column(Text)
    # what the survey asked about, if anything: the answer stays when that record goes
    complaint_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint.id", ondelete="SET NULL"), index=True)
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"), index=True)
    # who typed it in (None: imported from a file; the operation log names the operator)
    entered_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    customer: Mapped[Customer] = relationship()
    complaint: Mapped[Optional[Complaint]] = relationship()
    campaign: Mapped[Optional[Campaign]] = relationship()
    entered_by: Mapped[Optional[User]] = relationship()

    def __str__(self) -> str:
        answer = f"{(self.kind or '').upper()} {self.score}"  # "NPS 9", the same in every language
        return f"#{self.id} {answer}" if self.id else answer
