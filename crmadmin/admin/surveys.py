"""Satisfaction surveys (满意度调查): the answers as records, and the Satisfaction screen of NPS and CSAT figures."""
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app, request, url_for
from flask_admin import BaseView, expose
from flask_babel import format_decimal, format_percent, gettext as _, lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import false, select
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from .. import choices
from ..auth.permissions import perm
from ..extensions import db
from ..models import Campaign, CampaignParticipant, Complaint, CustomerStanding, SurveyResponse, User
from ..models.survey import SCORE_RANGES
from ..reports import cached
from ..reports import satisfaction as figures
from ..standing import today
from .base import AccessMixin, SecureModelView
from .fields import CAMPAIGN_LOOKUP, CUSTOMER_LOOKUP, EmptyToNone, choice_settings
from .filter_links import filtered_url
from ..labels import LABELS
from .scope import ScopedAjaxLoader, restrict

COMMENT_CHARS = 80
LIST_ENDPOINT = "survey"

SURVEY_LABELS = {
    **LABELS,
    "kind": _l("Survey type"),
    "score": _l("Score"),
    "answered_on": _l("Answered on"),
    "comment": _l("Comment"),
    "complaint": _l("About complaint"),
    "campaign": _l("About campaign"),
    "campaign.name": _l("About campaign"),
    "entered_by": _l("Entered by"),
    "entered_by.username": _l("Entered by"),
    "customer.owner.username": _l("Customer owner"),
    "customer.standing.tier": _l("Value tier"),
}
# what an answer says, shown next to its score
NPS_GROUPS = ((figures.PROMOTER_MIN, _l("Promoter")), (figures.DETRACTOR_MAX + 1, _l("Passive")),
              (0, _l("Detractor")))
CSAT_WORDS = {1: _l("Very dissatisfied"), 2: _l("Dissatisfied"), 3: _l("Neutral"), 4: _l("Satisfied"),
              5: _l("Very satisfied")}
COMPLAINT_LOOKUP = {"fields": ("subject",), "page_size": 10, "placeholder": _l("Type a complaint subject")}


def score_meaning(kind: str, score: int) -> str:
    """Promoter, passive or detractor for NPS; very dissatisfied to very satisfied for CSAT."""
    if kind == "nps":
        return str(next(label for lowest, label in NPS_GROUPS if score >= lowest))
    return str(CSAT_WORDS.get(score, ""))


def _score_cell(view, context, model, name):
    return Markup('{} <span class="text-muted small survey-meaning">{}</span>').format(
        model.score, score_meaning(model.kind, model.score))


def _comment_cell(view, context, model, name):
    text = model.comment or ""
    shown = text if len(text) <= COMMENT_CHARS else text[:COMMENT_CHARS] + "…"
    return Markup('<span title="{}">{}</span>').format(text[:500], shown)


# --- form checks --------------------------------------------------------------------------------
class ScoreFitsKind:
    """The score must be on the scale of the question asked: NPS 0–10, CSAT 1–5."""

    def __call__(self, form, field):
        kind = getattr(getattr(form, "kind", None), "data", None)
        if field.data is None or kind not in SCORE_RANGES:
            return
        low, high = SCORE_RANGES[kind]
        if not low <= field.data <= high:
            raise ValidationError(_("An NPS score is a whole number from 0 to 10.") if kind == "nps"
                                  else _("A CSAT score is a whole number from 1 to 5."))


class NotAfterToday:
    """An answer given tomorrow has not been given yet (the business day, CRM_TIMEZONE)."""

    def __call__(self, form, field):
        if field.data is not None and field.data > today():
            raise ValidationError(_("This date cannot be in the future."))


def on_target_list(campaign_id: int, customer_id: int) -> bool:
    return db.session.scalar(select(CampaignParticipant.id).where(CampaignParticipant.campaign_id == campaign_id,
                                                                  CampaignParticipant.customer_id == customer_id)
                             .limit(1)) is not None


class PickerLoader(ScopedAjaxLoader):
    """Pickers offer only what the user may view: complaints of the customers in their scope; campaigns if granted."""

    RESOURCES = {Complaint: "complaints", Campaign: "campaigns"}

    def get_query(self):
        query = super().get_query()
        resource = self.RESOURCES.get(self.model)
        if resource is None:
            return query
        if not current_user.can(perm(resource, "view")):
            return query.filter(false())
        return restrict(query, self.model, "customer", resource) if self.model is Complaint else query


# --- the record screen ----------------------------------------------------------------------------
class SurveyView(SecureModelView):
    """Answers to NPS and CSAT questions, entered by clerks after a call or visit (回访), or imported from a file.

    A complaint picked must be the customer's own; a campaign picked must have the customer on its target list
    (the campaign's figures are about its target list, so an answer about it from someone else would not count).
    """

    permission = "surveys"
    scope = "customer"
    column_labels = SURVEY_LABELS
    column_list = ("id", "answered_on", "customer", "kind", "score", "channel", "comment", "complaint", "campaign",
                   "entered_by")
    column_searchable_list = ("customer.name", "customer.mobile", "customer.address")
    # the customer's owner before "entered by": links from the figures find the first filter on user names
    column_filters = ("kind", "score", "channel", "answered_on", "customer.owner.username", "customer.standing.tier",
                      "customer.name", "campaign.name", "entered_by.username")
    column_sortable_list = ("id", "answered_on", "kind", "score", "channel", ("customer", "customer.name"))
    column_default_sort = ("answered_on", True)
    form_choices, column_choices, CHOICE_FORMATTERS = choice_settings(kind=choices.SURVEY_KIND,
                                                                      channel=choices.CONTACT_CHANNEL)
    column_choices = {**column_choices, "customer.standing.tier": choices.VALUE_TIER.form_choices()}
    column_formatters = {**CHOICE_FORMATTERS, "score": _score_cell, "comment": _comment_cell}
    column_formatters_export = CHOICE_FORMATTERS
    column_export_list = ("id", "answered_on", "customer", "kind", "score", "channel", "comment", "complaint",
                          "campaign", "entered_by", "created_at")
    column_details_list = ("id", "customer", "kind", "score", "answered_on", "channel", "comment", "complaint",
                           "campaign", "entered_by", "created_at", "updated_at")
    form_columns = ("customer", "kind", "score", "answered_on", "channel", "comment", "complaint", "campaign")
    form_args = {
        "customer": {"validators": [DataRequired()]},
        "kind": {"validators": [DataRequired()]},
        "score": {"validators": [InputRequired(), ScoreFitsKind()],
                  "description": _l("NPS: 0–10 (9–10 promoters, 7–8 passives, 0–6 detractors). CSAT: 1–5.")},
        "answered_on": {"validators": [DataRequired(), NotAfterToday()], "default": today},
        "comment": {"validators": [EmptyToNone(), Optional(), Length(max=5000)]},
    }
    form_ajax_refs = {"customer": CUSTOMER_LOOKUP, "complaint": COMPLAINT_LOOKUP, "campaign": CAMPAIGN_LOOKUP}

    def _create_ajax_loader(self, name, options):
        remote = getattr(self.model, name).property.mapper.class_
        return PickerLoader(name, db, remote, **options)

    def validate_form(self, form):
        """A complaint is the customer's own; a campaign has them on its target list."""
        valid = super().validate_form(form)
        if not hasattr(form, "score"):  # the delete form
            return valid
        customer = form.customer.data
        complaint = form.complaint.data
        campaign = form.campaign.data
        if customer is not None and complaint is not None and complaint.customer_id != customer.id:
            form.complaint.errors = [*form.complaint.errors, _(
                "This complaint is another customer's: pick one of %(name)s's complaints, or none.",
                name=customer.name)]
            valid = False
        if customer is not None and campaign is not None and not on_target_list(campaign.id, customer.id):
            form.campaign.errors = [*form.campaign.errors, _(
                "%(name)s is not on this campaign's target list: add them to it first, or pick no campaign.",
                name=customer.name)]
            valid = False
        return valid

    def on_model_change(self, form, model, is_created):
        if is_created:
            model.entered_by_id = current_user.id


# --- the Satisfaction screen ------------------------------------------------------------------------
PERIODS = {"30d": _l("Last 30 days"), "90d": _l("Last 90 days"), "12m": _l("Last 12 months"), "all": _l("All time")}
DEFAULT_PERIOD = "12m"
MONTHS = 12
SURVEY_DAYS = 30  # the dashboard's window


def nps_text(value: float | None) -> str:
    """A whole number with its sign (+30, −20, 0); "—" when nobody answered."""
    if value is None:
        return "—"
    whole = int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return "0" if whole == 0 else f"{whole:+d}".replace("-", "−")


def csat_text(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "0.0")


def share_text(value: float | None) -> str:
    return "—" if value is None else format_percent(value)


def period_range(period: str, day: date) -> tuple[date | None, date | None]:
    """[since, until) of a period ending with `day`; the 12 months are whole months, as in the table by month."""
    until = day + timedelta(days=1)
    if period == "30d":
        return day - timedelta(days=29), until
    if period == "90d":
        return day - timedelta(days=89), until
    if period == "12m":
        return figures.month_firsts(day, MONTHS)[0], until
    return None, None


def scope_owner() -> int | None:
    """Whose customers' answers the viewer counts: their own, or everyone's (None)."""
    return current_user.id if current_user.limited_to_own_customers("surveys") else None


class SurveyLinks:
    """Links to the survey list filtered as a figure counts; None where the viewer may not open that list."""

    def __init__(self, admin):
        self.view = next((v for v in admin._views if v.endpoint == LIST_ENDPOINT), None)
        self.open = self.view is not None and self.view.is_accessible()

    def __call__(self, since: date | None, until: date | None, *criteria) -> str | None:
        if not self.open:
            return None
        wanted = list(criteria)
        if since is not None and until is not None:
            wanted.append(((SurveyResponse.answered_on, "between"),
                           f"{since.isoformat()} to {(until - timedelta(days=1)).isoformat()}"))
        return filtered_url(self.view, *wanted)

    def cells(self, f: figures.Figures, since, until, *criteria) -> dict:
        """The counts of one row of figures, each with its link, and the figures made of them."""
        nps, csat = ((SurveyResponse.kind, "equals"), "nps"), ((SurveyResponse.kind, "equals"), "csat")
        score = SurveyResponse.score
        link = lambda *more: self(since, until, *criteria, *more)  # noqa: E731
        return {
            "responses": (f.responses, link()),
            "nps_answers": (f.nps_answers, link(nps)),
            "promoters": (f.promoters, link(nps, ((score, "greater than"), str(figures.PROMOTER_MIN - 1)))),
            "passives": (f.passives, link(nps, ((score, "in list"),
                                                ",".join(map(str, range(figures.DETRACTOR_MAX + 1,
                                                                        figures.PROMOTER_MIN)))))),
            "detractors": (f.detractors, link(nps, ((score, "smaller than"), str(figures.DETRACTOR_MAX + 1)))),
            "csat_answers": (f.csat_answers, link(csat)),
            "satisfied": (f.satisfied, link(csat, ((score, "greater than"), str(figures.SATISFIED_MIN - 1)))),
            "nps": nps_text(f.nps), "csat": csat_text(f.csat_average), "satisfied_share": share_text(f.satisfied_share),
        }


def satisfaction_figures(session, owner: int | None, day: date, since: date | None, until: date | None) -> dict:
    """The screen's figures, as one cached summary (recomputed by the job worker when stale)."""
    return {"total": figures.overall(session, owner, since, until),
            "months": figures.monthly(session, owner, day, MONTHS),
            "owners": figures.per_owner(session, owner, since, until),
            "tiers": figures.per_tier(session, owner, since, until)}


class SatisfactionView(AccessMixin, BaseView):
    """NPS and CSAT per month, per owner and per value tier, over the viewer's customers; each count opens its list."""

    permission = "surveys"

    @expose("/")
    def index(self):
        day = today()
        period = request.args.get("period", DEFAULT_PERIOD)
        period = period if period in PERIODS else DEFAULT_PERIOD
        since, until = period_range(period, day)
        owner = scope_owner()
        data = cached(f"satisfaction:{owner or 'all'}:{period}:{day.isoformat()}", satisfaction_figures,
                      owner, day, since, until)
        links = SurveyLinks(self.admin)
        months = [{"label": f"{first:%Y-%m}", "key": f"{first:%Y-%m}",
                   **links.cells(f, first, figures.month_firsts(first, 1)[-1])} for first, f in data["months"]]
        owner_filter = (User.username, "equals")
        owners = [{"label": row["name"] or _("No owner"), "key": row["username"] or "none",
                   **links.cells(row["figures"], since, until,
                                 (owner_filter, row["username"]) if row["owner_id"] is not None
                                 else ((User.username, "empty"), "1"))} for row in data["owners"]]
        tiers = [{"label": choices.VALUE_TIER.label(tier) if tier else _("No tier (never bought)"),
                  "key": tier or "none",
                  **links.cells(data["tiers"].get(tier, figures.NONE), since, until,
                                ((CustomerStanding.tier, "equals"), tier) if tier
                                else ((CustomerStanding.tier, "empty"), "1"))}
                 for tier in (*choices.VALUE_TIER.values, None)]
        seconds = current_app.config.get("CRM_SUMMARY_SECONDS", 0)
        return self.render("admin/satisfaction.html", period=period, since=since, until=until, day=day,
                           periods=[(key, label, url_for(".index", period=key)) for key, label in PERIODS.items()],
                           total=links.cells(data["total"], since, until), months=months, owners=owners, tiers=tiers,
                           team=owner is None, summary_minutes=max(1, round(seconds / 60)) if seconds > 0 else 0,
                           may_create=current_user.can(perm("surveys", "create")),
                           list_url=links(None, None))


