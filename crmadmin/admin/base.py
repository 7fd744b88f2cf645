"""The one base view that decides, for every screen, what the current user may do."""
import logging
import re
from datetime import datetime

import time

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.model import typefmt
from flask_babel import get_locale, gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import DateTime, false, func
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField
from wtforms.validators import ValidationError

from .. import phones
from ..auth.permissions import perm
from ..audit import log_event_now
from ..extensions import db
from ..localtime import format_local, viewer_zone, zone_name
from ..outages import is_outage
from ..jobs.records import Refused
from ..spreadsheet import XLSX_MAX_ROWS
from .counting import CappedCountQuery
from .fields import LocalDateTimeField, LocalTimeConverter
from .filter_values import INT64, accepts
from .history import history_for
from .export_jobs import start_export_job
from .keyset import KeysetPaging, walk
from . import export_rows, list_tools
from .list_rows import rows_writer
from .row_urls import list_url
from .scope import ScopedAjaxLoader, restrict
from .searching import apply_search
from .time_filters import LocalTimeFilterConverter
from . import limits, uniqueness

log = logging.getLogger(__name__)

# Flask-Admin endpoint -> the action it performs; anything not listed needs only "view".
ENDPOINT_ACTIONS = {
    "create_view": "create",
    "edit_view": "edit",
    "delete_view": "delete",
    "export": "export",
    "ajax_update": "edit",
}

def _minutes(view, value, name) -> str:
    return format_local(value)


def _seconds(view, value, name) -> str:
    return format_local(value, seconds=True)


def _is_moment(model, name: str) -> bool:
    """Whether the export column `name` of `model` is a stored date-time (its title then names the zone)."""
    attribute = model
    for part in name.split("."):
        attribute = getattr(attribute, part, None)
        prop = getattr(attribute, "property", None)
        if prop is None:
            return False
        mapper = getattr(prop, "mapper", None)
        if mapper is not None:
            attribute = mapper.class_
    columns = getattr(prop, "columns", None)
    return bool(columns) and isinstance(columns[0].type, DateTime)


def yes_no(value) -> str:
    return _("Yes") if value else _("No")


def _bool_icon(view, value, name) -> Markup:
    """Flask-Admin's check icon, titled with the column's label and 是/否 rather than `active: true`."""
    icon = "fa-check-circle" if value else "fa-minus-circle"
    title = _("%(field)s: %(value)s", field=view.get_column_name(name), value=yes_no(value))
    return Markup('<span class="fa {}" title="{}"></span>').format(icon, title)


def _bool_word(view, value, name) -> str:
    return yes_no(value)


def phone_cell(view, context, model, name) -> Markup | str:
    """A stored (E.164) number as a clerk dials it, 138 1234 5678 at home and +44 20 7946 0958 abroad, a tap away
    on a phone (tel:)."""
    value = model
    for part in name.split("."):
        value = getattr(value, part, None) if value is not None else None
    shown = phones.readable(value, current_app.config["CRM_PHONE_REGION"])
    if not value or not value.startswith("+") or shown == value:
        return shown  # no number to call: shown as stored
    return Markup('<a href="tel:{}" class="crm-tel">{}</a>').format(value, shown)


def _readable(value) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def is_administrator() -> bool:
    """Who manages accounts and roles: the screens without a permission of their own, and the panel's warnings."""
    return current_user.can(perm("users", "edit")) and current_user.can(perm("roles", "edit"))


class AccessMixin:
    """Login required, then a permission per action; a screen that declares none is for administrators only."""

    permission: str | None = None

    def _may(self, action: str) -> bool:
        if self.permission is None:
            return is_administrator()
        return current_user.can(perm(self.permission, action))

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and self._may("view")

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        abort(403)

    def _handle_view(self, name, **kwargs):
        refused = super()._handle_view(name, **kwargs)
        if refused is not None:
            return refused
        action = ENDPOINT_ACTIONS.get(name)
        if action and not getattr(self, f"can_{action}", False):
            abort(403)
        if name == "action_view" and request.method == "POST":
            if not self.is_action_allowed(request.form.get("action", "")):
                abort(403)
        return None


class SecureModelView(AccessMixin, list_tools.ListToolsMixin, KeysetPaging, ModelView):
    """A record screen: permissions per action, clean error messages, one transaction per save, optimistic locking."""

    # how rows belong to an owner: "owner" (the row has owner_id), "customer" (via customer_id), or None
    scope: str | None = None
    page_size = 20
    can_set_page_size = True
    can_view_details = True  # read at start-up, outside any request; details_view is still guarded by "view"
    details_modal = False
    details_template = "admin/record_details.html"  # Flask-Admin's details, plus the History section
    column_display_pk = True
    form_excluded_columns = ("created_at", "updated_at", "version")
    column_details_exclude_list = ("version",)
    column_editable_list = ()  # no inline editing: it bypasses form validation and the version check
    export_types = ["csv", "xlsx"]
    export_max_rows = 0  # every row: exports stream in batches (`_export_data`), so their size does not bound memory
    export_batch_rows = 1000
    export_xlsx_max_rows = XLSX_MAX_ROWS  # a worksheet's rows: a longer list is refused as XLSX, offered as CSV
    column_auto_select_related = True
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: _minutes, bool: _bool_icon}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, datetime: _seconds, bool: _bool_word}
    column_type_formatters_export = {**typefmt.EXPORT_FORMATTERS, datetime: _seconds}
    # times are typed, filtered and shown in the viewer's zone and stored in UTC (crmadmin/localtime.py), every date
    # and time box in the one picker (widgets.PickerInput, static/js/pickers.js)
    model_form_converter = LocalTimeConverter
    filter_converter = LocalTimeFilterConverter()
    # a list that fits the screen (static/css/lists.css, admin/list_rows.py): these columns' long text is cut to one
    # line with an ellipsis, whole on hover; on a phone each row is a card titled by `column_card_title`
    column_cut = ("name", "company_name", "email", "address", "subject", "customer", "description", "summary",
                  "notes", "outcome", "product", "title", "details", "last_interaction")
    column_card_title = "name"
    # a unique constraint's name -> what a clash with it means to the user (admin/uniqueness.py names the fields else)
    unique_messages: dict = {}

    def search_placeholder(self) -> str | None:
        """The searched fields as a list in the user's language (名称、手机号码 in Chinese; Flask-Admin joins them with
        an English comma)."""
        if not self.column_searchable_list:
            return None
        names = (getattr(field, "key", field) for field in self.column_searchable_list)
        return _(", ").join(str(self.column_labels.get(name, name)) for name in names)

    # --- what the user may do, asked per request ---------------------------------------
    @property
    def can_create(self):
        return self._may("create")

    @property
    def can_edit(self):
        return self._may("edit")

    @property
    def can_delete(self):
        return self._may("delete")

    @property
    def can_export(self):
        return self._may("export")

    def _export_query(self, limit: int | None = None):
        """The list's query (scope, search, filters, order) and its exact row count; the export is logged first with
        its screen, filters and that count. Over `limit` rows: (count, None), nothing logged."""
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        _, query = self.get_list(0, sort[0] if sort else None, view_args.sort_desc, view_args.search,
                                 view_args.filters, execute=False, page_size=0)
        count = query.order_by(None).count()
        if limit is not None and count > limit:
            return count, None
        log_event_now("export", details={"screen": self.endpoint, "filters": request.args.to_dict(flat=False),
                                         "rows": count, "format": request.view_args.get("export_type", "csv")})
        return count, query

    def _export_data(self, limit: int | None = None):
        """The list's records, read in batches past the last as the job writes the file."""
        count, query = self._export_query(limit)
        return count, None if query is None else walk(query, list(g.crm_list.keys), self.export_batch_rows)

    def get_export_name(self, export_type: str = "csv") -> str:
        """ASCII file names (the screen's endpoint): a translated screen name would be stripped to nothing."""
        return f"{self.endpoint}_{time.strftime('%Y-%m-%d_%H-%M-%S')}.{export_type}"

    def _export_titles(self) -> list:
        zone = zone_name(viewer_zone())
        return [f"{c[1]} ({zone})" if _is_moment(self.model, c[0]) else c[1] for c in self._export_columns]

    def _export_rows(self, limit: int | None = None):
        count, models = self._export_data(limit)
        rows = None if models is None else (
            [self.get_export_value(m, c[0]) for c in self._export_columns] for m in models)
        return count, self._export_titles(), rows

    def _export_csv_text(self):
        """(count, titles, batches of rows of CSV cells) streamed as tuples (admin/export_rows.py), or None when a
        column of this screen needs its records."""
        if not export_rows.readable(self):
            return None
        count, query = self._export_query()
        return count, self._export_titles(), export_rows.csv_rows(self, query, self.export_batch_rows)

    def _export_csv(self, return_url):
        """The Export button: a job writes the file (RFC 4180 CSV with a UTF-8 BOM, crmadmin/spreadsheet.py)."""
        return start_export_job(self, "csv")

    def _export_tablib(self, export_type: str, return_url: str):
        """XLSX as a job too: typed cells, never formulas; a list longer than a worksheet fails with the reason."""
        if export_type != "xlsx":
            abort(404)
        return start_export_job(self, "xlsx")

    def export_for_job(self, export_type: str):
        """What the export job writes, asked in the request context the worker rebuilt for the job's owner:
        (rows in all, titles, rows, rows per batch, sheet name); Refused when it may not."""
        if not self.can_export or export_type not in self.export_types:
            raise Refused("forbidden")
        # CSV of any length as plain tuples; XLSX (a worksheet's rows at most) from the records
        fast = self._export_csv_text() if export_type == "csv" else None
        count, titles, rows = fast or self._export_rows(
            limit=self.export_xlsx_max_rows if export_type == "xlsx" else None)
        if rows is None:
            raise Refused("xlsx_too_long", count)
        return count, titles, rows, self.export_batch_rows, str(self.name)

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        return super().is_action_allowed(name)

    # --- forms ----------------------------------------------------------------------------
    def scaffold_form(self):
        """Every text field of a column with a length gets that length as its one limit, maxlength and hint."""
        form_class = super().scaffold_form()
        limits.apply(form_class, self.model)
        return form_class

    def create_form(self, obj=None):
        """Opened from a customer's page (?customer_id=), the form starts with that customer, if the user may see
        them: the customer picker's own scoped lookup finds them, or nobody is preset."""
        form = super().create_form(obj)
        customer_id = request.args.get("customer_id", "")
        loader = self._form_ajax_refs.get("customer") if self._form_ajax_refs else None
        if request.method == "GET" and re.fullmatch(r"[0-9]{1,9}", customer_id) and loader is not None \
                and hasattr(form, "customer"):
            form.customer.data = loader.get_one(customer_id)
        return form

    def get_edit_form(self):
        base = super().get_edit_form()

        class EditForm(base):
            row_version = HiddenField()

        return EditForm

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        if request.method == "GET" and obj is not None:
            form.row_version.data = str(obj.version)
        form.crm_editing = obj  # the record whose own values are no clash with themselves (validate_form)
        return form

    def validate_form(self, form):
        """Flask-Admin renders only str errors (`e is string`): lazy messages are resolved so none is lost; then the
        model's unique keys are checked against the stored rows, each clash an error on its field."""
        valid = super().validate_form(form)
        for field in form:
            if field.errors:
                field.errors = [str(e) for e in field.errors]
        if request.method == "POST" and uniqueness.clashes(db.session, form, self.model,
                                                           getattr(form, "crm_editing", None), self.unique_messages):
            valid = False
        return valid

    # --- saving: one transaction each, errors in the user's words -------------------------
    def _fail(self, error: Exception, fallback, form=None) -> bool:
        """Roll the whole save back (the operation log's entries with it) and tell the user why, on the form where a
        unique key of the record clashed with a row saved meanwhile. `fallback` is a lazy message: translating it
        before the rollback would read the user's language from a session that must be rolled back first."""
        if is_outage(error):
            raise error  # not this form's fault: the 503 page (crmadmin/outages.py), not a traceback and a flash
        db.session.rollback()
        if isinstance(error, IntegrityError) and form is not None and uniqueness.explain(
                error, form, self.model, self.unique_messages):
            log.info("Unique key clash in %s", self.endpoint)  # no values: PII
        elif isinstance(error, ValidationError):
            flash(str(error), "error")
        elif isinstance(error, StaleDataError):
            flash(_("Someone else saved this record while you were editing it. Nothing was saved; reload the form to edit the current version."), "error")
        elif isinstance(error, IntegrityError):
            log.warning("Integrity error in %s (%s)", self.endpoint, type(error.orig).__name__)  # no values: PII
            flash(_("This change conflicts with other records (a duplicate value, or a record that others still refer to). Nothing was saved."), "error")
        else:
            log.exception("Failed to save in %s", self.endpoint)
            flash(str(fallback), "error")  # resolved after the rollback: the user is read afresh
        return False

    def create_model(self, form):
        try:
            model = self.build_new_instance()
            form.populate_obj(model)
            db.session.add(model)
            self._on_model_change(form, model, True)
            db.session.commit()
        except (ValidationError, SQLAlchemyError) as error:
            return self._fail(error, _l("The record could not be created. Nothing was saved."), form)
        self.after_model_change(form, model, True)
        return model

    def _conflict_message(self, form, model) -> str:
        differences = []
        for name, field in form._fields.items():
            if name in ("row_version", "csrf_token") or not hasattr(model, name):
                continue
            saved = getattr(model, name)
            if isinstance(saved, (list, tuple)):
                continue
            mine = field.data
            if _readable(saved) != _readable(mine):
                differences.append(_("%(field)s is now “%(saved)s” (yours: “%(mine)s”)",
                                     field=field.label.text, saved=_readable(saved), mine=_readable(mine)))
        message = _("Someone else saved this record while you were editing it (your version %(mine)s, saved version %(saved)s). Nothing was saved.",
                    mine=form.row_version.data or "?", saved=model.version)
        if differences:
            message += " " + _("Changed meanwhile or by you:") + " " + "; ".join(differences) + "."
        return message + " " + _("Reload the form to edit the current version.")

    def update_model(self, form, model):
        if getattr(form, "row_version", None) is not None and form.row_version.data != str(model.version):
            flash(self._conflict_message(form, model), "error")
            db.session.rollback()
            return False
        try:
            for name, field in form._fields.items():
                if name != "row_version":
                    field.populate_obj(model, name)
            self._on_model_change(form, model, False)
            db.session.commit()
        except (ValidationError, SQLAlchemyError) as error:
            return self._fail(error, _l("The record could not be saved. Nothing was changed."), form)
        self.after_model_change(form, model, False)
        return True

    def delete_model(self, model):
        try:
            self.on_model_delete(model)
            db.session.delete(model)
            db.session.commit()
        except (ValidationError, SQLAlchemyError) as error:
            return self._fail(error, _l("The record could not be deleted. Nothing was changed."))
        self.after_model_delete(model)
        return True

    @action("delete", _l("Delete"), _l("Delete the selected records? This cannot be undone."))
    def action_delete(self, ids):
        """Bulk delete as one transaction: all the selected records go, or none does."""
        try:
            models = self.get_query().filter(self.model.id.in_([int(i) for i in ids])).all()
            for model in models:
                self.on_model_delete(model)
                db.session.delete(model)
            db.session.commit()
        except (ValidationError, SQLAlchemyError, ValueError) as error:
            self._fail(error, _l("The records could not be deleted. Nothing was changed."))
            return
        flash(ngettext("%(num)d record was deleted.", "%(num)d records were deleted.", len(models)), "success")

    def handle_view_exception(self, exc):
        if isinstance(exc, (ValidationError, SQLAlchemyError)):
            self._fail(exc, _l("The request failed and nothing was changed."))
            return True
        return super().handle_view_exception(exc)

    def get_url(self, endpoint, **kwargs):
        """The list's own address (its sort links, pager, page sizes and return address: a dozen a page) routed once
        per request, its query encoded each time (admin/row_urls.py)."""
        if endpoint == ".index_view" and not any(name.startswith("_") for name in kwargs):
            return list_url(f"{self.endpoint}.index_view", **kwargs)
        return super().get_url(endpoint, **kwargs)

    def record_title(self, model) -> str:
        """The record as a page's title names it (details, edit); a screen whose __str__ holds codes words it."""
        return str(model)

    def render(self, template, **kwargs):
        """A details page also gets the record's history from the operation log (None unless the viewer may read it);
        a list page gets its rows written in Python (admin/list_rows.py)."""
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["history_entries"] = history_for(self, kwargs["model"])
        if template == self.list_template and "list_columns" in kwargs and current_user.is_authenticated:
            # the user's columns and saved views (admin/list_tools.py): before the rows are written with them
            list_tools.apply_columns(self, kwargs)
            kwargs["list_tools"] = list_tools.tools(self, kwargs)
        kwargs.setdefault("crm_zone_note", self._shows_times(template, kwargs))
        if "list_row_actions" in kwargs and "return_url" in kwargs:
            kwargs["row_html"] = rows_writer(self, kwargs)
        return super().render(template, **kwargs)

    def _get_list_filter_args(self):
        """Flask-Admin's filters from the query string, less those whose value their column cannot take
        (admin/filter_values.py): each is ignored and named in a message, never sent to the database (a 500)."""
        filters = super()._get_list_filter_args()
        if not filters:
            return filters
        kept = []
        for index, name, value in filters:
            if accepts(self._filters[index], value):
                kept.append((index, name, value))
            else:
                flash(self.get_invalid_value_msg(value, self._filters[index]), "error")
        return kept

    def get_invalid_value_msg(self, value, filter) -> str:
        """The filter by its label and operation, as the filter bar shows it; not the value, which may be any length."""
        return _("The value of the filter “%(filter)s” is not valid and was ignored.",
                 filter=f"{filter.name} {filter.operation()}")

    def _shows_times(self, template: str, kwargs: dict) -> bool:
        """Whether this page shows or asks for a date-time, so it names the zone (once, under the page)."""
        if kwargs.get("form") is not None and template in (self.create_template, self.edit_template):
            return any(isinstance(field, LocalDateTimeField) for field in kwargs["form"])
        columns = self._list_columns if template == self.list_template else \
            self._details_columns if template == self.details_template else ()
        known = self.__dict__.setdefault("_moment_columns", {})
        for name, _label in columns:
            if name not in known:
                known[name] = _is_moment(self.model, name)
            if known[name]:
                return True
        return False

    def _get_filter_groups(self):
        """Flask-Admin translates every filter's label and operation on every list page; they change only with the
        language, so each language's are kept."""
        language = str(get_locale())
        translated = self.__dict__.setdefault("_filter_groups_by_language", {})
        if language not in translated:
            translated[language] = super()._get_filter_groups()
        return translated[language]

    # --- rows: the user's scope, then an optional narrowing to one customer ----------------
    def _narrow(self, query):
        query = restrict(query, self.model, self.scope, self.permission)
        customer_id = request.args.get("customer_id", type=int)
        if customer_id is not None and hasattr(self.model, "customer_id"):
            # an id no column can hold is no customer's (the database would refuse to compare with it)
            query = query.filter(self.model.customer_id == customer_id if customer_id in INT64 else false())
        return query

    def get_query(self):
        return self._narrow(super().get_query())

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Substring search through the search index where there is one (admin/searching.py)."""
        return apply_search(self, query, count_query, joins, count_joins, search)

    def get_count_query(self):
        """Counts stop at CRM_COUNT_CAP (admin/counting.py): "10,000+" rather than a full scan of a big table."""
        return self._narrow(CappedCountQuery([func.count("*")], session=db.session()).select_from(self.model))

    def get_one(self, id):
        """By id as by list: a row outside the user's scope, or a malformed id, is simply not found."""
        try:
            pk = int(id)
        except (TypeError, ValueError):
            abort(404)
        record = restrict(super().get_query(), self.model, self.scope, self.permission).filter(
            self.model.id == pk).one_or_none()
        if record is None:
            abort(404)
        return record

    def _create_ajax_loader(self, name, options):
        remote = getattr(self.model, name).property.mapper.class_
        return ScopedAjaxLoader(name, db, remote, **options)
