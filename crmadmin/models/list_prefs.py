"""How each user likes a list: views saved under a name (常用筛选) and the columns chosen, per list screen.

Preferences, not CRM records: written with plain SQL (crmadmin/list_prefs.py) as import mappings are, so they stay
out of the operation log. A view holds only what the list's address holds (search, filters, sort, columns): opening
it runs the list as the user may see it, so a view shared with a role never widens anyone's data scope.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow


class SavedView(db.Model):
    """A list's search, filters, sort and columns under a name; its owner's own, or shown to a role's users too."""

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("user_id", "endpoint", "name", name="uq_saved_view_user_id_endpoint_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(64), nullable=False)  # the list screen's Flask-Admin endpoint
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    state: Mapped[str] = mapped_column(Text, nullable=False)  # JSON: search, filters (by column), sort, columns
    role_id: Mapped[Optional[int]] = mapped_column(ForeignKey("role.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    def __str__(self) -> str:
        return self.name


class ListColumns(db.Model):
    """The columns one user chose for one list, in their order."""

    __tablename__ = "list_columns"
    __table_args__ = (UniqueConstraint("user_id", "endpoint", name="uq_list_columns_user_id_endpoint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(64), nullable=False)
    columns: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of column names
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    def __str__(self) -> str:
        return f"{self.endpoint} columns of user #{self.user_id}"
