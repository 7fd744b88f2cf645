"""Storing a checked import in ONE transaction, through the ORM session (so every change is in the operation log
under one batch, and tiers and revenue follow), and undoing it. Created customers are the exception: written with
Core inserts and the listeners' own functions (crmadmin/imports/bulk.py), the same rows and log entries, faster.

Rows are flushed a few thousand at a time inside that transaction, with their ids reserved beforehand (no
RETURNING per row): a failure at any row rolls back every row, the run's bookkeeping and the log entries alike.
"""
import dataclasses
import uuid
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l, lazy_ngettext
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .. import planner
from ..audit import bind, log_event, reset
from ..audit.context import current_actor
from ..audit.undo import UndoRefused, undo_batch
from ..models import Customer, CustomerMatch, CustomerStanding, ImportRun, Interaction, Transaction
from . import bulk, store
from .report import error_report
from .validation import DEFAULTS, UPDATABLE, Report

FLUSH_ROWS = 2000  # rows a flush; the job's progress is stored between flushes (CRM_IMPORT_FLUSH_ROWS)
MODELS = {"customers": Customer, "transactions": Transaction, "interactions": Interaction}


class ImportRefused(Exception):
    """The import cannot be stored as asked; the message (a lazy string, kept by a job untranslated) is for the
    user, and nothing was stored."""


def _no_progress(done: int, total: int) -> None:
    pass


@dataclass
class Outcome:
    created: int
    updated: int
    skipped: int
    rejected: int
    batch_id: str


def _reserve_ids(session: Session, model, count: int):
    """Ids for `count` new rows, taken before the flush so the ORM inserts them in batches."""
    connection = session.connection()
    table = model.__table__.name
    if connection.dialect.name == "postgresql":
        sequence = connection.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": f'"{table}"'}).scalar()
        return connection.execute(text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                                  {"s": sequence, "n": count}).scalars().all()
    # SQLite: this transaction already holds the database's write lock (the run was marked first)
    start = (connection.execute(select(func.max(model.id))).scalar() or 0) + 1
    return range(start, start + count)


def _new_record(kind: str, values: dict, context) -> dict:
    record = {**DEFAULTS[kind], **values}
    if kind == "customers" and not context.may_assign_owner:
        record["owner_id"] = context.user_id  # as the form does: a new customer of one who may not assign is theirs
    if kind == "transactions":
        record.setdefault("currency", context.currency)
    return record


def _create(session: Session, report: Report, chunk_rows: int, stored, use_bulk: bool) -> int:
    kind, model = report.context.kind, MODELS[report.context.kind]
    rows = [r for r in report.rows if r.valid and r.action == "create"]
    if use_bulk and kind in bulk.MODELS:
        session.flush()  # anything pending goes first, as the ORM would order it
        ids = _reserve_ids(session, model, len(rows))
        records = [_new_record(kind, row.values, report.context) for row in rows]
        with bulk.Creator(session.connection(), kind) as creator:
            for start in range(0, len(rows), chunk_rows):
                written = creator.add(records[start:start + chunk_rows], ids[start:start + chunk_rows])
                if written:  # the chunk before this one (none before the first)
                    stored(written)
            stored(creator.finish())
        return len(rows)
    for start in range(0, len(rows), chunk_rows):
        chunk = rows[start:start + chunk_rows]
        ids = _reserve_ids(session, model, len(chunk))
        session.add_all([model(id=record_id, **_new_record(kind, row.values, report.context))
                         for record_id, row in zip(ids, chunk)])
        session.flush()
        stored(len(chunk))
    return len(rows)


def _update(session: Session, report: Report, chunk_rows: int, stored) -> int:
    kind, model = report.context.kind, MODELS[report.context.kind]
    allowed = UPDATABLE.get(kind)
    rows = [r for r in report.rows if r.valid and r.action == "update"]
    for start in range(0, len(rows), chunk_rows):
        chunk = rows[start:start + chunk_rows]
        records = {r.id: r for r in session.scalars(select(model).where(model.id.in_([r.target for r in chunk])))}
        for row in chunk:
            record = records.get(row.target)
            if record is None:
                raise ImportRefused(_l("Row %(row)d: the record it matched was deleted meanwhile. Nothing was "
                                      "imported; check the file again.", row=row.number))
            for name, value in row.values.items():
                if (allowed is None or name in allowed) and hasattr(record, name) and getattr(record, name) != value:
                    setattr(record, name, value)
        session.flush()
        stored(len(chunk))
    return len(rows)


def run_import(session: Session, run, report: Report, valid_only: bool, progress=_no_progress,
               chunk_rows: int = FLUSH_ROWS, use_bulk: bool = True) -> Outcome:
    """Store the report's rows as one batch and one transaction, or nothing (ImportRefused, or the error raised).
    progress(stored, total) is called after each flush of `chunk_rows` and once more before the commit; whatever it
    raises (a job cancelled) rolls everything back. Created customers are written by crmadmin/imports/bulk.py
    unless `use_bulk` is false (the session's objects and listeners: what that path must equal)."""
    counts = report.counts
    if counts["invalid"] and not valid_only:
        raise ImportRefused(lazy_ngettext(
            "%(num)d row has problems, so nothing was imported. Correct the file, or choose to import only the "
            "valid rows.",
            "%(num)d rows have problems, so nothing was imported. Correct the file, or choose to import only the "
            "valid rows.", counts["invalid"]))
    if not counts["create"] and not counts["update"]:
        raise ImportRefused(_l("No row would create or change a record, so nothing was imported."))
    batch_id = str(uuid.uuid4())
    token = bind(dataclasses.replace(current_actor(), batch_id=batch_id))
    try:
        connection = session.connection()
        report_csv = error_report(report) if counts["invalid"] else None
        values = {"mode": report.context.mode, "valid_only": valid_only, "batch_id": batch_id,
                  "rows_total": counts["total"], "created": counts["create"], "updated": counts["update"],
                  "skipped": counts["unchanged"], "rejected": counts["invalid"], "report": report_csv}
        if not store.finish(connection, run.id, **values):  # first write: the run is ours until commit
            raise ImportRefused(_l("This file was imported already."))
        total, done = counts["create"] + counts["update"], 0

        def stored(rows: int) -> None:
            nonlocal done
            done += rows
            progress(done, total)

        _create(session, report, chunk_rows, stored, use_bulk)
        _update(session, report, chunk_rows, stored)
        log_event(session, "import", details={"import": run.id, "kind": report.context.kind, "file": run.file_name,
                                              "mode": report.context.mode, "valid_only": valid_only,
                                              "rows": counts["total"], "created": counts["create"],
                                              "updated": counts["update"], "skipped": counts["unchanged"],
                                              "rejected": counts["invalid"]})
        progress(total, total)  # the last chance to stop before the commit
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        reset(token)
    _analyze_grown(session, report.context.kind, counts["create"])
    return Outcome(counts["create"], counts["update"], counts["unchanged"], counts["invalid"], batch_id)


def _analyze_grown(session: Session, kind: str, created: int) -> None:
    """A large import is a bulk load: the tables it grew get fresh planner statistics (crmadmin.planner)."""
    grown = {MODELS[kind]: created}
    if kind == "customers":  # each new customer also has its match keys and standing
        grown |= {CustomerMatch: created, CustomerStanding: created}
    planner.analyze_grown(session.connection(), grown)
    session.commit()


def undo_import(session: Session, run: ImportRun, user_id: int) -> int:
    """Undo every change of an import (refused if any of its records changed since), in one transaction."""
    if run.status != "done":
        raise UndoRefused(_l("This import was undone already."))
    try:
        changed = undo_batch(session, run.batch_id)
        if not store.mark_undone(session.connection(), run.id, user_id):
            raise UndoRefused(_l("This import was undone already."))
        log_event(session, "import_undone", details={"import": run.id, "kind": run.kind, "file": run.file_name,
                                                     "batch": run.batch_id, "changes": changed})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return changed
