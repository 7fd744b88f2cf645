"""Follow-ups (客户跟踪与回访): who is overdue, due today and due this week, and logging the contact from the row."""
import logging
import re
from urllib.parse import parse_qs, urlsplit

from flask import abort, current_app, flash, jsonify, redirect, request
from flask_admin import expose
from flask_admin.model.template import BaseListRowAction
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import defaultload, joinedload
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from .. import choices, phones
from ..auth.permissions import perm
from ..auth.routes import safe_next
from ..extensions import db
from ..followups import reschedule
from ..models import Complaint, Customer, CustomerStanding, Interaction, User, utcnow
from ..outages import is_outage
from ..reports import cached
from ..reports.followups import (BUCKETS, COUNT_CAP, WAITING_FOR_FEEDBACK, bucket_counts, bucket_of, due_in,
                                 of_owner, owner_summary, waiting_for_feedback)
from ..standing import today
from .base import phone_cell
from .fields import EmptyToNone, LocalDateTimeField, NotInFuture, choice_settings, local_date_field
from .filter_links import filtered_url
from ..labels import LABELS
from .row_urls import list_url, row_url
from .scope import restrict
from .standing_base import StandingScreen, customer_link, request_rules

log = logging.getLogger(__name__)
COMPLAINTS_SHOWN = 20
SUMMARY_CHARS = 500  # a summary is cut on screen (lists.css) and whole in the cell's title, up to this length
DIALOG_HEADER = "X-CRM-Dialog"  # static/js/followups.js asks for the form alone, and for the outcome as JSON
BUCKET_LABELS = {"overdue": _l("Overdue"), "today": _l("Due today"), "week": _l("Due this week")}


# --- cells ------------------------------------------------------------------------------------
def owner_rows(session, day) -> list[tuple]:
    """The team summary's rows (owner, overdue, today, this week): a cached summary, recomputed by the job worker."""
    return [tuple(r) for r in session.execute(owner_summary(day))]


def due_text(standing: CustomerStanding) -> str:
    """How far the due date is from today, in words: days overdue, today, or in N days."""
    days = (today() - standing.next_follow_up_on).days
    if days > 0:
        return ngettext("%(num)d day overdue", "%(num)d days overdue", days)
    if days == 0:
        return _("Due today")
    return ngettext("in %(num)d day", "in %(num)d days", -days)


def _due_cell(view, context, model, name):
    days = (today() - model.next_follow_up_on).days
    css = "badge-danger" if days > 0 else "badge-warning" if days == 0 else "badge-info"
    return Markup('<span class="badge {} follow-up-due">{}</span>').format(css, due_text(model))


def _summary_text(model) -> str:
    contact = model.last_interaction
    if contact is None:
        return ""
    summary = contact.summary if len(contact.summary) <= SUMMARY_CHARS else contact.summary[:SUMMARY_CHARS] + "…"
    return f"{choices.CONTACT_CHANNEL.label(contact.channel)}: {summary}"


def _summary_cell(view, context, model, name):
    contact = model.last_interaction
    if contact is None:
        return Markup('<span class="text-muted">{}</span>').format(_("Never contacted"))
    return _summary_text(model)  # cut with an ellipsis on screen, whole in the cell's title (list_rows.py)


def _phone_text(view, context, model, name):
    return phones.readable(model.customer.mobile, current_app.config["CRM_PHONE_REGION"]) \
        if model.customer.mobile else ""


_unused, CHOICES, LABEL_FORMATTERS = choice_settings(tier=choices.VALUE_TIER, stage=choices.LIFECYCLE_STAGE)


class LogContactAction(BaseListRowAction):
    """The row's "Log contact" button: a dialog over the list (static/js/followups.js), or without script the
    log-contact page, which comes back to the list as it was (bucket, owner, page)."""

    endpoint, look, css = ".log_view", "btn-outline-primary", "log-contact"

    def render(self, context, row_id, row):
        url = row_url(self.endpoint, row_id, url=context.resolve("return_url"))
        return Markup('<a class="btn btn-sm {} text-nowrap {}" href="{}" data-dialog="{}">{}</a>').format(
            self.look, self.css, url, self.endpoint[1:], self.title)


class RescheduleAction(LogContactAction):
    """The row's "Reschedule" button, on every row: contacted or not (see crmadmin/followups.py)."""

    endpoint, look, css = ".reschedule_view", "btn-outline-secondary", "reschedule"


# --- the log form -------------------------------------------------------------------------------
class AfterToday:
    """A next follow-up date is a promise about the future: today or earlier is surely a typing mistake."""

    def __call__(self, form, field):
        if field.data is not None and field.data <= today():
            raise ValidationError(_("The next follow-up must be after today."))


def _now_to_the_minute():
    return utcnow().replace(second=0, microsecond=0)


class LogContactForm(FlaskForm):
    channel = SelectField(_l("Channel"), choices=choices.CONTACT_CHANNEL.form_choices(), default="phone")
    direction = SelectField(_l("Direction"), choices=choices.DIRECTION.form_choices(), default="outbound")
    occurred_at = LocalDateTimeField(_l("When"), default=_now_to_the_minute,
                                     validators=[InputRequired(_l("Enter when the contact took place.")),
                                                 NotInFuture()])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(_l("Write what was discussed.")),
                                                       Length(max=5000)])
    outcome = StringField(_l("Outcome"), validators=[EmptyToNone(), Optional(), Length(max=255)])
    next_follow_up_on = local_date_field(_l("Next follow-up"), validators=[Optional(), AfterToday()])


REASONS = (_l("The customer asked to be called later"), _l("The customer is away"),
           _l("Waiting for a quote or delivery"), _l("Could not reach the customer"))


class RescheduleForm(FlaskForm):
    next_follow_up_on = local_date_field(_l("New follow-up date"),
                                         validators=[InputRequired(_l("Choose the new follow-up date.")),
                                                     AfterToday()])
    reason = StringField(_l("Reason"), render_kw={"list": "reschedule-reasons", "autocomplete": "off"},
                         validators=[DataRequired(_l("Give the reason for moving the follow-up.")), Length(max=200)])


# --- the screen -------------------------------------------------------------------------------
class FollowUpView(StandingScreen):
    """Customers due up to a week ahead, most overdue first: a clerk's own, or the team's grouped by owner."""

    list_template = "admin/followups_list.html"
    column_list = ("customer", "customer.mobile", "due", "next_follow_up_on", "tier", "stage", "owner",
                   "last_contact_at", "last_interaction")
    column_export_list = column_list
    column_card_title = "customer"
    column_labels = {**LABELS, "customer": _l("Customer"), "due": _l("Due"), "tier": _l("Value tier"),
                     "stage": _l("Lifecycle stage"), "last_interaction": _l("Last contact summary"),
                     "owner.username": _l("Owner"), "customer.mobile": _l("Mobile phone")}
    column_filters = ("tier", "stage", "owner.username")
    column_choices = CHOICES
    # most overdue first; the customer id makes the order total, so paging never repeats or skips a row
    column_default_sort = [("next_follow_up_on", False), ("customer_id", False)]
    column_sortable_list = ("next_follow_up_on",)
    column_formatters = {**LABEL_FORMATTERS, "customer": customer_link, "due": _due_cell,
                         "last_interaction": _summary_cell, "customer.mobile": phone_cell}
    column_formatters_export = {**LABEL_FORMATTERS, "customer": lambda v, c, m, n: m.customer.name,
                                "due": lambda v, c, m, n: due_text(m), "customer.mobile": _phone_text,
                                "last_interaction": lambda v, c, m, n: _summary_text(m)}

    # --- what the request asks for ------------------------------------------------------------
    @staticmethod
    def _bucket() -> str | None:
        bucket = request.args.get("due")
        return bucket if bucket in BUCKETS else None

    @staticmethod
    def _team_view() -> bool:
        """Whether the viewer sees every owner's customers (a supervisor), not only their own (a clerk)."""
        return not current_user.limited_to_own_customers("customers")

    def _owner_filter(self, args=None) -> tuple[bool, int | None]:
        """(given, owner id or None for unassigned) from ?owner=<id>|none; only a team viewer picks an owner."""
        value = (request.args if args is None else args).get("owner", "")
        if not self._team_view() or not value:
            return False, None
        if value == "none":
            return True, None
        return (True, int(value)) if re.fullmatch(r"[0-9]{1,9}", value) else (False, None)

    def _owner_where(self, args=None) -> list:
        """The viewer's scope and the chosen owner, as conditions on customer_standing (for the counts)."""
        if not self._team_view():
            return [of_owner(current_user.id)]
        given, owner = self._owner_filter(args)
        return [of_owner(owner)] if given else []

    # --- rows --------------------------------------------------------------------------------
    def narrow(self, query):
        query = query.filter(due_in(today(), self._bucket()))
        given, owner = self._owner_filter()
        return query.filter(of_owner(owner)) if given else query

    def get_query(self):
        # owners are shown by name only: not their roles, which User loads eagerly by default
        return super().get_query().options(joinedload(CustomerStanding.last_interaction),
                                            defaultload(CustomerStanding.owner).lazyload(User.roles))

    def get_list_row_actions(self):
        actions = super().get_list_row_actions()
        if current_user.can(perm("interactions", "create")):
            actions = [*actions, LogContactAction(_l("Log contact")), RescheduleAction(_l("Reschedule"))]
        return actions

    def get_empty_list_message(self):
        return _("Nobody is due in this list.")

    # --- the page around the rows ------------------------------------------------------------
    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(self._page_context())
            if not kwargs["team_view"]:  # a clerk's list holds only their own customers: no owner column
                kwargs["list_columns"] = [c for c in kwargs["list_columns"] if c[0] != "owner"]
        return super().render(template, **kwargs)

    def _page_context(self) -> dict:
        team = self._team_view()
        given, owner = self._owner_filter()
        return {"team_view": team, "buckets": self._buckets(), "owners": self._owners() if team else None,
                "owner_chosen": given, "complaints": self._complaints(given, owner)}

    def _list_url(self, **changes) -> str:
        """This list's URL with some arguments changed (None removes one), back on the first page."""
        args = {k: v for k, v in request.args.items() if k != "page"}
        args.update(changes)
        return list_url(".index_view", **args)

    def _counts(self, args=None) -> dict[str, str]:
        """Each bucket's count as the tab shows it (capped: "1000+"), for the list the arguments describe."""
        counts = db.session.execute(bucket_counts(today(), *self._owner_where(args))).one()._asdict()
        return {bucket: f"{COUNT_CAP}+" if counts[bucket] > COUNT_CAP else str(counts[bucket]) for bucket in BUCKETS}

    def _buckets(self) -> list[dict]:
        """The tabs: all due, then each bucket with its count."""
        counts = self._counts()
        chosen = self._bucket()
        tabs = [{"key": None, "label": _("All due"), "count": None, "url": self._list_url(due=None),
                 "active": chosen is None}]
        for bucket in BUCKETS:
            tabs.append({"key": bucket, "label": BUCKET_LABELS[bucket], "count": counts[bucket],
                         "url": self._list_url(due=bucket), "active": chosen == bucket})
        return tabs

    def _owners(self) -> list[dict]:
        """The team summary: per owner, how many are overdue, due today and this week, each linking to the list."""
        day = today()
        chosen = request.args.get("owner")
        rows = cached("followups:owners", owner_rows, day)
        found = []
        for owner_id, username, display_name, *counts in rows:
            key = "none" if owner_id is None else str(owner_id)
            found.append({"name": display_name or username or _("Unassigned"), "key": key, "chosen": key == chosen,
                          "url": self._list_url(owner=key, due=None),
                          "counts": [(n, self._list_url(owner=key, due=b)) for n, b in zip(counts, BUCKETS)]})
        return sorted(found, key=lambda o: (o["key"] == "none", str(o["name"]).lower()))

    def _complaints(self, owner_given: bool, owner: int | None) -> dict | None:
        """The complaints whose result is still to be reported to the customer, in the viewer's scope, first 20."""
        if not current_user.can(perm("complaints", "view")):
            return None
        stmt = restrict(waiting_for_feedback(), Complaint, "customer", "complaints")
        if owner_given:
            stmt = stmt.where(Complaint.customer.has(Customer.owner_id.is_(None) if owner is None
                                                     else Customer.owner_id == owner))
        stmt = stmt.options(joinedload(Complaint.customer), joinedload(Complaint.assignee).lazyload(User.roles))
        rows = db.session.scalars(stmt.limit(COMPLAINTS_SHOWN + 1)).all()
        return {"rows": rows[:COMPLAINTS_SHOWN], "more": len(rows) > COMPLAINTS_SHOWN, "now": utcnow(),
                "all_url": _complaint_list_url(self.admin, WAITING_FOR_FEEDBACK)}

    # --- logging a contact from the row --------------------------------------------------------
    def _customer_for_contact(self, customer_id: str) -> Customer:
        """The customer, if the viewer may see them and log contacts with them; otherwise simply not found."""
        if not re.fullmatch(r"[0-9]{1,9}", customer_id):
            abort(404)
        stmt = select(Customer).where(Customer.id == int(customer_id)).options(
            joinedload(Customer.standing).joinedload(CustomerStanding.last_interaction))
        stmt = restrict(restrict(stmt, Customer, "owner", "customers"), Customer, "owner", "interactions")
        customer = db.session.scalars(stmt).unique().one_or_none()
        if customer is None:
            abort(404)
        return customer

    @staticmethod
    def _in_dialog() -> bool:
        """Whether the list's dialog (static/js/followups.js) asks: the form alone, the outcome as JSON."""
        return request.headers.get(DIALOG_HEADER) == "1"

    def _form_page(self, page: str, title: str, status: int = 200, **kwargs):
        """The form as a page of its own (no script), or alone in the list's dialog, there with 422 or 409 when it
        was refused (the page says so in its flash and marks, as the other forms do)."""
        kwargs.update(title=title, return_url=safe_next(request.args.get("url"), self.get_url(".index_view")))
        if self._in_dialog():
            return self.render("admin/followup_dialog.html", **kwargs), status
        return self.render(page, **kwargs)

    def _moved(self, customer: Customer, message: str, return_url: str):
        """After a save: back to the list (a page), or the row's new cells, whether it stays in the list shown and
        the tabs' new counts (for the list the dialog was opened from: its owner, the viewer's scope)."""
        if not self._in_dialog():
            flash(message, "success")
            return redirect(return_url)
        standing = db.session.scalars(select(CustomerStanding).where(CustomerStanding.customer_id == customer.id)
                                      .options(joinedload(CustomerStanding.last_interaction),
                                               joinedload(CustomerStanding.customer))).one()
        list_args = {k: v[0] for k, v in parse_qs(urlsplit(return_url).query).items()}
        shown = list_args.get("due")
        bucket = bucket_of(today(), standing.next_follow_up_on)
        stays = bucket is not None and (shown not in BUCKETS or shown == bucket)
        cells = {name: str(self.get_list_value(None, standing, name))
                 for name in ("due", "next_follow_up_on", "last_contact_at", "last_interaction")} if stays else {}
        return jsonify(message=message, stays=stays, cells=cells, counts=self._counts(list_args))

    def _failed_in_dialog(self, error: SQLAlchemyError, message):
        """A save the database refused, said in the dialog (not flashed for a later page); an outage is the 503 page."""
        if is_outage(error):
            raise error
        db.session.rollback()
        log.warning("Follow-up save refused in %s (%s)", self.endpoint, type(error).__name__)  # no values: PII
        return jsonify(message=str(message), failed=True), 409

    @expose("/log/", methods=("GET", "POST"))
    def log_view(self):
        """Log a call, email or visit with a due customer (?id=); the standing listeners then move their due date."""
        if not current_user.can(perm("interactions", "create")):
            abort(403)
        customer = self._customer_for_contact(request.args.get("id", ""))
        return_url = safe_next(request.args.get("url"), self.get_url(".index_view"))
        form = LogContactForm()
        if form.validate_on_submit():
            contact = Interaction(customer_id=customer.id, handled_by_id=current_user.id, channel=form.channel.data,
                                  direction=form.direction.data, occurred_at=form.occurred_at.data,
                                  summary=form.summary.data.strip(), outcome=form.outcome.data,
                                  next_follow_up_on=form.next_follow_up_on.data)
            failed = _l("The contact could not be logged. Nothing was saved.")
            try:
                db.session.add(contact)
                db.session.commit()
            except SQLAlchemyError as error:
                if self._in_dialog():
                    return self._failed_in_dialog(error, failed)
                self._fail(error, failed)
            else:
                due = db.session.get(CustomerStanding, customer.id)
                return self._moved(customer, _("Contact with %(name)s logged. Next follow-up: %(date)s.",
                                               name=customer.name,
                                               date=due.next_follow_up_on if due and due.next_follow_up_on else "—"),
                                   return_url)
        status = 200
        if request.method == "POST":
            status = 422
            if not self._in_dialog():
                flash(_("The contact was not logged: correct the fields marked below."), "error")
        standing = customer.standing
        cadence = request_rules().cadence(standing.tier if standing else None, customer.follow_up_days)
        return self._form_page("admin/followup_log.html", _("Log a contact with %(name)s", name=customer.name),
                               status, form=form, customer=customer, standing=standing, cadence=cadence,
                               kind="log", error=_("The contact was not logged: correct the fields marked below.")
                               if status == 422 else None)

    @expose("/reschedule/", methods=("GET", "POST"))
    def reschedule_view(self):
        """Move a customer's next follow-up (?id=) to another day with a reason; whoever may log their contacts may."""
        if not current_user.can(perm("interactions", "create")):
            abort(403)
        customer = self._customer_for_contact(request.args.get("id", ""))
        return_url = safe_next(request.args.get("url"), self.get_url(".index_view"))
        standing = customer.standing
        was = standing.next_follow_up_on if standing else None
        form = RescheduleForm(data={"next_follow_up_on": was if was and was > today() else None})
        error, status = None, 200
        if form.validate_on_submit():
            try:
                reschedule(db.session, customer, form.next_follow_up_on.data, form.reason.data.strip(), was)
                db.session.commit()
            except SQLAlchemyError as error:
                failed = _l("The follow-up could not be moved. Nothing was saved.")
                if self._in_dialog():
                    return self._failed_in_dialog(error, failed)
                self._fail(error, failed)
            else:
                return self._moved(customer, _("Next follow-up with %(name)s moved to %(date)s.", name=customer.name,
                                               date=form.next_follow_up_on.data), return_url)
        if request.method == "POST" and error is None:
            error, status = _("The follow-up was not moved: correct the fields marked below."), 422
        return self._form_page("admin/followup_reschedule.html",
                               _("Reschedule the follow-up with %(name)s", name=customer.name), status, form=form,
                               customer=customer, standing=standing, kind="reschedule", reasons=REASONS, error=error)


def _complaint_list_url(admin, status: str) -> str | None:
    """The complaint list filtered to one status, through that screen's own filter; None if it has none."""
    view = next((v for v in admin._views if getattr(v, "endpoint", None) == "complaint"), None)
    try:
        return filtered_url(view, ((Complaint.status, "equals"), status)) if view is not None else None
    except LookupError:
        return None
