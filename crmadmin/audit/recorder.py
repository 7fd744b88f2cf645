"""Session events that write the operation log in the same transaction as every ORM change, by any path."""
import json
import secrets
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from ..bulk_insert import insert_rows
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


def _label(obj, model=None) -> str:
    """The record's __str__; `model` when obj is a row's values rather than a record (created_entries)."""
    try:
        return (model or type(obj)).__str__(obj)[:255]
    except Exception:  # a label must never stop a change from being recorded
        return f"{(model or type(obj)).__name__} #{getattr(obj, 'id', '?')}"


def _columns(mapper):
    """The columns an entry records: all but bookkeeping."""
    return [attr for attr in mapper.column_attrs if attr.key not in SKIPPED_FIELDS]


def _snapshot_of(mapper, loaded: dict, collections: dict) -> dict:
    """What a 'create' or 'delete' entry holds of a record, from its loaded values (a session object's state.dict,
    or a row inserted in bulk) and its logged collections: the non-empty values."""
    values = {}
    for attr in _columns(mapper):
        value = loaded.get(attr.key, NO_VALUE)
        if value is NO_VALUE:  # never set on a new row (NULL), or not loaded on one being deleted
            continue
        values[attr.key] = SECRET if attr.key in SECRET_FIELDS and value is not None else _plain(value)
    values.update(collections)
    return {k: v for k, v in values.items() if v is not None}


def _snapshot(obj) -> dict:
    state = inspect(obj)
    # state.dict is what attrs[key].loaded_value reads, without building an AttributeState per column
    return _snapshot_of(state.mapper, state.dict, _collections(obj))


def _created(snapshot: dict) -> dict:
    return {k: [None, v] for k, v in snapshot.items()}


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
    for attr in _columns(state.mapper):
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
            entries.append(("create", obj, _created(_snapshot(obj))))
    for obj in session.dirty:
        if isinstance(obj, NOT_AUDITED) or not hasattr(obj, "__table__") or obj in session.deleted:
            continue
        changes = _diff(obj)
        if changes:
            entries.append(("update", obj, changes))
    for obj in session.deleted:
        if not isinstance(obj, NOT_AUDITED) and hasattr(obj, "__table__"):
            entries.append(("delete", obj, {k: [v, None] for k, v in _snapshot(obj).items()}))
    return [_entry(action, _record_type(obj), str(inspect(obj).identity[0]) if inspect(obj).identity
                   else str(getattr(obj, "id", "")), _label(obj), changes)
            for action, obj, changes in entries]


def _entry(action: str, record_type: str, record_id: str, label: str, changes: dict) -> dict:
    return {"action": action, "record_type": record_type, "record_id": record_id, "record_label": label,
            "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True, default=str)}


def created_entries(model, rows: list[dict]) -> list[dict]:
    """The 'create' entries of rows inserted without the session (the import's bulk path, crmadmin/imports/bulk.py):
    what the flush would have logged for the same rows as new objects. Each row holds what such an object's
    state.dict holds after its INSERT (its values, id and Python-side defaults); `model`'s __str__ must read only
    its columns, and the model must have no logged collections (_collections)."""
    mapper = model.__mapper__
    record_type = model.__table__.name
    entries = []
    for row in rows:
        entries.append(_entry("create", record_type, str(row["id"]), _label(SimpleNamespace(**row), model),
                              _created(_snapshot_of(mapper, row, {}))))
    return entries


def append(connection, entries: list[dict]) -> None:
    """Add entries to the end of the chain; on PostgreSQL one writer at a time, until commit."""
    if not entries:
        return
    rows, _last = chained(entries, chain_head(connection))
    insert_rows(connection, AuditEntry.__table__, rows)  # a batch of thousands is one COPY or executemany


def chain_head(connection) -> str:
    """The last entry's hash, after which the next entries go; on PostgreSQL the chain is this transaction's alone
    from here until it ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    table = AuditEntry.__table__
    return connection.execute(select(table.c.hash).order_by(table.c.id.desc()).limit(1)).scalar() or GENESIS


def chained(entries: list[dict], previous: str) -> tuple[list[dict], str]:
    """The entries as log rows of the current actor, each linked to the one before, the first to `previous`; and the
    last one's hash (no database: an import computes a chunk's rows while the one before is written)."""
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
    return rows, previous


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
