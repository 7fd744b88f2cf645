"""Session events that write the operation log in the same transaction as every ORM change, by any path."""
import json
import secrets
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, inspect, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from ..extensions import db
from ..models import AuditEntry, RecoveryCode, Role, RolePermission, User, UserSession, utcnow
from .chain import GENESIS, entry_hash
from .context import current_actor

SECRET_FIELDS = {"password_hash", "totp_secret"}
# bookkeeping: a sign-in is an event of its own, and so are two-factor set-up, reset and turning off (the
# authenticator secret and its last step are never written here)
SKIPPED_FIELDS = {"version", "updated_at", "last_login_at", "totp_secret", "totp_last_step"}
# grants are logged as their role's "permissions" field; signed-in sessions are no record of the business (signing
# in and out, and ending other sessions, are events of their own); recovery codes (hashes) by the two-factor events
NOT_AUDITED = (AuditEntry, RolePermission, UserSession, RecoveryCode)
SECRET = "(secret)"
CHAIN_LOCK = 4_200_001  # PostgreSQL advisory lock id serialising appends to the chain


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _label(obj) -> str:
    try:
        return str(obj)[:255]
    except Exception:  # a label must never stop a change from being recorded
        return f"{type(obj).__name__} #{getattr(obj, 'id', '?')}"


def _columns(obj):
    """The columns an entry records: all but bookkeeping."""
    return [attr for attr in inspect(obj).mapper.column_attrs if attr.key not in SKIPPED_FIELDS]


def _snapshot(obj) -> dict:
    state = inspect(obj)
    loaded = state.dict  # what attrs[key].loaded_value reads, without building an AttributeState per column
    values = {}
    for attr in _columns(obj):
        value = loaded.get(attr.key, NO_VALUE)
        if value is NO_VALUE:  # never set on a new row (NULL), or not loaded on one being deleted
            continue
        values[attr.key] = SECRET if attr.key in SECRET_FIELDS and value is not None else _plain(value)
    values.update(_collections(obj))
    return {k: v for k, v in values.items() if v is not None}


def _collections(obj) -> dict:
    """Many-to-many and owned grants, as sorted name lists."""
    if isinstance(obj, User):
        return {"roles": sorted(r.name for r in obj.roles)}
    if isinstance(obj, Role):
        return {"permissions": sorted(obj.permissions)}
    return {}


def _diff(obj) -> dict:
    state = inspect(obj)
    changes = {}
    for attr in _columns(obj):
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        if attr.key in SECRET_FIELDS:
            changes[attr.key] = [SECRET, "(changed)"]
        else:
            changes[attr.key] = [_plain(before), _plain(after)]
    if isinstance(obj, User):
        _collection_change(changes, state, "roles", "roles", obj.roles, lambda role: role.name)
    if isinstance(obj, Role):
        _collection_change(changes, state, "grants", "permissions", obj.grants, lambda grant: grant.permission)
    return changes


def _collection_change(changes: dict, state, attribute: str, field: str, current, name_of) -> None:
    """A many-to-many or owned collection, logged as the sorted names before and after."""
    history = state.attrs[attribute].history
    if not history.has_changes():
        return
    before = sorted({name_of(item) for item in (*(history.unchanged or ()), *(history.deleted or ()))})
    after = sorted(name_of(item) for item in current)
    if before != after:
        changes[field] = [before, after]


def _record_type(obj) -> str:
    return obj.__table__.name


def _pending_entries(session: Session) -> list[dict]:
    entries = []
    for obj in session.new:
        if not isinstance(obj, NOT_AUDITED) and hasattr(obj, "__table__"):
            entries.append(("create", obj, {k: [None, v] for k, v in _snapshot(obj).items()}))
    for obj in session.dirty:
        if isinstance(obj, NOT_AUDITED) or not hasattr(obj, "__table__") or obj in session.deleted:
            continue
        changes = _diff(obj)
        if changes:
            entries.append(("update", obj, changes))
    for obj in session.deleted:
        if not isinstance(obj, NOT_AUDITED) and hasattr(obj, "__table__"):
            entries.append(("delete", obj, {k: [v, None] for k, v in _snapshot(obj).items()}))
    return [{"action": action, "record_type": _record_type(obj), "record_id": str(inspect(obj).identity[0])
             if inspect(obj).identity else str(getattr(obj, "id", "")), "record_label": _label(obj),
             "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True, default=str)}
            for action, obj, changes in entries]


def append(connection, entries: list[dict]) -> None:
    """Add entries to the end of the chain; on PostgreSQL one writer at a time, until commit."""
    if not entries:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    table = AuditEntry.__table__
    previous = connection.execute(select(table.c.hash).order_by(table.c.id.desc()).limit(1)).scalar() or GENESIS
    actor = current_actor()
    now = utcnow()
    rows = []
    for entry in entries:
        row = {"occurred_at": now, "batch_id": actor.batch_id, "actor_id": actor.actor_id, "actor": actor.actor,
               "source": actor.source, "command": actor.command, "ip": actor.ip, "user_agent": actor.user_agent,
               "request_id": actor.request_id, "record_type": None, "record_id": None, "record_label": None,
               "changes": None, **entry, "prev_hash": previous, "seal": secrets.token_hex(16)}
        row["hash"] = previous = entry_hash(row)
        rows.append(row)
    connection.execute(insert(table), rows)  # one executemany: a batch of thousands is one round trip


def _after_flush(session: Session, flush_context) -> None:
    append(session.connection(), _pending_entries(session))


def _event(action: str, record=None, details: dict | None = None) -> dict:
    entry = {"action": action, "changes": json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)}
    if record is not None:
        entry.update(record_type=_record_type(record), record_id=str(record.id), record_label=_label(record))
    return entry


def log_event(session: Session, action: str, record=None, details: dict | None = None) -> None:
    """Record something that is not a row change in the session's transaction: it stands or falls with it."""
    append(session.connection(), [_event(action, record, details)])


def log_event_now(action: str, record=None, details: dict | None = None) -> None:
    """Record an event in a transaction of its own: refusals, failed sign-ins and exports change nothing else."""
    with db.engine.begin() as connection:
        append(connection, [_event(action, record, details)])


class UnloggedWrite(RuntimeError):
    """A bulk UPDATE or DELETE through the session would change rows without a log entry for each."""


def _refuse_bulk_writes(state) -> None:
    if not (state.is_update or state.is_delete):
        return
    for mapper in state.all_mappers:
        if not issubclass(mapper.class_, NOT_AUDITED):
            raise UnloggedWrite(f"bulk {'UPDATE' if state.is_update else 'DELETE'} of {mapper.class_.__name__} "
                                "would escape the operation log; load the rows and change them through the session")


def listen() -> None:
    """Hook every Session: the forms, bulk actions, imports, CLI and any other code are covered alike."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _refuse_bulk_writes)
