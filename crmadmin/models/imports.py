"""Imports of customers, transactions and interactions from files: each run, and each user's last column mapping.

These are bookkeeping, not CRM records: they are written with plain SQL (crmadmin/imports/store.py), so the
operation log holds the imported changes and one import event per run, and undoing a run's batch never removes
the run itself.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .user import User

IMPORT_KINDS = ("customers", "transactions", "interactions")
IMPORT_MODES = ("create", "update")  # create only; create and update matching records


class ImportRun(db.Model):
    """An uploaded file from upload to import (status staged -> done -> undone); staged files expire."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="staged", index=True)
    mode: Mapped[str] = mapped_column(String(16), nullable=False, default="create")
    valid_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_format: Mapped[str] = mapped_column(String(8), nullable=False)  # csv or xlsx, found from the content
    file_size: Mapped[int] = mapped_column(Integer, nullable=False)
    # the file itself while staged (any worker on any host can take the next step); emptied once imported
    content: Mapped[Optional[bytes]] = deferred(mapped_column(LargeBinary))
    mapping: Mapped[Optional[str]] = mapped_column(Text)  # JSON: column index -> field name
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    batch_id: Mapped[Optional[str]] = mapped_column(String(36), index=True)  # the operation log's batch
    rows_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # matched, nothing to change
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    report: Mapped[Optional[bytes]] = deferred(mapped_column(LargeBinary))  # error report CSV of rejected rows
    undone_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    undone_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    user: Mapped[Optional[User]] = relationship(foreign_keys=[user_id])
    undone_by: Mapped[Optional[User]] = relationship(foreign_keys=[undone_by_id])

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} {self.file_name}"


class ImportMapping(db.Model):
    """The columns a user last mapped for a kind of import: file header -> field, offered again next time."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_import_mapping_user_id_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    columns: Mapped[str] = mapped_column(Text, nullable=False)  # JSON {normalised header: field}
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    def __str__(self) -> str:
        return f"{self.kind} mapping of user #{self.user_id}"
