"""The operation log (操作日志): one append-only, hash-chained entry per change, sign-in, export or refusal."""
from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .user import User


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_record", "record_type", "record_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    batch_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    # who: the signed-in user, or the operator of a CLI command (actor_id is then empty)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    actor: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # web, cli, system
    command: Mapped[Optional[str]] = mapped_column(String(255))  # endpoint or CLI command line
    # from where
    ip: Mapped[Optional[str]] = mapped_column(String(45), index=True)
    user_agent: Mapped[Optional[str]] = mapped_column(String(255))
    request_id: Mapped[Optional[str]] = mapped_column(String(36), index=True)
    # what
    action: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    record_type: Mapped[Optional[str]] = mapped_column(String(64))
    record_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    record_label: Mapped[Optional[str]] = mapped_column(String(255))
    changes: Mapped[Optional[str]] = mapped_column(Text)  # JSON {field: [before, after]} or details
    # the key behind the commitments to the label's and changes' values (see audit/chain.py), destroyed by erasure;
    # after erasure, the commitments of the erased values and the keys of the others
    seal: Mapped[Optional[str]] = mapped_column(String(32))
    erasure: Mapped[Optional[str]] = mapped_column(Text)
    # the chain: each hash covers this entry's content and the previous entry's hash
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    actor_user: Mapped[Optional[User]] = relationship()

    def __str__(self) -> str:
        return f"#{self.id} {self.action} {self.record_type or ''} {self.record_id or ''}".strip()
