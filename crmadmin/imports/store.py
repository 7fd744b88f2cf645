"""Import runs and remembered mappings, written with plain SQL in the caller's transaction (bookkeeping, not records).

An uploaded file is kept in its run while staged, so any worker on any host can take the next step; it is emptied
when imported, and a staged run is removed after CRM_IMPORT_STAGED_HOURS.
"""
import json
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ..models import ImportMapping, ImportRun, utcnow
from .mapping import normalise
from .reading import FileRefused, decode

RUN = ImportRun.__table__
MAPPING = ImportMapping.__table__


def stage(connection: Connection, kind: str, file_name: str, file_format: str, data: bytes, user_id: int,
          keep_hours: int) -> int:
    """Keep an accepted upload for the next steps; forget staged uploads older than `keep_hours`."""
    connection.execute(delete(RUN).where(RUN.c.status == "staged",
                                         RUN.c.created_at < utcnow() - timedelta(hours=keep_hours)))
    result = connection.execute(insert(RUN).values(
        kind=kind, status="staged", mode="create", valid_only=False, file_name=file_name[:255] or "upload",
        file_format=file_format, file_size=len(data), content=data, user_id=user_id, created_at=utcnow(),
        rows_total=0, created=0, updated=0, skipped=0, rejected=0))
    return result.inserted_primary_key[0]


def staged(connection: Connection, run_id: int | None, user_id: int):
    """The user's own staged upload (with its content), or None: nobody continues another user's import."""
    if run_id is None:
        return None
    owner = RUN.c.user_id.is_(None) if user_id is None else RUN.c.user_id == user_id  # None: the command line
    return connection.execute(select(RUN).where(RUN.c.id == run_id, owner, RUN.c.status == "staged")).first()


def choose(connection: Connection, run_id: int, mapping: dict[int, str], mode: str) -> None:
    connection.execute(update(RUN).where(RUN.c.id == run_id).values(
        mapping=json.dumps({str(k): v for k, v in mapping.items()}), mode=mode))


def mapping_of(run) -> dict[int, str] | None:
    return {int(k): v for k, v in json.loads(run.mapping).items()} if run.mapping else None


def discard(connection: Connection, run_id: int) -> None:
    connection.execute(delete(RUN).where(RUN.c.id == run_id, RUN.c.status == "staged"))


def finish(connection: Connection, run_id: int, **values) -> bool:
    """Mark a staged run imported (in the import's transaction); False if it was imported meanwhile."""
    done = connection.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.status == "staged").values(
        status="done", finished_at=utcnow(), content=None, **values))
    return done.rowcount == 1


def mark_undone(connection: Connection, run_id: int, user_id: int) -> bool:
    done = connection.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.status == "done").values(
        status="undone", undone_at=utcnow(), undone_by_id=user_id))
    return done.rowcount == 1


def remember(connection: Connection, user_id: int, kind: str, headers: list[str], mapping: dict[int, str]) -> None:
    """Keep the user's choice per header (an ignored column as ""), merged over what they chose before."""
    columns = remembered(connection, user_id, kind)
    columns.update({normalise(h): mapping.get(i, "") for i, h in enumerate(headers)})
    text = json.dumps(columns, ensure_ascii=False, sort_keys=True)
    done = connection.execute(update(MAPPING).where(MAPPING.c.user_id == user_id, MAPPING.c.kind == kind)
                              .values(columns=text, updated_at=utcnow()))
    if not done.rowcount:
        connection.execute(insert(MAPPING).values(user_id=user_id, kind=kind, columns=text, updated_at=utcnow()))


def remembered(connection: Connection, user_id: int, kind: str) -> dict[str, str]:
    text = connection.execute(select(MAPPING.c.columns).where(MAPPING.c.user_id == user_id,
                                                              MAPPING.c.kind == kind)).scalar()
    return json.loads(text) if text else {}


def forget(connection: Connection, holds, mask) -> int:
    """An erased person's values out of the import bookkeeping: staged uploads where `holds(text)` are dropped (the
    upload must start again), error reports that hold them have them masked by `mask(text)`; returns runs touched."""
    touched = 0
    for run in connection.execute(select(RUN.c.id, RUN.c.status, RUN.c.content, RUN.c.report)
                                  .where((RUN.c.content.is_not(None)) | (RUN.c.report.is_not(None)))):
        if run.content is not None:
            try:
                text = decode(run.content)
            except FileRefused:  # an unreadable upload cannot be checked: drop it rather than keep it
                text = None
            if text is None or holds(text):
                connection.execute(delete(RUN).where(RUN.c.id == run.id))
                touched += 1
                continue
        if run.report is not None:
            text = run.report.decode("utf-8")
            if holds(text):
                connection.execute(update(RUN).where(RUN.c.id == run.id).values(report=mask(text).encode("utf-8")))
                touched += 1
    return touched
