"""Personal data requests (客户要求删除或修改个人信息): what the customer asked, who carried it out, and when."""
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import enum_column, utcnow
from .customer import Customer
from .user import User


class PersonalDataRequest(db.Model):
    __tablename__ = "personal_data_request"
    __table_args__ = (Index("ix_personal_data_request_performed_at_id", "performed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # an erased customer stays (their purchases count in the figures), so the request keeps pointing at them
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(enum_column(choices.PERSONAL_DATA_REQUEST), nullable=False, index=True)
    received_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    channel: Mapped[str] = mapped_column(enum_column(choices.CONTACT_CHANNEL), nullable=False, index=True)
    reference: Mapped[Optional[str]] = mapped_column(String(100))  # the request's ticket or letter number
    note: Mapped[Optional[str]] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(String(255), nullable=False)  # the fields changed or erased, comma-separated
    performed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    performed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    batch_id: Mapped[Optional[str]] = mapped_column(String(36), index=True)  # its changes in the operation log

    customer: Mapped[Customer] = relationship()
    performed_by: Mapped[Optional[User]] = relationship()

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} #{self.customer_id}"
