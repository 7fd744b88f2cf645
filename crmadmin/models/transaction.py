"""Purchases (交易记录): they feed tiers, lifecycle, churn warning and campaign returns."""
from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import Money, VersionedMixin, enum_column
from .campaign import Campaign
from .customer import Customer


class Transaction(VersionedMixin, db.Model):
    __tablename__ = "transaction"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_transaction_customer_id_occurred_at", "customer_id", "occurred_at"),
        # paid purchases per customer, with the amount: the standing figures come from this index alone
        Index("ix_transaction_paid_customer_id", "customer_id", "occurred_at", "amount",
              sqlite_where=text("status = 'paid'"), postgresql_where=text("status = 'paid'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # a purchase is a financial fact: a customer with purchases cannot be deleted (erasure anonymises instead)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"), nullable=False)
    product: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1, index=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False, index=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY", index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    channel: Mapped[str] = mapped_column(enum_column(choices.SALES_CHANNEL), nullable=False, index=True)
    status: Mapped[str] = mapped_column(
        enum_column(choices.TRANSACTION_STATUS), nullable=False, default="paid", index=True
    )
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaign.id", ondelete="SET NULL"), index=True)

    customer: Mapped[Customer] = relationship()
    campaign: Mapped[Optional[Campaign]] = relationship()

    def __str__(self) -> str:
        return f"#{self.id} {self.product} {self.amount} {self.currency}"
