"""Files on records (客户资料存档): contracts, ID scans, photos attached to a customer or a complaint.

Bookkeeping, not CRM records: written with plain SQL (crmadmin/files/store.py), so the operation log holds one event
per upload, download and deletion (file name and size, never the content) rather than a row snapshot with the bytes.
The bytes are in CRM_FILES_DIR under `storage_key` (a random name) or, when no folder is configured, in `content`.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .user import User


class RecordFile(db.Model):
    __tablename__ = "record_file"
    __table_args__ = (
        CheckConstraint("(customer_id IS NULL) <> (complaint_id IS NULL)", name="one_record"),
        CheckConstraint("(storage_key IS NULL) <> (content IS NULL)", name="one_storage"),
        Index("ix_record_file_customer_id_id", "customer_id", "id"),
        Index("ix_record_file_complaint_id_id", "complaint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # evidence, like a complaint: the record cannot be deleted while a file is attached (delete the files first)
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"))
    complaint_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint.id", ondelete="RESTRICT"))
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)  # as uploaded, cleaned (crmadmin/files)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # found from the content: pdf, jpeg, docx, ...
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    storage_key: Mapped[Optional[str]] = mapped_column(String(80), unique=True)  # its name in CRM_FILES_DIR
    content: Mapped[Optional[bytes]] = deferred(mapped_column(LargeBinary))  # the bytes, when kept in the database
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    uploaded_by: Mapped[Optional[User]] = relationship()

    def __str__(self) -> str:
        return self.file_name
