"""Complaints (客户投诉) worked through their process: the list with states and deadlines, the moves, the timeline,
and the Overdue Complaints screen."""
import re
from datetime import timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.model.template import BaseListRowAction
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.validators import ValidationError

from .. import choices
from ..auth.routes import safe_next
from ..complaints import MOVES, MoveRefused, allowed, apply, refusal
from ..complaints.workflow import FINISHED
from ..extensions import db
from ..localtime import format_local
from ..models import Complaint, ComplaintStep, User, utcnow
from .base import SecureModelView
from .fields import CUSTOMER_LOOKUP, EmptyToNone, NotInFuture, choice_settings
from ..labels import LABELS

MAX_BULK = 200  # complaints one bulk move may touch: a page of them, and a form that still lists each one
BADGES = {"received": "badge-secondary", "assessed": "badge-info", "assigned": "badge-primary",
          "solution_drafted": "badge-primary", "in_progress": "badge-warning", "result_reported": "badge-warning",
          "closed": "badge-success", "rejected": "badge-dark", "reopened": "badge-danger"}
CREATE_ONLY = ("customer", "received_at", "type", "severity", "urgency")  # afterwards: through the moves
EDIT_ONLY = ("solution", "action_taken", "customer_feedback")  # written while the complaint is worked
KEEP = ""  # a bulk move's "leave as it is" choice


# --- cells ------------------------------------------------------------------------------------
def span_text(span: timedelta) -> str:
    """A duration as days and hours, hours and minutes, or minutes: the precision a deadline needs."""
    minutes = int(abs(span).total_seconds() // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=mins)
    return _("%(minutes)d min", minutes=mins)


def due_state(complaint: Complaint, now) -> tuple[str, str] | None:
    """(css class, words) for the deadline that applies now: time left, time overdue, or how it was closed."""
    if complaint.status in FINISHED:
        if complaint.closed_at and complaint.due_at and complaint.closed_at > complaint.due_at:
            return "badge-light text-danger", _("finished %(span)s late", span=span_text(complaint.closed_at
                                                                                      - complaint.due_at))
        return None
    deadline = complaint.next_due_at
    if deadline is None:
        return None
    what = _("response") if complaint.responded_at is None else _("resolution")
    if deadline < now:
        return "badge-danger", _("%(what)s %(span)s overdue", what=what, span=span_text(now - deadline))
    css = "badge-warning" if deadline - now < timedelta(hours=4) else "badge-info"
    return css, _("%(what)s: %(span)s left", what=what, span=span_text(deadline - now))


def _due_cell(view, context, model, name):
    state = due_state(model, utcnow())
    if state is None:
        return ""
    return Markup('<span class="badge {} complaint-due" title="{}">{}</span>').format(
        state[0], format_local(model.next_due_at), state[1])


def _status_cell(view, context, model, name):
    return Markup('<span class="badge {} complaint-status" data-status="{}">{}</span>').format(
        BADGES.get(model.status, "badge-secondary"), model.status, choices.COMPLAINT_STATUS.label(model.status))


def _can(permission: str) -> bool:
    return current_user.can(permission)


class MovesAction(BaseListRowAction):
    """The next steps the viewer may take on this row's complaint, as small buttons."""

    def render(self, context, row_id, row):
        view = context.resolve("admin_view")
        links = [Markup('<a class="btn btn-sm btn-outline-primary text-nowrap complaint-move" data-move="{}" '
                        'href="{}">{}</a>').format(m.name, view.move_url(m.name, [row_id],
                                                                         context.resolve("return_url")),
                                                   choices.COMPLAINT_MOVE.label(m.name))
                 for m in allowed(row.status, row.severity, _can) if m.target is not None]
        return Markup(" ").join(links)


# --- the form of a move --------------------------------------------------------------------------
def move_form(move, complaints: list[Complaint]) -> FlaskForm:
    """A form with the fields this move asks for; one complaint's current values filled in."""
    single = complaints[0] if len(complaints) == 1 else None

    def choice(label, enum, field):
        options = enum.form_choices()
        if single is None:
            options = [(KEEP, _("— leave as it is —"))] + options
        return SelectField(label, choices=options, default=getattr(single, field) if single else KEEP)

    def text(label, field, rows=4):
        required = field in move.required
        validators = [DataRequired(_("This step needs this field."))] if required else [EmptyToNone(), Optional()]
        return TextAreaField(label, validators=[*validators, Length(max=5000)],
                             default=getattr(single, field, None) if single and field != "note" else None,
                             render_kw={"rows": rows})

    fields = {}
    for name in move.fields:
        if name == "type":
            fields[name] = choice(LABELS["type"], choices.COMPLAINT_TYPE, "type")
        elif name == "severity":
            fields[name] = choice(LABELS["severity"], choices.COMPLAINT_SEVERITY, "severity")
        elif name == "urgency":
            fields[name] = choice(LABELS["urgency"], choices.COMPLAINT_URGENCY, "urgency")
        elif name == "assignee":
            users = db.session.execute(select(User.id, User.username, User.display_name)
                                       .where(User.active.is_(True)).order_by(User.username)).all()
            fields[name] = SelectField(
                _("Responsible person"), coerce=lambda v: int(v) if v not in (None, "") else None,
                choices=[("", "—")] + [(u.id, f"{u.display_name or u.username} ({u.username})") for u in users],
                default=single.assignee_id if single else None,
                validators=[DataRequired(_("Choose the responsible person."))])
        elif name == "department":
            fields[name] = StringField(_("Responsible department"), validators=[EmptyToNone(), Optional(),
                                                                               Length(max=100)],
                                       default=single.department if single else None)
        elif name == "satisfaction_score":
            scores = [("", _("not given"))] + [(str(s), str(s)) for s in range(5, 0, -1)]
            fields[name] = SelectField(
                _("Satisfaction score (1–5)"), choices=scores,
                coerce=lambda v: int(v) if v not in (None, "") else None, default=None, validate_choice=True)
        elif name == "note":
            label = _("Reason") if move.name in ("reject", "reopen", "reclassify") else _("Note")
            fields[name] = text(label, "note", 3)
        else:
            fields[name] = text(LABELS[name], name)
    return type("MoveForm", (FlaskForm,), fields)()


def move_values(form) -> dict:
    """The values the user gave: a bulk move's "leave as it is" leaves that field out."""
    return {name: field.data for name, field in form._fields.items()
            if name != "csrf_token" and field.data != KEEP}


# --- the screens ---------------------------------------------------------------------------------
class ComplaintView(SecureModelView):
    permission = "complaints"
    scope = "customer"
    column_labels = {**LABELS, "due": _l("Due")}
    # with the row's next steps as buttons, fits 1366 px; type and urgency are filters, on the details page and in
    # the export
    column_list = ("id", "received_at", "customer", "subject", "severity", "status", "assignee", "due")
    column_export_list = ("id", "received_at", "customer", "subject", "type", "severity", "urgency",
                          "status", "assignee", "department", "respond_due_at", "responded_at", "due_at",
                          "closed_at", "satisfaction_score")
    column_details_exclude_list = ("version", "next_due_at")
    column_card_title = "subject"
    column_searchable_list = ("subject", "customer.name", "customer.mobile", "customer.address")
    column_filters = ("status", "type", "severity", "urgency", "channel", "received_at", "due_at", "next_due_at",
                      "assignee.username", "department", "customer.name", "satisfaction_score")
    column_sortable_list = ("id", "received_at", "type", "severity", "urgency", "status", "due_at",
                            ("due", "next_due_at"), ("customer", "customer.name"),
                            ("assignee", "assignee.username"))
    column_default_sort = ("received_at", True)
    form_choices, column_choices, column_formatters = choice_settings(
        channel=choices.CONTACT_CHANNEL, type=choices.COMPLAINT_TYPE,
        severity=choices.COMPLAINT_SEVERITY, urgency=choices.COMPLAINT_URGENCY,
        status=choices.COMPLAINT_STATUS)
    column_formatters_export = dict(column_formatters)  # the status as its label, not the list's badge
    column_formatters = {**column_formatters, "status": _status_cell, "due": _due_cell}
    form_columns = ("customer", "subject", "description", "channel", "received_at", "type", "severity", "urgency",
                    "department", "solution", "action_taken", "customer_feedback")
    form_args = {
        "customer": {"validators": [DataRequired()]},
        "subject": {"validators": [DataRequired(), Length(max=200)]},
        "description": {"validators": [DataRequired()]},
        "received_at": {"validators": [DataRequired(), NotInFuture()],
                        "default": lambda: utcnow().replace(second=0, microsecond=0)},
        "department": {"validators": [EmptyToNone()]},
    }
    form_ajax_refs = {"customer": CUSTOMER_LOOKUP}
    details_template = "admin/complaint_details.html"

    # --- forms: registering asks for the classification; the state changes only through moves ---------
    def get_create_form(self):
        return type("ComplaintCreateForm", (super().get_create_form(),), dict.fromkeys(EDIT_ONLY))

    def get_edit_form(self):
        return type("ComplaintEditForm", (super().get_edit_form(),), dict.fromkeys(CREATE_ONLY))

    def get_query(self):
        return super().get_query().options(joinedload(Complaint.customer), joinedload(Complaint.assignee))

    # --- the moves: row buttons, bulk actions, and one form for both -----------------------------
    def get_list_row_actions(self):
        actions = super().get_list_row_actions()
        if self.can_edit:
            actions = [*actions, MovesAction()]
        return actions

    def init_actions(self):
        """Besides delete, one bulk action per move that changes the state; each opens the move's form."""
        super().init_actions()
        for move in MOVES.values():
            if move.target is None and move.name != "reassign":
                continue
            name = f"move_{move.name}"
            label = choices.COMPLAINT_MOVE.label(move.name)
            self._actions.append((name, label))
            self._actions_data[name] = (lambda ids, m=move.name: self._bulk_move(m, ids), label, None)

    def is_action_allowed(self, name: str) -> bool:
        if name.startswith("move_"):
            move = MOVES.get(name[5:])
            return move is not None and self.can_edit and current_user.can(move.permission)
        return super().is_action_allowed(name)

    def _bulk_move(self, move: str, ids):
        if len(ids) > MAX_BULK:
            flash(_("Choose at most %(num)d complaints for one step.", num=MAX_BULK), "error")
            return redirect(self.get_url(".index_view"))
        return redirect(self.move_url(move, ids, request.referrer))

    def move_url(self, move: str, ids, return_url=None) -> str:
        return url_for(".move_view", move=move, ids=",".join(str(i) for i in ids),
                       url=safe_next(return_url, self.get_url(".index_view")))

    def _complaints(self, ids_text: str) -> list[Complaint]:
        """The complaints named by ?ids=, all in the viewer's scope; any other is simply not found."""
        if not re.fullmatch(r"[0-9]{1,9}(,[0-9]{1,9}){0,%d}" % (MAX_BULK - 1), ids_text or ""):
            abort(404)
        ids = sorted({int(i) for i in ids_text.split(",")})
        found = self.get_query().filter(Complaint.id.in_(ids)).order_by(Complaint.id).all()
        if len(found) != len(ids):
            abort(404)
        return found

    def _refusal_message(self, error: MoveRefused, move) -> str:
        step = choices.COMPLAINT_MOVE.label(move.name)
        if error.reason == "supervisor":
            return _("Complaint #%(id)d is a major complaint: only a supervisor may take the step “%(step)s”. "
                     "Nothing was changed.", id=error.complaint.id, step=step)
        return _("Complaint #%(id)d is “%(status)s”: the step “%(step)s” cannot follow from there. "
                 "Nothing was changed.", id=error.complaint.id, step=step,
                 status=choices.COMPLAINT_STATUS.label(error.complaint.status))

    @expose("/move/", methods=("GET", "POST"))
    def move_view(self):
        """Take one step of the process on one complaint or several (?move=&ids=): all of them, or none."""
        move = MOVES.get(request.args.get("move", ""))
        if move is None:
            abort(404)
        if not self.can_edit or not current_user.can(move.permission):
            abort(403)
        complaints = self._complaints(request.args.get("ids", ""))
        return_url = safe_next(request.args.get("url"), self.get_url(".index_view"))
        form = move_form(move, complaints)
        status = 200
        if form.validate_on_submit():
            try:
                apply(db.session, complaints, move, move_values(form), _can, current_user.id, utcnow())
                db.session.commit()
            except MoveRefused as error:
                db.session.rollback()
                flash(self._refusal_message(error, move), "error")
                status = 409
            except (ValidationError, SQLAlchemyError) as error:
                self._fail(error, _l("The step could not be recorded. Nothing was changed."))
                status = 409
            else:
                flash(_("“%(step)s” recorded for %(what)s.", step=choices.COMPLAINT_MOVE.label(move.name),
                        what=", ".join(f"#{c.id}" for c in complaints)), "success")
                return redirect(return_url)
            complaints = self._complaints(request.args.get("ids", ""))
        elif request.method == "POST":
            flash(_("Nothing was changed: correct the fields marked below."), "error")
            status = 400
        for field in form:
            field.errors = [str(e) for e in field.errors]
        blocked = [(c, self._blocked(c, move)) for c in complaints]
        return self.render("admin/complaint_move.html", form=form, move=move, rows=blocked,
                           hint=move.hint, return_url=return_url,
                           step=choices.COMPLAINT_MOVE.label(move.name)), status

    def _blocked(self, complaint: Complaint, move) -> str | None:
        """Why this complaint cannot take the step, shown before the user submits; None if it can."""
        reason = refusal(move, complaint.status, complaint.severity, _can)
        if reason is None:
            return None
        if reason == "state":
            return _("not possible from “%(status)s”", status=choices.COMPLAINT_STATUS.label(complaint.status))
        return _("major complaint: a supervisor's step")

    # --- the details page: the record, the steps it went through, the next steps ---------------------
    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            model = kwargs["model"]
            kwargs["steps"] = db.session.scalars(
                select(ComplaintStep).where(ComplaintStep.complaint_id == model.id).order_by(ComplaintStep.id)
                .options(selectinload(ComplaintStep.actor))).all()
            kwargs["next_moves"] = [(m, self.move_url(m.name, [model.id], request.full_path))
                                    for m in allowed(model.status, model.severity, _can)] if self.can_edit else []
            kwargs["due"] = due_state(model, utcnow())
            kwargs["status_css"] = BADGES.get(model.status, "badge-secondary")
        return super().render(template, **kwargs)


class OverdueComplaintView(ComplaintView):
    """Open complaints past the deadline that applies now, urgent first, then the longest overdue."""

    can_create = False
    # urgency values sort "urgent" > "normal" > "common_question": descending puts urgent first, from the index
    column_default_sort = [("urgency", True), ("next_due_at", False)]
    column_sortable_list = ("id", "received_at", "urgency", ("due", "next_due_at"), ("customer", "customer.name"))

    def get_query(self):
        return super().get_query().filter(Complaint.next_due_at < utcnow())

    def get_count_query(self):
        return super().get_count_query().filter(Complaint.next_due_at < utcnow())

    def get_empty_list_message(self):
        return _("No complaint is past its due time.")
