"""The Jobs screen: each user's jobs (exports, imports, undos of imports) with live progress, their files, outcomes
and cancel; administrators see everyone's and the schedule. A job another user may not see answers 404, as if it
did not exist."""
import json
import os

from flask import abort, current_app, flash, jsonify, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import OperationalError

from ..audit import log_event_now
from ..extensions import db
from ..imports.mapping import KIND_LABELS
from ..jobs import backups, queue, records
from ..jobs.schedule import schedule
from ..localtime import format_local
from ..models import ImportRun, Job, User
from ..spreadsheet import XLSX_MIMETYPE
from .base import AccessMixin, is_administrator

STATES = {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Finished"), "failed": _l("Failed"),
          "cancelled": _l("Cancelled")}
PERIODIC = {"daily_refresh": _l("Daily refresh of tiers, stages and due dates"),
            "job_files_cleanup": _l("Clean-up of expired files and stopped jobs"),
            "backup": _l("Database backup")}
WILL_BE_CANCELLED = _l("Queued, will be cancelled")  # a cancel left on the board while an import held SQLite's lock
OUTCOMES = {"ok": _l("Succeeded"), "failed": _l("Failed"), "running": _l("Running")}
SHOWN = 200  # jobs listed; older ones remain in the table


def _title(job: Job, params: dict) -> str:
    if job.kind == "import":
        return _("Import of %(file)s (%(records)s)", file=params.get("file", ""),
                 records=KIND_LABELS.get(params.get("records"), ""))
    if job.kind == "import_undo":
        return _("Undo of the import of %(file)s", file=params.get("file", ""))
    if job.kind == "apply_rules":
        return _("Applying the tier and follow-up rules to every customer")
    if job.kind == "undo_batch":
        return _("Undo of a batch of %(num)s changes", num=f"{params.get('changes', 0):,}")
    if job.kind == "merge":
        return _("Merge of %(num)d customers into %(name)s", num=len(params.get("ids", [])),
                 name=params.get("name", ""))
    return _("Export of %(screen)s (%(format)s)", screen=params.get("title", ""),
             format=params.get("format", "").upper())


def _rows_text(job: Job) -> str:
    done, total = f"{job.rows_done:,}", f"{job.rows_total:,}" if job.rows_total is not None else "…"
    if job.kind == "apply_rules":
        return _("%(done)s of %(total)s customers", done=done, total=total)
    if job.kind == "undo_batch":
        return _("%(done)s of %(total)s changes", done=done, total=total)
    if job.kind == "merge":
        return _("%(done)s of %(total)s records", done=done, total=total)
    return _("%(done)s of %(total)s rows", done=done, total=total)


def _outcome(job: Job, result: dict) -> tuple[str, str | None, str]:
    """A finished job's summary, and a link to what it made: (text, address, the link's words)."""
    if job.state != "done":
        return "", None, ""
    if job.kind == "apply_rules":
        return (_("%(num)s customers refreshed with the new rules.", num=f"{result.get('customers', 0):,}"),
                url_for("settings.index"), _("Open the rules"))
    if job.kind == "undo_batch":
        return (_("%(num)s changes undone.", num=f"{result.get('undone', 0):,}"),
                url_for("auditentry.details_view", id=result.get("entry")), _("See the log entry"))
    if job.kind == "merge":
        return (_("%(num)d customers merged; %(moved)s records moved to the customer kept.",
                  num=result.get("merged", 0), moved=f"{result.get('moved', 0):,}"),
                url_for("duplicates.merged", id=result.get("entry")), _("See the merge"))
    return "", None, ""


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return _("%(num)d s", num=seconds)
    if seconds < 3600:
        return _("%(min)d min %(sec)d s", min=seconds // 60, sec=seconds % 60)
    return _("%(hours)d h %(min)d min", hours=seconds // 3600, min=seconds % 3600 // 60)


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


class JobsView(AccessMixin, BaseView):
    """Everyone signed in has jobs of their own; everything else here is decided per job."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    def is_visible(self) -> bool:
        return current_user.is_authenticated

    # --- which job ---------------------------------------------------------------------------
    def _job(self, raw) -> Job:
        """The job asked for, if the viewer owns it or is an administrator; 404 otherwise (no hint that it exists)."""
        try:
            job_id = int(raw)
        except (TypeError, ValueError):
            abort(404)
        job = db.session.get(Job, job_id)
        if job is None or (job.owner_id != current_user.id and not is_administrator()):
            abort(404)
        return job

    def _screen(self, job: Job):
        """The list view the export came from, if the viewer may still export from it."""
        screen = json.loads(job.params).get("screen")
        for view in self.admin._views:
            if view.endpoint == screen and getattr(view, "can_export", False):
                return view
        return None

    def _reap(self) -> None:
        records.reap_stale(db.engine, records.files_folder(), current_app.config["CRM_JOB_STALE_SECONDS"],
                           huey=queue())

    @staticmethod
    def _runs(jobs) -> dict:
        """The import runs of the jobs shown, in one query: their outcome is the run's counts."""
        ids = {json.loads(job.params).get("run") for job in jobs if job.kind in records.IMPORT_KINDS}
        ids.discard(None)
        return {run.id: run for run in db.session.scalars(db.select(ImportRun).where(ImportRun.id.in_(ids)))} \
            if ids else {}

    @staticmethod
    def _outcome(job, params: dict, run) -> str:
        """What a finished import or undo did, as its message said when it ran in the request."""
        if job.state != "done" or run is None:
            return ""
        if job.kind == "import":
            return _("Imported %(file)s: %(created)d created, %(updated)d updated, %(skipped)d unchanged, "
                     "%(rejected)d rejected.", file=run.file_name, created=run.created, updated=run.updated,
                     skipped=run.skipped, rejected=run.rejected)
        if job.kind == "import_undo":
            return _("The import of %(file)s was undone (%(num)d changes).", file=run.file_name, num=job.rows_done)
        return ""

    def _error(self, job) -> str:
        if job.state != "failed":
            return ""
        text = records.error_text(job.error, job.rows_total, records.result_of(job), job.error_words)
        if job.kind == "import_undo":
            return _("The import was not undone: %(reason)s", reason=text)
        return text

    def describe(self, job: Job, runs: dict | None = None) -> dict:
        """A job as the screen and its JSON show it, in the reader's language and zone."""
        params = json.loads(job.params)
        if job.kind == "backup":
            return self._describe_backup(job, params)
        run = (runs if runs is not None else self._runs([job])).get(params.get("run"))
        job = records.live(job, queue())  # a running import's, undo's or merge's progress is on the board
        back = back_label = None
        if job.kind in records.IMPORT_KINDS and run is not None and run.status == "staged" and job.state == "failed":
            back, back_label = url_for("imports.preview", id=run.id), _("Back to the checked file")
        elif job.kind in records.IMPORT_KINDS:
            back, back_label = url_for("imports.index"), _("Imports and their undo")
        result = records.result_of(job)
        summary, link, link_text = _outcome(job, result)
        return {"id": job.id, "kind": job.kind, "state": job.state,
                "state_label": str(WILL_BE_CANCELLED if job.cancel_asked else STATES.get(job.state, job.state)),
                "title": _title(job, params),
                "outcome": self._outcome(job, params, run), "back": back, "back_label": back_label,
                "rows_done": job.rows_done, "rows_total": job.rows_total, "percent": records.percent(job),
                "rows_text": _rows_text(job), "summary": summary, "link": link, "link_text": link_text,
                "time_left": _duration(records.seconds_left(job)),
                "created": format_local(job.created_at), "started": format_local(job.started_at),
                "finished": format_local(job.finished_at),
                "expires": format_local(job.expires_at),
                "error": self._error(job),
                "download": url_for(".download", id=job.id) if job.state == "done" and job.result_file else None,
                "expired": job.kind == "export" and job.state == "done" and not job.result_file,
                "may_cancel": records.may_cancel(job) and job.owner_id == current_user.id and not job.cancel_asked,
                "owner_id": job.owner_id, "indeterminate": False}

    def _describe_backup(self, job: Job, params: dict) -> dict:
        """A backup reports no progress: its bar runs until the file is written; the file stays in CRM_BACKUP_DIR,
        never offered for download (it holds every customer)."""
        if job.state == "done":
            rows_text = _("Written: %(file)s (%(size)s)", file=params.get("file", ""),
                          size=_size(params.get("size") or 0))
        elif job.state in ("queued", "running"):
            rows_text = _("Writing the backup…")
        else:
            rows_text = ""
        error = ""
        if job.state == "failed":
            error = (_("The backup failed: %(reason)s", reason=params["reason"]) if params.get("reason")
                     else records.error_text(job.error))
        asked = records.cancel_waiting(job, queue())
        return {"id": job.id, "state": job.state,
                "state_label": str(WILL_BE_CANCELLED if asked else STATES.get(job.state, job.state)),
                "title": _("Database backup"), "rows_done": 0, "rows_total": None,
                "percent": records.percent(job), "rows_text": rows_text, "time_left": "",
                "created": format_local(job.created_at), "started": format_local(job.started_at),
                "finished": format_local(job.finished_at), "expires": "",
                "error": error, "download": None, "expired": False,
                # pg_dump runs to its end: a backup is cancelled while queued only
                "may_cancel": job.state == "queued" and job.owner_id == current_user.id and not asked,
                "owner_id": job.owner_id, "indeterminate": job.state in ("queued", "running"), "kind": "backup",
                "summary": "", "link": None, "link_text": "", "outcome": "", "back": None, "back_label": None}

    # --- pages ---------------------------------------------------------------------------------
    @expose("/")
    def index(self):
        self._reap()
        everyone = is_administrator()
        jobs = db.session.scalars(records.jobs_of(None if everyone else current_user.id).limit(SHOWN)).all()
        owners = {}
        if everyone:
            ids = {job.owner_id for job in jobs}
            owners = {user.id: str(user) for user in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
        periodic, backup = [], None
        if everyone:
            with db.engine.connect() as connection:
                periodic = [{**task, "label": str(PERIODIC.get(task["name"], task["name"])),
                             "outcome_label": str(OUTCOMES.get(task["outcome"], task["outcome"] or "")),
                             "last": format_local(task["last_run"]), "next": format_local(task["next_run"])}
                            for task in schedule(current_app, connection)]
                backup = backups.backup_status(connection)
            backup["on"] = backups.folder(current_app) is not None
            backup["keep"] = current_app.config.get("CRM_BACKUP_KEEP", 7)
        runs = self._runs(jobs)
        return self.render("admin/jobs.html", jobs=[self.describe(job, runs) for job in jobs], owners=owners,
                           everyone=everyone, periodic=periodic, backup=backup)

    @expose("/job")
    def job_view(self):
        self._reap()
        job = self._job(request.args.get("id"))
        return self.render("admin/job.html", job=self.describe(job))

    @expose("/status")
    def status(self):
        """The small JSON the progress bar polls (static/js/jobs.js)."""
        self._reap()
        job = self._job(request.args.get("id"))
        shown = self.describe(job)
        return jsonify({key: shown[key] for key in ("id", "state", "state_label", "rows_done", "rows_total",
                                                     "percent", "rows_text", "time_left", "error", "download",
                                                     "summary", "indeterminate", "outcome")})

    @expose("/cancel", methods=["POST"])
    def cancel(self):
        job = self._job(request.form.get("id"))
        if job.owner_id != current_user.id:
            abort(404)
        if job.kind in records.BOARD_KINDS and records.may_cancel(job) and job.state == "running":
            # its transaction may hold SQLite's write lock: ask on the board; it rolls back and marks itself
            records.ask_cancel(queue(), job.id)
            flash(_("Cancelling: the job stops at its next step and keeps nothing of its work."), "info")
            return redirect(url_for(".job_view", id=job.id))
        try:
            cancelled = records.cancel(db.engine, job.id, current_user.id)
        except OperationalError as error:
            if "locked" not in str(error) or job.state != "queued" or not records.may_cancel(job):
                raise
            # SQLite, while an import stores its rows: the worker that takes this job cancels it instead of running it
            records.ask_cancel(queue(), job.id)
            flash(_("The job will be cancelled: it will not run. An import is being stored meanwhile, so the job "
                    "shows as cancelled once that import has ended."), "info")
            return redirect(url_for(".job_view", id=job.id))
        if cancelled:
            flash(_("The job was cancelled."), "success")
        else:
            flash(_("The job had already ended: nothing was cancelled."), "info")
        return redirect(url_for(".job_view", id=job.id))

    @expose("/backup", methods=["POST"])
    def backup(self):
        """An administrator's backup now, as a job; anyone else is refused and nothing is queued or written."""
        if not is_administrator():
            abort(403)
        if backups.folder(current_app) is None:
            flash(_("Backups are off: the system administrator has not set CRM_BACKUP_DIR."), "error")
            return redirect(url_for(".index"))
        job_id, created = backups.start_backup_job(current_app, current_user.id)
        if not created:
            flash(_("A backup is already under way: here is its job."), "info")
        return redirect(url_for(".job_view", id=job_id))

    @expose("/download")
    def download(self):
        """The finished file, for its owner or an administrator still allowed to export from its screen; logged."""
        job = self._job(request.args.get("id"))
        if job.state != "done" or not job.result_file or self._screen(job) is None:
            abort(404)
        path = os.path.join(records.files_folder(), job.result_file)
        if not os.path.isfile(path):
            abort(404)
        params = json.loads(job.params)
        log_event_now("download", job, details={"screen": params.get("screen"), "format": params.get("format"),
                                                "rows": job.rows_done, "job_owner": job.owner_id})
        mimetype = XLSX_MIMETYPE if params.get("format") == "xlsx" else "text/csv"  # + charset=utf-8
        return send_file(path, mimetype=mimetype, as_attachment=True, download_name=params.get("filename"),
                         max_age=0)
