"""Campaigns (营销活动): the campaign with its results, its target list built from segments, and each participant's
response moved forward in bulk."""
from flask import abort, flash, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model.template import BaseListRowAction
from flask_babel import format_decimal, format_percent, gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import choices
from ..auth.permissions import perm
from ..extensions import db
from ..models import Campaign, CampaignParticipant, Transaction, utcnow
from ..models.campaign import SEGMENT_LABEL_CHARS
from ..reports import campaigns as figures
from . import campaign_page
from .base import SecureModelView
from .campaign_targets import OPEN_STATUSES, targets_page
from .fields import (CAMPAIGN_LOOKUP, CUSTOMER_LOOKUP, USER_LOOKUP, EmptyToNone, NotInFuture, choice_settings,
                     money_field)
from .filter_links import filtered_url
from ..labels import LABELS

RESPONSES = choices.PARTICIPANT_RESPONSE.values  # in the order a response moves: invited → … → converted
HEADER_COLUMNS = ("id", "name", "type", "channel", "status", "starts_on", "ends_on", "owner")  # not again in Details


# --- figures in the reader's words ----------------------------------------------------------------
def money(amount) -> str:
    return "—" if amount is None else format_decimal(amount, "#,##0.00")


def percent(value) -> str:
    return "—" if value is None else format_percent(value, "#,##0.0%")


def shown(r: figures.Results) -> dict:
    """A Results' figures as text: "—" wherever a figure is unknown, hidden from the viewer or divides by zero."""
    cost_from = {"actual": _("actual cost"), "budget": _("budget"), "share": _("share of the cost")}
    return {"invited": format_decimal(r.invited), "responded": format_decimal(r.responded),
            "attended": format_decimal(r.attended), "converted": format_decimal(r.converted),
            "response_rate": percent(r.response_rate), "attendance_rate": percent(r.attendance_rate),
            "conversion_rate": percent(r.conversion_rate), "revenue": money(r.revenue), "cost": money(r.cost),
            "cost_from": cost_from.get(r.cost_from, ""), "cost_per_conversion": money(r.cost_per_conversion),
            "roi": percent(r.roi)}


def viewer_scope() -> dict:
    """Whose rows the viewer's figures count (None: everyone's) and whether they may see revenue at all."""
    return {"participant_owner": current_user.id if current_user.limited_to_own_customers("campaigns") else None,
            "revenue_owner": current_user.id if current_user.limited_to_own_customers("transactions") else None,
            "with_revenue": current_user.can(perm("transactions", "view"))}


def segment_name(segment: str | None, on_list: bool = True) -> str:
    if not on_list:
        return _("Not on the target list")
    return segment if segment is not None else _("Added one by one")


# --- the campaign ----------------------------------------------------------------------------------
class AddTargetsAction(BaseListRowAction):
    """The row's "Add targets" button, for campaigns still planned or running."""

    def render(self, context, row_id, row):
        if row.status not in OPEN_STATUSES:
            return ""
        return Markup('<a class="btn btn-sm btn-outline-primary text-nowrap add-targets" href="{}">{}</a>').format(
            url_for(".targets_view", id=row_id), self.title)


class CampaignView(SecureModelView):
    """Campaigns; the details page shows the results, in all and per segment of the target list."""

    permission = "campaigns"
    column_labels = LABELS
    column_list = ("id", "name", "type", "channel", "status", "starts_on", "ends_on", "budget",
                   "actual_cost", "owner")
    column_searchable_list = ("name",)
    column_filters = ("type", "channel", "status", "starts_on", "ends_on", "owner.username")
    column_sortable_list = ("id", "name", "type", "channel", "status", "starts_on", "ends_on",
                            "budget", "actual_cost", ("owner", "owner.username"))
    column_default_sort = ("starts_on", True)
    form_choices, column_choices, column_formatters = choice_settings(type=choices.CAMPAIGN_TYPE,
                                                                      channel=choices.CONTACT_CHANNEL,
                                                                      status=choices.CAMPAIGN_STATUS)
    form_columns = ("name", "type", "channel", "status", "starts_on", "ends_on", "budget",
                    "actual_cost", "description", "owner")
    form_overrides = {"budget": money_field()[0], "actual_cost": money_field()[0]}
    form_args = {
        "name": {"validators": [DataRequired(), Length(max=200)]},
        "starts_on": {"validators": [DataRequired()]},
        "budget": money_field(required=False, positive=False)[1],
        "actual_cost": money_field(required=False, positive=False)[1],
    }
    form_ajax_refs = {"owner": USER_LOOKUP}
    details_template = "admin/campaign_details.html"

    def on_model_change(self, form, model, is_created):
        if model.ends_on and model.starts_on and model.ends_on < model.starts_on:
            raise ValidationError(_("A campaign cannot end before it starts."))

    def get_list_row_actions(self):
        actions = super().get_list_row_actions()
        if self.can_edit:
            actions = [*actions, AddTargetsAction(_l("Add targets"))]
        return actions

    @expose("/targets/", methods=("GET", "POST"))
    def targets_view(self):
        """Build the target list from a segment (?id=<campaign>): preview, then add in one action."""
        if not self.can_edit:
            abort(403)
        return targets_page(self, self.get_one(request.args.get("id", "")))

    def render(self, template, **kwargs):
        """The details page is the campaign's workplace (admin/campaign_page.py): header, quick actions, timeline."""
        if template == self.details_template and kwargs.get("model") is not None:
            campaign = kwargs["model"]
            kwargs["results"] = self.results_of(campaign)
            kwargs["quick_actions"] = campaign_page.quick_actions(self, campaign, kwargs["results"])
            kwargs["timeline"] = campaign_page.timeline_page(campaign)
            kwargs["details_shown"] = [(c, label) for c, label in kwargs.get("details_columns", ())
                                       if c not in HEADER_COLUMNS]
        return super().render(template, **kwargs)

    def results_of(self, campaign: Campaign) -> dict:
        """The campaign's figures and the same per segment: three statements whatever the size of the list."""
        scope = viewer_scope()
        row = db.session.execute(figures.results(scope["participant_owner"], scope["revenue_owner"])
                                 .where(Campaign.id == campaign.id)).one()
        whole = figures.campaign_results(row, scope["with_revenue"], scope["participant_owner"] is None,
                                         scope["revenue_owner"] is None)
        counts = db.session.execute(figures.segment_counts(campaign.id, scope["participant_owner"])).all()
        revenue = db.session.execute(figures.segment_revenue(campaign.id, scope["revenue_owner"])).all() \
            if scope["with_revenue"] else []
        participants = self.admin_view("campaignparticipant")
        segments = []
        for segment, on_list, r in figures.per_segment(counts, revenue, whole, scope["with_revenue"]):
            url = None
            if on_list and participants is not None:
                criterion = ((CampaignParticipant.segment, "equals"), segment) if segment is not None \
                    else ((CampaignParticipant.segment, "empty"), "1")
                url = filtered_url(participants, ((Campaign.name, "equals"), campaign.name), criterion)
            segments.append({"name": segment_name(segment, on_list), "on_list": on_list, "url": url, **shown(r)})
        return {"all": shown(whole), "segments": segments, "with_revenue": scope["with_revenue"],
                "whole_list": whole.whole_list, "all_revenue": whole.all_revenue,
                "list_url": filtered_url(participants, ((Campaign.name, "equals"), campaign.name))
                if participants is not None else None,
                "revenue_url": self._revenue_url(campaign) if scope["with_revenue"] else None,
                "targets_url": url_for(".targets_view", id=campaign.id)
                if self.can_edit and campaign.status in OPEN_STATUSES else None,
                "compare_url": url_for("campaigncomparison.index")}

    def admin_view(self, endpoint: str):
        """Another screen of the panel, if the viewer may open it."""
        view = next((v for v in self.admin._views if getattr(v, "endpoint", None) == endpoint), None)
        return view if view is not None and view.is_accessible() else None

    def _revenue_url(self, campaign: Campaign) -> str | None:
        view = self.admin_view("transaction")
        if view is None:
            return None
        return filtered_url(view, ((Campaign.name, "equals"), campaign.name), ((Transaction.status, "equals"), "paid"))


# --- the target lists --------------------------------------------------------------------------------
class ParticipantView(SecureModelView):
    """The target lists of campaigns, one row per invited customer, with their response and segment.

    Responses move forward only with the bulk actions (invited → responded → attended → converted; skipping steps is
    allowed, a customer may buy straight from an invitation); a participant already further along is left as they
    are. Moving one back is a correction made in the edit form, which the operation log records like any edit.
    """

    permission = "campaigns"
    scope = "customer"
    column_labels = LABELS
    column_list = ("id", "campaign", "customer", "segment", "response", "responded_at", "note")
    column_searchable_list = ("customer.name", "campaign.name")
    column_filters = ("campaign.name", "segment", "response", "responded_at", "customer.name")
    column_sortable_list = ("id", "response", "responded_at", "segment", ("campaign", "campaign.name"),
                            ("customer", "customer.name"))
    column_default_sort = ("id", True)
    form_choices, column_choices, column_formatters = choice_settings(response=choices.PARTICIPANT_RESPONSE)
    form_columns = ("campaign", "customer", "segment", "response", "responded_at", "note")
    form_args = {
        "campaign": {"validators": [DataRequired()]},
        "customer": {"validators": [DataRequired()]},
        "segment": {"validators": [EmptyToNone(), Optional(), Length(max=SEGMENT_LABEL_CHARS)],
                    "description": _l("Leave empty for a customer added one by one.")},
        "responded_at": {"validators": [Optional(), NotInFuture()],
                         "description": _l("When they first responded; filled in when a response is recorded.")},
    }
    form_ajax_refs = {"customer": CUSTOMER_LOOKUP, "campaign": CAMPAIGN_LOOKUP}
    unique_messages = {"uq_campaign_participant_campaign_customer": _l(
        "This customer is on the campaign's target list already: open their row in the list to change it.")}

    def create_form(self, obj=None):
        """Opened from a campaign's page (?campaign_id=), the form starts with that campaign."""
        form = super().create_form(obj)
        campaign_id = request.args.get("campaign_id", "")
        loader = self._form_ajax_refs.get("campaign") if self._form_ajax_refs else None
        if request.method == "GET" and campaign_id.isdigit() and len(campaign_id) <= 9 and loader is not None:
            form.campaign.data = loader.get_one(campaign_id)
        return form

    def on_model_change(self, form, model, is_created):
        if model.response == "invited" and model.responded_at is not None:
            raise ValidationError(_("An invited customer has not responded yet: clear “Responded at” or choose "
                                    "their response."))
        if model.response != "invited" and model.responded_at is None:
            model.responded_at = utcnow().replace(microsecond=0)

    def is_action_allowed(self, name: str) -> bool:
        if name in RESPONSES:
            return self.can_edit
        return super().is_action_allowed(name)

    def _move(self, ids, response: str) -> None:
        """Move the chosen participants forward to `response`, all in one transaction; refuse the whole batch if one
        is outside the viewer's scope or belongs to a cancelled campaign."""
        try:
            wanted = {int(i) for i in ids}
        except (TypeError, ValueError):
            abort(400)
        rows = self.get_query().filter(CampaignParticipant.id.in_(wanted)).options(
            joinedload(CampaignParticipant.campaign)).all()
        if len(rows) != len(wanted):
            db.session.rollback()
            flash(_("Some of the selected participants no longer exist or are not yours. Nothing was changed."),
                  "error")
            return
        cancelled = sorted({r.campaign.name for r in rows if r.campaign.status == "cancelled"})
        if cancelled:
            db.session.rollback()
            flash(_("%(campaigns)s was cancelled: its responses are no longer recorded. Nothing was changed.",
                    campaigns=", ".join(cancelled)), "error")
            return
        target = RESPONSES.index(response)
        moved = [r for r in rows if RESPONSES.index(r.response) < target]
        now = utcnow().replace(microsecond=0)
        try:
            for row in moved:
                row.response = response
                if row.responded_at is None:  # the first response; later steps keep its time
                    row.responded_at = now
            db.session.commit()
        except SQLAlchemyError as error:
            self._fail(error, _l("The responses could not be recorded. Nothing was changed."))
            return
        label = choices.PARTICIPANT_RESPONSE.label(response)
        flash(ngettext("%(num)d participant marked as %(response)s.", "%(num)d participants marked as %(response)s.",
                       len(moved), response=label), "success")
        if len(moved) < len(rows):
            flash(ngettext("%(num)d was already as far or further along and was left as it was.",
                           "%(num)d were already as far or further along and were left as they were.",
                           len(rows) - len(moved)), "info")

    @action("responded", _l("Mark as responded"))
    def action_responded(self, ids):
        self._move(ids, "responded")

    @action("attended", _l("Mark as attended"))
    def action_attended(self, ids):
        self._move(ids, "attended")

    @action("converted", _l("Mark as converted"))
    def action_converted(self, ids):
        self._move(ids, "converted")
