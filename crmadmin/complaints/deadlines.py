"""Due times of complaints (every complaint has a due time, urgent ones first): set from urgency and severity by
the settings an administrator edits, and kept in step by a session event, so every path (forms, moves, CLI,
imports) gets them alike.

Hours are calendar hours from the moment the complaint was received. A major complaint must be resolved by the
sooner of its urgency's resolution time and the major-complaint time. Changing the settings applies to
complaints registered or reclassified afterwards: a deadline once given is not moved behind the clerk's back.
"""
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from ..audit.context import current_actor
from ..models import Complaint, ComplaintStep, Setting
from .workflow import FINISHED

PREFIX = "complaint_"


@dataclass(frozen=True)
class Deadlines:
    """Hours to first response and to resolution per urgency; the defaults follow the handbooks (urgent: 4 / 24)."""

    respond_hours_urgent: int = 4
    resolve_hours_urgent: int = 24
    respond_hours_normal: int = 24
    resolve_hours_normal: int = 72
    respond_hours_common_question: int = 48
    resolve_hours_common_question: int = 120
    resolve_hours_major: int = 48

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_settings(cls, stored: dict[str, str]) -> "Deadlines":
        """Stored text values (keys prefixed `complaint_`); missing or unreadable ones keep their default."""
        values = {}
        for name in cls.names():
            text = stored.get(PREFIX + name, "")
            if text.isdigit():
                values[name] = int(text)
        return cls(**values)

    def due(self, received_at: datetime, urgency: str, severity: str) -> tuple[datetime, datetime]:
        """(first response due, resolution due) of a complaint received at `received_at`."""
        respond = getattr(self, f"respond_hours_{urgency}")
        resolve = getattr(self, f"resolve_hours_{urgency}")
        if severity == "major":
            resolve = min(resolve, self.resolve_hours_major)
        return received_at + timedelta(hours=respond), received_at + timedelta(hours=resolve)


def load(session: Session) -> Deadlines:
    """The deadlines as stored now; read through the connection so that it never triggers a flush."""
    rows = session.connection().execute(select(Setting.key, Setting.value).where(Setting.key.startswith(PREFIX)))
    return Deadlines.from_settings(dict(rows.all()))


def next_due(complaint: Complaint) -> datetime | None:
    """The deadline that applies now: the first response until someone responded, then the resolution."""
    if complaint.status in FINISHED:
        return None
    if complaint.responded_at is None and complaint.respond_due_at is not None:
        return complaint.respond_due_at
    return complaint.due_at


def _changed(complaint: Complaint, *names: str) -> bool:
    state = inspect(complaint)
    return any(state.attrs[name].history.has_changes() for name in names)


def _before_flush(session: Session, flush_context, instances) -> None:
    """New complaints get their deadlines and a first step; reclassified ones new deadlines; all their current one."""
    complaints = [o for o in session.new if isinstance(o, Complaint)]
    complaints += [o for o in session.dirty if isinstance(o, Complaint) and session.is_modified(o)]
    if not complaints:
        return
    deadlines = None
    for complaint in complaints:
        new = inspect(complaint).pending
        # a new complaint keeps deadlines it was given (an import of past complaints); others get them here
        given = new and complaint.due_at is not None
        if not given and (new or _changed(complaint, "received_at", "urgency", "severity")):
            if complaint.received_at is not None and complaint.urgency and complaint.severity:
                deadlines = deadlines or load(session)
                complaint.respond_due_at, complaint.due_at = deadlines.due(
                    complaint.received_at, complaint.urgency, complaint.severity)
        complaint.next_due_at = next_due(complaint)
        if new and not complaint.steps:
            complaint.steps.append(ComplaintStep(move="register", from_status=None,
                                                 to_status=complaint.status or "received",
                                                 actor_id=current_actor().actor_id))


def listen() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
