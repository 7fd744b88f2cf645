"""A list's Export button starts a job (or finds the one already doing the same work) and shows its page."""
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..i18n import current_language
from ..jobs import records
from .job_start import start_job

IGNORED_ARGS = ("url",)  # where to come back to: not part of the work


def start_export_job(view, export_type: str):
    """Queue the export of the list as it stands (its address and arguments, the user, their language)."""
    args = {name: values for name, values in request.args.to_dict(flat=False).items() if name not in IGNORED_ARGS}
    work = {"screen": view.endpoint, "format": export_type, "args": args}
    key = records.dedupe_key(current_user.id, "export", work)
    params = {**work, "path": request.path, "locale": current_language(),
              "filename": view.get_export_name(export_type), "title": str(view.name)}
    job_id, created = start_job("export", params, key)
    if not created:
        flash(_("This export is already under way: here is its job."), "info")
    return redirect(url_for("jobs.job_view", id=job_id))


def init_app(app, admin) -> None:
    """Hand the export jobs each list's producer (crmadmin/jobs/exports.py reads them by screen)."""
    app.extensions["crm_exporters"] = {view.endpoint: view.export_for_job for view in admin._views
                                       if hasattr(view, "export_for_job") and view.export_types}
