"""Undo from the log: revert a change, restore a deleted record, or undo a whole batch, never over a later change."""
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, and_, inspect, select
from sqlalchemy.orm import aliased, selectinload
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditEntry, Money, Role, User
from .chain import ERASED
from .recorder import SECRET

ROW_ACTIONS = ("create", "update", "delete")


class UndoRefused(Exception):
    """Why an undo cannot be done; the message is shown to the user as it is."""


def model_for(record_type: str):
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is not None and mapper.local_table.name == record_type:
            return mapper.class_
    raise UndoRefused(_l("Unknown record type %(type)s.", type=record_type))


def _python(model, field: str, value):
    """A logged (JSON) value back in the column's own type."""
    if value is None or field not in model.__table__.c:
        return value
    column_type = model.__table__.c[field].type
    if isinstance(column_type, Money):
        return Decimal(value)
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    return value  # numbers, booleans and text come back from JSON as they were


def _later_changes(session: Session, entry: AuditEntry, batch: str | None = None) -> list[AuditEntry]:
    """Row changes made to the same record after `entry` (outside the batch being undone)."""
    query = select(AuditEntry).where(AuditEntry.record_type == entry.record_type,
                                     AuditEntry.record_id == entry.record_id, AuditEntry.id > entry.id,
                                     AuditEntry.action.in_(ROW_ACTIONS))
    if batch is not None:
        query = query.where(AuditEntry.batch_id != batch)
    return list(session.scalars(query))


def _assign(session: Session, record, field: str, value) -> None:
    if value == SECRET or value == "(changed)":
        raise UndoRefused(_l("A password cannot be put back; set a new one instead."))
    if value == ERASED:
        raise UndoRefused(_l("%(record)s: erased personal data cannot be put back.", record=str(record)))
    if isinstance(record, User) and field == "roles":
        record.roles = list(session.scalars(select(Role).where(Role.name.in_(value or []))))
    elif isinstance(record, Role) and field == "permissions":
        record.permissions = set(value or [])
    else:
        setattr(record, field, _python(type(record), field, value))


_LOAD = object()  # _undo_one's record not given: load it


def _undo_one(session: Session, entry: AuditEntry, record=_LOAD, flush: bool = True) -> None:
    model = model_for(entry.record_type)
    changes = json.loads(entry.changes or "{}")
    if record is _LOAD:
        record = session.get(model, int(entry.record_id))
    if entry.action == "update":
        if record is None:
            raise UndoRefused(_l("%(record)s no longer exists.", record=entry.record_label))
        for field, (before, _after) in changes.items():
            _assign(session, record, field, before)
    elif entry.action == "create":
        if record is None:
            raise UndoRefused(_l("%(record)s no longer exists.", record=entry.record_label))
        session.delete(record)
    elif entry.action == "delete":
        if record is not None:
            raise UndoRefused(_l("%(record)s exists again.", record=entry.record_label))
        record = model(id=int(entry.record_id))
        for field, (before, _after) in changes.items():
            _assign(session, record, field, before)
        session.add(record)
    else:
        raise UndoRefused(_l("Only changes to records can be undone."))
    if flush:
        session.flush()  # constraint problems surface here, inside the caller's transaction


def undo_entry(session: Session, entry: AuditEntry) -> int:
    """Put the record back as it was before this entry; refused if it was changed again since."""
    if entry.action not in ROW_ACTIONS:
        raise UndoRefused(_l("Only changes to records can be undone."))
    if _later_changes(session, entry):
        raise UndoRefused(_l("%(record)s was changed again after this entry; undo the later change first.",
                            record=entry.record_label))
    _undo_one(session, entry)
    return 1


def undo_batch(session: Session, batch_id: str, progress=None) -> int:
    """Undo every row change of a batch, newest first; refused if any of its records changed since. `progress(done)`
    after each chunk flushed (a job shows it)."""
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.batch_id == batch_id,
                                                            AuditEntry.action.in_(ROW_ACTIONS))
                                   .order_by(AuditEntry.id.desc())))
    if not entries:
        raise UndoRefused(_l("This batch changed no records."))
    changed = _changed_since(session, batch_id)
    if changed is not None:
        raise UndoRefused(_l("%(record)s was changed again after this batch.", record=str(changed)))
    records = _load(session, entries)
    phase = None
    with session.no_autoflush:  # no flush per entry (a deletion's cascade would load, and so flush, each time)
        # an import's 100,000 entries take about a minute: above CRM_UNDO_IN_REQUEST_MAX the undo runs as a job
        for done, entry in enumerate(sorted(entries, key=_dependency_order), start=1):
            if _dependency_order(entry)[0] != phase:
                # restored records are inserted before the updates that point at them: within one flush the unit
                # of work updates a table's rows before it inserts into it (a referral to a restored customer)
                session.flush()
                phase = _dependency_order(entry)[0]
            _undo_one(session, entry, records.get((entry.record_type, entry.record_id)), flush=False)
            if done % FLUSH_ENTRIES == 0:
                session.flush()  # in dependency order, a chunk at a time: an import's batch can be 100,000 entries
                if progress:
                    progress(done)
    session.flush()  # constraint problems surface here, inside the caller's transaction
    return len(entries)


FLUSH_ENTRIES = 2000
LOAD_CHUNK = 1000


def _changed_since(session: Session, batch_id: str) -> str | None:
    """The label of a record of the batch that a later entry outside it changed, if any: one statement."""
    mine, later = aliased(AuditEntry), aliased(AuditEntry)
    return session.scalar(
        select(mine.record_label)
        .join(later, and_(later.record_type == mine.record_type, later.record_id == mine.record_id,
                          later.id > mine.id))
        .where(mine.batch_id == batch_id, mine.action.in_(ROW_ACTIONS), later.batch_id != batch_id,
               later.action.in_(ROW_ACTIONS)).limit(1))


def _load(session: Session, entries: list[AuditEntry]) -> dict:
    """(record type, id) -> the record as it is now, or None: loaded a thousand at a time, not one by one."""
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        wanted.setdefault(entry.record_type, set()).add(int(entry.record_id))
    found: dict = {}
    for record_type, ids in wanted.items():
        model = model_for(record_type)
        # what a deletion cascades to is loaded with the records, not lazily one record at a time
        cascaded = [selectinload(getattr(model, r.key)) for r in inspect(model).relationships if r.cascade.delete]
        ordered = sorted(ids)
        for start in range(0, len(ordered), LOAD_CHUNK):
            chunk = ordered[start:start + LOAD_CHUNK]
            for record in session.scalars(select(model).options(*cascaded).where(model.id.in_(chunk))):
                found[(record_type, str(record.id))] = record
    return {(e.record_type, e.record_id): found.get((e.record_type, e.record_id)) for e in entries}


def _dependency_order(entry: AuditEntry):
    """Restore parents before their children, remove children before their parents, newest edits first."""
    rank = [t.name for t in db.metadata.sorted_tables].index(entry.record_type)
    if entry.action == "delete":
        return (0, rank, entry.id)
    if entry.action == "update":
        return (1, 0, -entry.id)
    return (2, -rank, -entry.id)
