"""Work done by the job worker for a user (an export, an import or its undo): its state, progress, outcome and file.

Bookkeeping, not a CRM record: written with plain SQL by the worker and the Jobs screen (crmadmin/jobs/records.py),
so progress updates never reach the operation log; what a job did (the export, the download) is logged as events.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow

JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE_STATES = ("queued", "running")


class Job(db.Model):
    """One piece of background work: queued -> running -> done, failed or cancelled."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # export, import, import_undo
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="queued", index=True)
    rows_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_total: Mapped[Optional[int]] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    started_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    heartbeat_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # a running job's last sign of life
    error: Mapped[Optional[str]] = mapped_column(String(64))  # a message key (jobs/records.py ERRORS), not text
    # a refusal's own sentence (error "refused"): msgid and arguments as JSON, translated when read
    error_words: Mapped[Optional[str]] = mapped_column(Text)
    params: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON: screen, format, list arguments
    result_file: Mapped[Optional[str]] = mapped_column(String(255))  # a name in CRM_JOB_FILES; None once expired
    expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    # the same work asked again while this job is queued or running finds it here (unique); cleared when it ends
    dedupe_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True)

    def __str__(self) -> str:
        return f"{self.kind} #{self.id}"
