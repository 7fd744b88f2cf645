"""The customer file (客户档案): identity, contact, company, source, owner and derived standing."""
from datetime import date, datetime
from typing import TYPE_CHECKING, Optional

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, CheckConstraint, Index, cast
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import choices
from ..extensions import db
from .base import VersionedMixin, enum_column
from .user import User

if TYPE_CHECKING:  # resolved by name at mapping time; imported here only for readers and type checkers
    from .campaign import CampaignParticipant
    from .interaction import Interaction
    from .standing import CustomerStanding


class Customer(VersionedMixin, db.Model):
    __tablename__ = "customer"
    __table_args__ = (
        CheckConstraint("follow_up_days IS NULL OR follow_up_days BETWEEN 1 AND 365", name="follow_up_days_range"),
        Index("ix_customer_owner_id_name", "owner_id", "name"),
        # one owner's customers by region or source (the dashboard of a clerk) without visiting their rows
        Index("ix_customer_owner_id_region", "owner_id", "region"),
        Index("ix_customer_owner_id_source", "owner_id", "source"),
        Index("ix_customer_created_at", "created_at"),
        Index("ix_customer_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # identity
    name: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(enum_column(choices.CUSTOMER_KIND), nullable=False, default="person", index=True)
    gender: Mapped[Optional[str]] = mapped_column(enum_column(choices.GENDER))
    birthday: Mapped[Optional[date]] = mapped_column(Date)
    # contact
    mobile: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    email: Mapped[Optional[str]] = mapped_column(String(254), index=True)
    address: Mapped[Optional[str]] = mapped_column(String(255))
    region: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    # company
    company_name: Mapped[Optional[str]] = mapped_column(String(200), index=True)
    position: Mapped[Optional[str]] = mapped_column(String(100))
    industry: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    company_size: Mapped[Optional[str]] = mapped_column(enum_column(choices.COMPANY_SIZE))
    # origin
    source: Mapped[Optional[str]] = mapped_column(enum_column(choices.SOURCE), index=True)
    referred_by_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    # knowledge of the customer
    preferences: Mapped[Optional[str]] = mapped_column(Text)
    interests: Mapped[Optional[str]] = mapped_column(Text)
    needs: Mapped[Optional[str]] = mapped_column(Text)
    notes: Mapped[Optional[str]] = mapped_column(Text)
    tags: Mapped[Optional[str]] = mapped_column(String(255))
    credit_rating: Mapped[Optional[str]] = mapped_column(enum_column(choices.CREDIT_RATING), index=True)
    # ownership (不得抢客): users are disabled, not deleted, but a deleted owner leaves the customer unowned
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # the follow-up cadence for this customer, if not their tier's (the standing keeps the due date)
    follow_up_days: Mapped[Optional[int]] = mapped_column(Integer)
    # set when the customer's personal data was erased on their request (crmadmin/privacy.py)
    erased_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    owner: Mapped[Optional[User]] = relationship(foreign_keys=[owner_id])
    referred_by: Mapped[Optional["Customer"]] = relationship(remote_side=[id], foreign_keys=[referred_by_id])
    # The ORM deletes a customer's contact history and campaign places row by row (not only the database's
    # ON DELETE CASCADE), so each removal is in the operation log and can be restored.
    interactions: Mapped[list["Interaction"]] = relationship(back_populates="customer", cascade="all, delete-orphan")
    participations: Mapped[list["CampaignParticipant"]] = relationship(back_populates="customer",
                                                                       cascade="all, delete-orphan")
    # derived figures, written only by crmadmin.standing (the database deletes them with the customer)
    standing: Mapped[Optional["CustomerStanding"]] = relationship(viewonly=True, uselist=False)

    def __str__(self) -> str:
        return f"{self.name} (#{self.id})" if self.id else self.name

    @classmethod
    def label_sql(cls, row):
        """__str__ of a stored customer as SQL (`row`: this class or an alias), for exports that build no records."""
        return row.name + " (#" + cast(row.id, String) + ")"
