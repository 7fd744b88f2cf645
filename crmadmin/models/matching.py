"""Normalised keys of each customer's phone, e-mail, name, company and address: what duplicate detection groups by."""
from typing import Optional

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

KEY_CHARS = 255


class CustomerMatch(db.Model):
    """One row per customer, derived like the standing (crmadmin/matching.py), never edited and not logged."""

    __tablename__ = "customer_match"
    __table_args__ = (
        # blocks for name comparison: customers at one company (or one address), neighbours by name key
        Index("ix_customer_match_company_name", "company", "name"),
        Index("ix_customer_match_address_name", "address", "name"),
    )

    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[Optional[str]] = mapped_column(String(32), index=True)  # E.164
    email: Mapped[Optional[str]] = mapped_column(String(254), index=True)  # trimmed, lower case
    name: Mapped[Optional[str]] = mapped_column(String(KEY_CHARS))  # sound of the name: pinyin, Latin letters
    company: Mapped[Optional[str]] = mapped_column(String(KEY_CHARS))  # letters and digits, case folded
    address: Mapped[Optional[str]] = mapped_column(String(KEY_CHARS))

    def __str__(self) -> str:
        return f"#{self.customer_id}"
