"""The operation log screen (操作日志): read, filter and export the log; nothing in it can be changed here."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from .. import choices
from ..audit.undo import ROW_ACTIONS, UndoRefused, undo_batch, undo_entry
from ..auth.permissions import UNDO_CHANGES, perm
from ..extensions import db
from ..jobs import records
from ..models import AuditEntry
from .base import SecureModelView
from .filter_links import filtered_url
from .job_start import start_job
from .history import actor_label, log_restriction, readable_changes, record_label, record_url
from ..labels import AUDIT_LABELS
from .time_filters import LocalBetween

# record type (table) -> the permission resource that governs it
RECORD_RESOURCES = {"customer": "customers", "transaction": "transactions", "interaction": "interactions",
                    "complaint": "complaints", "campaign": "campaigns", "campaign_participant": "campaigns",
                    "user": "users", "role": "roles"}
RECORD_RESOURCES["survey_response"] = "surveys"

# name -> filter; the names are what filter_url() takes, so links to "this batch" or "this record" stay stable.
FILTERS = {
    "actor": FilterEqual(AuditEntry.actor, _l("User")),
    "action": FilterEqual(AuditEntry.action, _l("Action"), options=choices.AUDIT_ACTION.form_choices()),
    "record_type": FilterEqual(AuditEntry.record_type, _l("Record type"), options=choices.RECORD_TYPE.form_choices()),
    "record_id": FilterEqual(AuditEntry.record_id, _l("Record ID")),
    "batch_id": FilterEqual(AuditEntry.batch_id, _l("Batch")),
    "source": FilterEqual(AuditEntry.source, _l("Origin"), options=choices.AUDIT_SOURCE.form_choices()),
    "occurred_at": LocalBetween(AuditEntry.occurred_at, _l("Time")),
    "ip": FilterEqual(AuditEntry.ip, _l("IP address")),
    "ip_like": FilterLike(AuditEntry.ip, _l("IP address")),
}


def _label_of(enum):
    return lambda view, context, model, name: enum.label(getattr(model, name)) if getattr(model, name) else ""


def _record(view, context, model, name):
    label = record_label(model)
    url = None if model.action == "delete" else record_url(view.admin, model.record_type, model.record_id)
    return Markup('<a href="{}">{}</a>').format(url, label) if url else label


def _batch(short: bool):
    def formatter(view, context, model, name):
        shown = model.batch_id[:8] if short else model.batch_id
        return Markup('<a href="{}" title="{}">{}</a>').format(view.filter_url(batch_id=model.batch_id),
                                                               model.batch_id, shown)
    return formatter


def _actor(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(view.filter_url(actor=model.actor), actor_label(model))


class AuditLogView(SecureModelView):
    """Read-only for everyone: no create, edit or delete route, no bulk delete; export with audit.export."""

    permission = "audit"
    page_size = 50

    def record_title(self, model) -> str:
        return f"#{model.id} {choices.AUDIT_ACTION.label(model.action)} {record_label(model)}".strip()
    column_default_sort = ("id", True)
    column_labels = AUDIT_LABELS
    column_display_pk = False
    column_list = ("occurred_at", "actor", "action", "record_type", "record_label", "batch_id", "source", "ip")
    column_sortable_list = ("occurred_at", "actor", "action", "record_type", "source", "ip")
    column_searchable_list = ("record_label", "actor")
    column_filters = tuple(FILTERS.values())
    column_details_list = ("id", "occurred_at", "actor", "actor_id", "action", "record_type", "record_id",
                           "record_label", "batch_id", "source", "command", "ip", "user_agent", "request_id",
                           "prev_hash", "hash")
    column_export_list = ("id", "occurred_at", "actor", "actor_id", "action", "record_type", "record_id",
                          "record_label", "batch_id", "source", "command", "ip", "user_agent", "request_id",
                          "changes", "prev_hash", "hash")
    column_formatters = {"action": _label_of(choices.AUDIT_ACTION), "record_type": _label_of(choices.RECORD_TYPE),
                         "source": _label_of(choices.AUDIT_SOURCE), "record_label": _record, "batch_id": _batch(True),
                         "actor": _actor}
    column_formatters_detail = {**column_formatters, "batch_id": _batch(False)}
    column_formatters_export = {}  # stored values, as the hash chain covers them
    column_auto_select_related = False  # nothing to join: the actor's name is stored in the entry
    details_template = "admin/auditentry_details.html"
    action_delete = None  # no bulk delete: Flask-Admin registers only methods marked as actions

    # --- nothing here changes the log ----------------------------------------------------------
    @property
    def can_create(self):
        return False

    @property
    def can_edit(self):
        return False

    @property
    def can_delete(self):
        return False

    # --- rows: the whole log, or only entries about the viewer's own customers ----------------------
    def _narrow(self, query):
        query = super()._narrow(query)
        restriction = log_restriction()
        return query if restriction is None else query.filter(restriction)

    def get_one(self, id):
        """An entry outside what the viewer may read, or a malformed id, is simply not found."""
        try:
            pk = int(id)
        except (TypeError, ValueError):
            abort(404)
        entry = self._narrow(db.session.query(AuditEntry)).filter(AuditEntry.id == pk).one_or_none()
        if entry is None:
            abort(404)
        return entry

    # --- links into the log -----------------------------------------------------------------------
    def filter_url(self, **criteria) -> str:
        """This list filtered by FILTERS names: filter_url(batch_id=...), filter_url(record_type=..., record_id=...)."""
        return filtered_url(self, *((FILTERS[name], value) for name, value in criteria.items()))

    # --- undo: revert one change, restore a deleted record, or undo a whole batch ---------------------
    def may_undo(self, entry) -> bool:
        """Those who hold audit.undo, read the log unscoped and may edit (and create, delete) the record's kind."""
        resource = RECORD_RESOURCES.get(entry.record_type or "")
        if resource is None or entry.action not in ("create", "update", "delete") or not current_user.can(UNDO_CHANGES):
            return False
        if current_user.limited_to_own_customers("audit"):
            return False
        return all(current_user.can(perm(resource, a)) for a in ("view", "create", "edit", "delete"))

    def _undoable(self, entry, whole_batch: bool) -> list | None:
        """The row changes an undo of `entry` (or of its whole batch) reverts, if the viewer may undo every one."""
        batch = db.session.scalars(select(AuditEntry).where(AuditEntry.batch_id == entry.batch_id)).all() \
            if whole_batch else [entry]
        rows = [e for e in batch if e.action in ROW_ACTIONS]
        return rows if rows and all(self.may_undo(e) for e in rows) else None

    def may_undo_batch(self, params: dict) -> dict | None:
        """The undo job's check, made again by the worker as its owner: still readable to them and undoable."""
        if not self.is_accessible():
            return None
        entry = self._narrow(db.session.query(AuditEntry)).filter(AuditEntry.id == params["entry"]).one_or_none()
        return {} if entry is not None and self._undoable(entry, True) is not None else None

    @expose("/undo/", methods=["POST"])
    def undo_view(self):
        entry = self.get_one(request.form.get("id"))
        whole_batch = request.form.get("scope") == "batch"
        rows = self._undoable(entry, whole_batch)
        if rows is None:
            abort(403)
        if whole_batch and len(rows) > current_app.config["CRM_UNDO_IN_REQUEST_MAX"]:
            # an import's batch of 100,000 changes takes about a minute to undo: a job, in one transaction still
            work = {"batch": entry.batch_id}
            job_id, created = start_job("undo_batch", {**work, "entry": entry.id, "changes": len(rows)},
                                        records.dedupe_key(current_user.id, "undo_batch", work))
            if not created:
                flash(_("This undo is already under way: here is its job."), "info")
            return redirect(url_for("jobs.job_view", id=job_id))
        try:
            count = undo_batch(db.session, entry.batch_id) if whole_batch else undo_entry(db.session, entry)
            db.session.commit()
            flash(ngettext("%(num)d change was undone.", "%(num)d changes were undone.", count), "success")
        except UndoRefused as refusal:
            db.session.rollback()
            flash(_("Nothing was undone: %(why)s", why=str(refusal)), "error")
        except SQLAlchemyError:
            db.session.rollback()
            flash(_("The undo conflicts with the records as they are now. Nothing was undone."), "error")
        return redirect(url_for(".details_view", id=entry.id))

    def render(self, template, **kwargs):
        entry = kwargs.get("model")
        if template == self.details_template and entry is not None:
            kwargs["may_undo"] = self.may_undo(entry)
            kwargs["changes"] = readable_changes(entry)
            kwargs["batch_url"] = self.filter_url(batch_id=entry.batch_id)
            kwargs["record_log_url"] = (self.filter_url(record_type=entry.record_type, record_id=entry.record_id)
                                        if entry.record_type and entry.record_id else None)
        return super().render(template, **kwargs)
