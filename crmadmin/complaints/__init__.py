"""Complaint handling (客户投诉处理): the process, its deadlines, and making a move on one complaint or many."""
from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session

from ..models import Complaint, ComplaintStep
from . import deadlines
from .workflow import MOVES, Move, allowed, refusal

__all__ = ["MOVES", "Move", "MoveRefused", "allowed", "apply", "init_app", "refusal"]

# what a move's form may set on the complaint, by form field name
SETS = {"type": "type", "severity": "severity", "urgency": "urgency", "assignee": "assignee_id",
        "department": "department", "solution": "solution", "action_taken": "action_taken",
        "customer_feedback": "customer_feedback", "satisfaction_score": "satisfaction_score"}


class MoveRefused(Exception):
    """A move that may not be made on this complaint, by this user or from its state: nothing was changed."""

    def __init__(self, complaint: Complaint, reason: str):
        super().__init__(f"{reason}: complaint {complaint.id}")
        self.complaint = complaint
        self.reason = reason


def apply(session: Session, complaints: list[Complaint], move: Move, values: dict, can, actor_id: int | None,
          now: datetime) -> None:
    """Make `move` on every complaint or on none: each is checked before any is changed; the caller commits."""
    for complaint in complaints:
        reason = refusal(move, complaint.status, complaint.severity, can, values.get("severity"))
        if reason is not None:
            raise MoveRefused(complaint, reason)
    note = (values.get("note") or "").strip() or None
    for complaint in complaints:
        before = complaint.status
        for field, column in SETS.items():
            if field in move.fields and field in values:
                setattr(complaint, column, values[field])
        if complaint.responded_at is None:
            complaint.responded_at = now  # any step after registration is the first response
        if move.name == "reject":
            complaint.rejection_reason = note
        if move.target in ("closed", "rejected"):
            complaint.closed_at = now
        if move.name == "reopen":
            complaint.closed_at = None
            # a reopened complaint gets a fresh resolution deadline, counted from now
            _respond, complaint.due_at = deadlines.load(session).due(now, complaint.urgency, complaint.severity)
        complaint.status = move.target_from(before)
        complaint.steps.append(ComplaintStep(move=move.name, from_status=before, to_status=complaint.status,
                                             actor_id=actor_id, at=now, note=note))


def init_app(app: Flask) -> None:
    deadlines.listen()
