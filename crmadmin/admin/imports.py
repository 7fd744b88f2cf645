"""The Import screen: upload a CSV or XLSX file, map its columns, preview every problem, import, and undo.

Import and Undo start jobs (crmadmin/jobs/imports.py) and show the job's page: the worker checks the file again with
the owner's rights and stores it with the steps below (commit_job, undo_job), handed over in
app.extensions["crm_import_steps"]. Needs records.import plus the kind's create right (and edit right to update matching records); a role limited to
its own customers imports for, matches and undoes only its own. Every step is a form with a CSRF token; the
upload is checked and refused before anything is stored (crmadmin/imports/reading.py).
"""
from datetime import datetime

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.permissions import ASSIGN_OWNERS, IMPORT_RECORDS, perm
from ..extensions import db
from ..imports import apply, store
from ..imports.mapping import IMPORT_KINDS, KIND_LABELS, RESOURCES, auto_mapping, fields_of, \
    mapping_problems
from ..imports.reading import FileRefused, Limits, as_csv, check, read
from ..imports.report import error_report, problems_text
from ..imports.validation import Context, validate
from ..imports.values import text_of
from ..jobs import records
from ..localtime import format_local, viewer_zone, zone_name
from ..models import ImportRun, utcnow
from ..spreadsheet import CSV_CONTENT_TYPE
from . import uniqueness
from .base import AccessMixin
from .job_start import start_job

PREVIEW_ROWS = 20
PROBLEM_ROWS = 200
HISTORY_ROWS = 50
SAMPLE_ROWS = 3


def may_import(kind: str, mode: str = "create") -> bool:
    """records.import, the kind's create right, and its edit right to update matching records."""
    resource = RESOURCES.get(kind)
    return resource is not None and current_user.can(IMPORT_RECORDS) and current_user.can(perm(resource, "create")) \
        and (mode != "update" or current_user.can(perm(resource, "edit")))


def _preview_cell(report, row, i) -> str:
    """A cell as the file has it; a time read from it as the viewer's local time (what will be stored, shown)."""
    if i >= len(row.cells) or row.cells[i] is None:
        return ""
    value = row.values.get(report.mapping[i])
    if isinstance(value, datetime) and not row.problems.get(report.mapping[i]):
        return format_local(value)
    return text_of(row.cells[i])


def _scope_owner(kind: str) -> int | None:
    return current_user.id if current_user.limited_to_own_customers(RESOURCES[kind]) else None


def _context(kind: str, mode: str) -> Context:
    config = current_app.config
    return Context(kind=kind, mode=mode, user_id=current_user.id, may_assign_owner=current_user.can(ASSIGN_OWNERS),
                   scope_owner=_scope_owner(kind), region=config["CRM_PHONE_REGION"], now=utcnow(),
                   currency=config.get("CRM_DEFAULT_CURRENCY", "CNY"), zone=zone_name(viewer_zone()))


class ImportView(AccessMixin, BaseView):
    """Upload -> map -> preview -> import; the history below, each import with its Undo."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and any(may_import(kind) for kind in IMPORT_KINDS)

    # --- the staged upload of this user -----------------------------------------------------
    def _staged(self, run_id=None):
        run = store.staged(db.session.connection(), run_id or request.values.get("id", type=int), current_user.id)
        if run is None:
            abort(404)
        if not may_import(run.kind, run.mode):
            abort(403)
        return run

    def _table(self, run):
        try:
            return read(run.content, "csv", Limits.from_config(current_app.config))  # a workbook is kept as CSV
        except FileRefused as refused:  # the limits were lowered since the upload
            flash(str(refused), "error")
            return None

    def _report(self, run, table):
        return validate(db.session, table, store.mapping_of(run) or {}, _context(run.kind, run.mode))

    # --- pages ------------------------------------------------------------------------------
    @expose("/")
    def index(self):
        kinds = [(kind, KIND_LABELS[kind]) for kind in IMPORT_KINDS if may_import(kind)]
        query = select(ImportRun).where(ImportRun.status != "staged").order_by(ImportRun.id.desc())
        if any(_scope_owner(kind) is not None for kind, _label in kinds):
            query = query.where(ImportRun.user_id == current_user.id)  # limited to own customers: own imports
        before = request.args.get("before", type=int)
        if before:
            query = query.where(ImportRun.id < before)
        runs = db.session.scalars(query.limit(HISTORY_ROWS + 1)).all()
        more = runs[HISTORY_ROWS].id + 1 if len(runs) > HISTORY_ROWS else None
        limits = Limits.from_config(current_app.config)
        return self.render("admin/imports.html", kinds=kinds, runs=runs[:HISTORY_ROWS], kind_labels=KIND_LABELS,
                           may_undo=lambda run: may_import(run.kind, run.mode), limits=limits,
                           next_url=url_for(".index", before=more) if more else None,
                           max_mb=f"{limits.max_bytes / 1024 / 1024:.0f}")

    @expose("/upload", methods=("POST",))
    def upload(self):
        kind = request.form.get("kind", "")
        if not may_import(kind):
            abort(403)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a CSV or Excel (.xlsx) file to import."), "error")
            return redirect(url_for(".index"))
        limits = Limits.from_config(current_app.config)
        with upload.stream:  # a large upload is spooled to a temporary file: closed at once
            data = upload.stream.read(limits.max_bytes + 1)  # never more than one byte past the limit
        try:
            file_format = check(data, limits)  # size, type, zip directory, XML declarations: before parsing
            table = read(data, file_format, limits)  # the rows: header, row limit, readable cells
        except FileRefused as refused:
            flash(str(refused), "error")
            return redirect(url_for(".index"))
        kept = as_csv(table) if file_format == "xlsx" else data  # a workbook is parsed once, here
        run_id = store.stage(db.session.connection(), kind, upload.filename, file_format, kept, current_user.id,
                             current_app.config["CRM_IMPORT_STAGED_HOURS"])
        db.session.commit()
        return redirect(url_for(".map_columns", id=run_id))

    @expose("/map", methods=("GET", "POST"))
    def map_columns(self):
        run = self._staged()
        table = self._table(run)
        if table is None:
            return redirect(url_for(".index"))
        may_assign = current_user.can(ASSIGN_OWNERS)
        fields = fields_of(run.kind, may_assign)
        problems = []
        if request.method == "POST":
            chosen = {i: request.form.get(f"column-{i}", "") for i in range(len(table.headers))}
            mapping = {i: name for i, name in chosen.items() if name in {f.name for f in fields}}
            mode = request.form.get("mode", "create")
            if mode not in ("create", "update"):
                mode = "create"
            if not may_import(run.kind, mode):
                problems.append(_("You may not change existing records: choose \"Create only\"."))
            problems += mapping_problems(run.kind, mapping, may_assign)
            if not problems:
                def write():
                    connection = db.session.connection()
                    store.choose(connection, run.id, mapping, mode)
                    store.remember(connection, current_user.id, run.kind, table.headers, mapping)

                if uniqueness.commit(db.session, write):  # the mapping may be saved from another tab meanwhile
                    return redirect(url_for(".preview", id=run.id))
        else:
            mode = run.mode
            mapping = store.mapping_of(run) or auto_mapping(
                run.kind, table.headers, store.remembered(db.session.connection(), current_user.id, run.kind),
                may_assign)
        samples = [[text_of(c) if c is not None else "" for c in cells] for _n, cells in table.rows[:SAMPLE_ROWS]]
        return self.render("admin/import_map.html", run=run, headers=table.headers, samples=samples, fields=fields,
                           mapping=mapping, mode=mode, problems=problems, rows=len(table.rows),
                           kind_label=KIND_LABELS[run.kind], may_update=may_import(run.kind, "update"))

    @expose("/preview")
    def preview(self):
        run = self._staged()
        if run.mapping is None:
            return redirect(url_for(".map_columns", id=run.id))
        table = self._table(run)
        if table is None:
            return redirect(url_for(".index"))
        report = self._report(run, table)
        columns = sorted(report.mapping)
        shown = report.rows[:PREVIEW_ROWS]
        bad = [(row, problems_text(report, row)) for row in report.rows if not row.valid][:PROBLEM_ROWS]
        return self.render("admin/import_preview.html", run=run, report=report, counts=report.counts,
                           columns=columns, shown=shown, bad=bad, kind_label=KIND_LABELS[run.kind],
                           cell=lambda row, i: _preview_cell(report, row, i))

    @expose("/commit", methods=("POST",))
    def commit(self):
        """Start the import job (a second click finds the same job) and show it."""
        run = self._staged(request.form.get("id", type=int))
        if run.mapping is None:
            return redirect(url_for(".map_columns", id=run.id))
        return self._start("import", run, valid_only=request.form.get("valid_only") == "y")

    def _start(self, kind: str, run, **work):
        params = {"run": run.id, "file": run.file_name, "records": run.kind, **work}
        job_id, created = start_job(kind, params, records.dedupe_key(current_user.id, kind, {"run": run.id}))
        if not created:
            flash(_("This is already under way: here is its job."), "info")
        return redirect(url_for("jobs.job_view", id=job_id))

    # --- the steps a job runs, as its owner (crmadmin/jobs/imports.py) ---------------------------
    def commit_job(self, params: dict, progress) -> int:
        """Check the staged file again and store it in one transaction; the rows stored."""
        run = store.staged(db.session.connection(), params["run"], current_user.id)
        if run is None:
            raise records.Refused("import_gone")
        if not may_import(run.kind, run.mode):
            raise records.Refused("import_forbidden")
        try:
            table = read(run.content, "csv", Limits.from_config(current_app.config))
        except FileRefused as refused:  # the limits were lowered since the upload
            raise apply.ImportRefused(str(refused)) from refused
        report = self._report(run, table)
        outcome = apply.run_import(db.session, run, report, valid_only=params["valid_only"], progress=progress,
                                   chunk_rows=current_app.config["CRM_IMPORT_FLUSH_ROWS"])
        return outcome.created + outcome.updated

    def undo_job(self, params: dict, progress) -> int:
        """Undo every change of the import in one transaction; the changes undone."""
        run = db.session.get(ImportRun, params["run"])
        if run is None or run.status == "staged":
            raise records.Refused("import_gone")
        if not may_import(run.kind, run.mode) or (_scope_owner(run.kind) is not None
                                                   and run.user_id != current_user.id):
            raise records.Refused("import_forbidden")
        return apply.undo_import(db.session, run, current_user.id)  # not cancellable: undo_batch has no steps

    @expose("/cancel", methods=("POST",))
    def cancel(self):
        run = self._staged(request.form.get("id", type=int))
        store.discard(db.session.connection(), run.id)
        db.session.commit()
        flash(_("The upload was discarded; nothing was imported."), "info")
        return redirect(url_for(".index"))

    @expose("/errors")
    def errors(self):
        """The rejected rows as CSV: of a staged upload as checked now, or as kept by a finished import."""
        run_id = request.args.get("id", type=int)
        run = db.session.get(ImportRun, run_id) if run_id else None
        if run is None or (run.status == "staged" and run.user_id != current_user.id):
            abort(404)
        if not may_import(run.kind) or (_scope_owner(run.kind) is not None and run.user_id != current_user.id):
            abort(403)
        if run.status == "staged":
            row = self._staged(run.id)
            table = self._table(row)
            if table is None:
                return redirect(url_for(".index"))
            body = error_report(self._report(row, table))
        elif run.report:
            body = run.report
        else:
            abort(404)
        return Response(body, content_type=CSV_CONTENT_TYPE, headers={
            "Content-Disposition": f"attachment; filename=import_{run.id}_errors.csv"})

    @expose("/undo", methods=("POST",))
    def undo(self):
        """Start the undo job (a second click finds the same job) and show it."""
        run = db.session.get(ImportRun, request.form.get("id", type=int) or 0)
        if run is None or run.status == "staged":
            abort(404)
        if not may_import(run.kind, run.mode) or (_scope_owner(run.kind) is not None
                                                   and run.user_id != current_user.id):
            abort(403)
        if run.status != "done":
            flash(_("The import was not undone: %(reason)s", reason=_("This import was undone already.")), "error")
            return redirect(url_for(".index"))
        return self._start("import_undo", run)


def init_app(app, view: ImportView) -> None:
    """Hand the import jobs their steps (crmadmin/jobs/imports.py reads them by job kind)."""
    app.extensions["crm_import_steps"] = {"import": view.commit_job, "import_undo": view.undo_job}
