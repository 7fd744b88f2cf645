"""Where the bytes live: a folder every host shares (CRM_FILES_DIR), or the database when no folder is configured.

A file is written under a random name before its row is inserted, and removed again if that transaction rolls back;
a deleted or erased file leaves the folder only once its row's deletion is committed. So a row never points at a
missing file, and a failed upload leaves nothing behind.
"""
import logging
import os
import re
import secrets
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
KEY = re.compile(r"^[0-9a-f]{40}$")
WRITTEN, DOOMED = "crm_files_written", "crm_files_doomed"


def folder(config) -> Path | None:
    """The configured folder, or None: the files are then kept in the database."""
    value = config.get("CRM_FILES_DIR")
    return Path(value) if value else None


def path_of(root: Path, key: str) -> Path:
    if not KEY.match(key or ""):
        raise ValueError("not a storage key")
    return root / key[:2] / key


def write(session: Session, root: Path, data: bytes) -> str:
    """Store the bytes under a new random name (written whole, then renamed, so no host reads half a file); removed
    again if the session's transaction rolls back."""
    key = secrets.token_hex(20)
    target = path_of(root, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{key}.part")
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(partial, 0o640)
    os.replace(partial, target)
    session.info.setdefault(WRITTEN, []).append(target)
    return key


def remove_on_commit(session: Session, root: Path, key: str) -> None:
    """Remove the file once the deletion of its row is committed (never before: a rollback would keep the row)."""
    session.info.setdefault(DOOMED, []).append(path_of(root, key))


def remove_path_on_commit(session: Session, path: Path) -> None:
    """The same for a file outside the attachments' folder (an export job's file)."""
    session.info.setdefault(DOOMED, []).append(Path(path))


def _unlink(paths) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:  # the row is gone either way: an orphan nobody can reach, named in the log for removal
            log.exception("Could not remove a stored file %s", path.name)


def _committed(session: Session) -> None:
    session.info.pop(WRITTEN, None)
    _unlink(session.info.pop(DOOMED, ()))


def _rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.nested:  # a savepoint: the outer transaction may still commit the row
        return
    session.info.pop(DOOMED, None)
    _unlink(session.info.pop(WRITTEN, ()))


def listen() -> None:
    """Hook every Session, so a file's bytes follow its row whoever commits or rolls back."""
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_soft_rollback", _rolled_back)
