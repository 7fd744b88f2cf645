"""Attaching, listing, reading and removing files, in the caller's transaction, each with its operation log event."""
import hashlib
from pathlib import Path

from sqlalchemy import Select, delete, insert, or_, select, update
from sqlalchemy.orm import Session, joinedload

from ..audit import log_event
from ..models import Complaint, Customer, RecordFile, utcnow
from . import storage
from .kinds import KINDS, check, clean_name

FILE = RecordFile.__table__
UPLOADED, DOWNLOADED, DELETED = "file_uploaded", "file_downloaded", "file_deleted"


def _owner_column(record):
    return FILE.c.customer_id if isinstance(record, Customer) else FILE.c.complaint_id


def described(row) -> dict:
    """What the operation log keeps of a file: its name, size and kind, never its content."""
    return {"file_id": row.id, "file_name": row.file_name, "size": row.size, "kind": row.kind}


def attach(session: Session, record: Customer | Complaint, data: bytes, name: str | None, user_id: int | None,
           max_bytes: int, root: Path | None) -> RecordFile:
    """Check the bytes (kinds.check), keep them in `root` or the row, and log the upload; FileRefused before
    anything is stored."""
    kind = check(data, max_bytes)
    file_name = clean_name(name, kind)
    key = storage.write(session, root, data) if root is not None else None
    values = {"customer_id": None, "complaint_id": None, "file_name": file_name, "kind": kind.name,
              "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "storage_key": key,
              "content": None if key else data, "uploaded_by_id": user_id, "uploaded_at": utcnow()}
    values[_owner_column(record).key] = record.id
    file_id = session.connection().execute(insert(FILE).values(**values)).inserted_primary_key[0]
    row = session.get(RecordFile, file_id)
    log_event(session, UPLOADED, record, described(row))
    return row


def of_record(record: Customer | Complaint) -> Select:
    """The record's files, newest first, with who uploaded them; never their content."""
    return (select(RecordFile).options(joinedload(RecordFile.uploaded_by))
            .where(_owner_column(record) == record.id).order_by(RecordFile.id.desc()))


def owner_of(row: RecordFile) -> tuple[str, int]:
    return ("customer", row.customer_id) if row.customer_id is not None else ("complaint", row.complaint_id)


def content(session: Session, row: RecordFile, root: Path | None) -> bytes | Path:
    """The file's bytes (kept in the database) or its path in the folder."""
    if row.storage_key:
        if root is None:
            raise FileNotFoundError("CRM_FILES_DIR is not set, but this file was stored in a folder")
        return storage.path_of(root, row.storage_key)
    return session.scalar(select(FILE.c.content).where(FILE.c.id == row.id))


def log_download(session: Session, record, row: RecordFile) -> None:
    log_event(session, DOWNLOADED, record, described(row))


def remove(session: Session, record, row: RecordFile, root: Path | None) -> None:
    """Delete the row and log it; the bytes leave the folder when this is committed."""
    session.connection().execute(delete(FILE).where(FILE.c.id == row.id))
    _forget_stored(session, [row.storage_key], root)
    log_event(session, DELETED, record, described(row))
    session.expunge(row)


def _forget_stored(session: Session, keys, root: Path | None) -> None:
    for key in keys:
        if key and root is not None:
            storage.remove_on_commit(session, root, key)


def erase_customer(session: Session, customer_id: int, root: Path | None) -> int:
    """Delete every file of the customer and of the customer's complaints (an erasure); the bytes go on commit."""
    complaints = select(Complaint.id).where(Complaint.customer_id == customer_id)
    where = or_(FILE.c.customer_id == customer_id, FILE.c.complaint_id.in_(complaints))
    keys = session.connection().execute(select(FILE.c.storage_key).where(where)).scalars().all()
    session.connection().execute(delete(FILE).where(where))
    _forget_stored(session, keys, root)
    return len(keys)


def move(session: Session, from_ids: list[int], to_id: int) -> int:
    """Give the merged customers' files to the survivor of a merge (they stay there if the merge is undone)."""
    return session.connection().execute(update(FILE).where(FILE.c.customer_id.in_(from_ids)).values(customer_id=to_id)).rowcount


__all__ = ["KINDS", "attach", "content", "erase_customer", "move", "of_record", "owner_of", "remove"]
