"""Building a campaign's target list from a segment: pick criteria, preview who they add, add them in one action."""
import re

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from wtforms import SelectMultipleField, StringField
from wtforms.validators import Length, Optional, ValidationError

from .. import choices
from ..extensions import db
from ..models import Campaign, CampaignParticipant, Customer, CustomerStanding, User
from ..models.campaign import SEGMENT_LABEL_CHARS
from ..reports import cached
from ..reports.dashboard import customers_by
from ..targets import NO_TIER, Segment, add_segment, count_new, segment_customers, split_tags

OPEN_STATUSES = ("planned", "running")  # a finished or cancelled campaign's list is history
SAMPLE_ROWS = 20
VALUES_OFFERED = 200  # regions and industries offered, most customers first
NO_OWNER = "none"


class SegmentForm(FlaskForm):
    """The criteria, read from the query string to preview and from the posted form to add."""

    class Meta:
        csrf = False  # a preview changes nothing; the POST that adds is checked by CSRFProtect like every POST

    tier = SelectMultipleField(_l("Value tier"), choices=[*choices.VALUE_TIER.form_choices(),
                                                          (NO_TIER, _l("No tier (never bought)"))])
    stage = SelectMultipleField(_l("Lifecycle stage"), choices=choices.LIFECYCLE_STAGE.form_choices())
    region = SelectMultipleField(_l("Region"), choices=[], validate_choice=False)
    industry = SelectMultipleField(_l("Industry"), choices=[], validate_choice=False)
    source = SelectMultipleField(_l("Source channel"), choices=choices.SOURCE.form_choices())
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=255)],
                       description=_l("Customers with any of these tags; separate tags with commas."))
    owner = SelectMultipleField(_l("Owner"), choices=[], validate_choice=False)
    label = StringField(_l("Segment name"), validators=[Optional(), Length(max=SEGMENT_LABEL_CHARS)],
                        description=_l("Shown with the results per segment; leave empty to name it after the "
                                       "criteria."))

    def validate_owner(self, field):
        if any(v != NO_OWNER and not re.fullmatch(r"[0-9]{1,9}", v) for v in field.data or ()):
            raise ValidationError(_("Choose owners from the list."))

    def segment(self, own_customers_only: bool) -> Segment:
        owners = () if own_customers_only else tuple(None if v == NO_OWNER else int(v) for v in self.owner.data or ())
        return Segment(tiers=tuple(self.tier.data or ()), stages=tuple(self.stage.data or ()),
                       regions=tuple(self.region.data or ()), industries=tuple(self.industry.data or ()),
                       sources=tuple(self.source.data or ()), tags=split_tags(self.tags.data), owners=owners)


def offered_rows(session, column_key: str, owner_id: int | None) -> list[tuple]:
    """(value, customers) of a customer column, most first: a cached summary, recomputed by the job worker."""
    return [tuple(r) for r in session.execute(customers_by(getattr(Customer, column_key), owner_id))]


def _offered(column, owner_id: int | None) -> list[tuple[str, str]]:
    """The values of a free-text column (region, industry) with their customers, most first; cached, as a summary."""
    key = f"campaign-targets:{column.key}:{owner_id or 'all'}"
    rows = cached(key, offered_rows, column.key, owner_id)
    return [(value, f"{value} ({count:,})") for value, count in rows if value is not None][:VALUES_OFFERED]


def _owners() -> list[tuple[str, str]]:
    users = db.session.execute(select(User.id, User.username, User.display_name)
                               .where(User.active.is_(True)).order_by(User.username)).all()
    return [(NO_OWNER, _("No owner"))] + [(str(i), display or name) for i, name, display in users]


def _keep_chosen(field) -> None:
    """A value chosen but not offered (rare, or typed into the URL) stays in the list, so it is shown as chosen."""
    offered = {value for value, _label in field.choices}
    field.choices = field.choices + [(v, v) for v in field.data or () if v not in offered]


def describe(form: SegmentForm, segment: Segment) -> str:
    """The criteria in words ("Value tier: High value · Region: 华东"), the segment's default name."""
    parts = []
    for field, values in ((form.tier, segment.tiers), (form.stage, segment.stages), (form.region, segment.regions),
                          (form.industry, segment.industries), (form.source, segment.sources),
                          (form.owner, tuple(NO_OWNER if o is None else str(o) for o in segment.owners))):
        if values:
            labels = {} if field in (form.region, form.industry) else dict(field.choices)  # those carry counts
            parts.append(f"{field.label.text}: {', '.join(str(labels.get(v, v)) for v in values)}")
    if segment.tags:
        parts.append(f"{form.tags.label.text}: {', '.join(segment.tags)}")
    return " · ".join(parts)


def _default_label(text: str) -> str:
    return text if len(text) <= SEGMENT_LABEL_CHARS else text[:SEGMENT_LABEL_CHARS - 1] + "…"


def _criteria_args(form: SegmentForm) -> list[tuple[str, str]]:
    """The criteria as (name, value) pairs, carried by the adding form's hidden fields."""
    pairs = []
    for name in ("tier", "stage", "region", "industry", "source", "owner"):
        pairs += [(name, value) for value in form[name].data or ()]
    pairs += [(name, form[name].data) for name in ("tags", "label") if form[name].data]
    return pairs


def targets_page(view, campaign: Campaign):
    """GET: the criteria, and with them the preview (how many, who first); POST: add them, then to the campaign."""
    own_only = current_user.limited_to_own_customers("campaigns")
    owner_id = current_user.id if own_only else None
    posted = request.method == "POST"
    form = SegmentForm(formdata=request.form if posted else request.args)
    form.region.choices = _offered(Customer.region, owner_id)
    form.industry.choices = _offered(Customer.industry, owner_id)
    form.owner.choices = [] if own_only else _owners()
    for field in (form.region, form.industry, form.owner):
        _keep_chosen(field)
    asked = posted or any(key in request.args for key in form._fields)
    valid = asked and form.validate()
    segment = form.segment(own_only) if valid else None
    if asked and valid and segment.is_empty():
        flash(_("Choose at least one criterion."), "error")
        segment = None
    is_open = campaign.status in OPEN_STATUSES
    if not is_open:
        flash(_("Targets can be added while a campaign is planned or running; this one is %(status)s.",
                status=choices.CAMPAIGN_STATUS.label(campaign.status)), "error")
    described = describe(form, segment) if segment is not None else ""
    label = (form.label.data or "").strip() or _default_label(described)

    if posted and segment is not None and is_open:
        try:
            added = add_segment(db.session, campaign, segment, label, owner_id)
            db.session.commit()
        except IntegrityError:  # someone added some of the same customers at the same moment
            db.session.rollback()
            flash(_("Someone else added customers to this list at the same moment. Nothing was added; preview the "
                    "segment again."), "error")
        except SQLAlchemyError as error:
            view._fail(error, _("The customers could not be added. Nothing was changed."))
        else:
            if not added:
                flash(_("No customer was added: everyone in this segment is on the list already."), "info")
                return redirect(url_for(".details_view", id=campaign.id))
            flash(ngettext("%(num)d customer added to the target list as “%(segment)s”.",
                           "%(num)d customers added to the target list as “%(segment)s”.", added, segment=label),
                  "success")
            return redirect(url_for(".details_view", id=campaign.id))

    preview = None
    if segment is not None:
        new = db.session.scalar(count_new(campaign.id, segment, owner_id))
        s = CustomerStanding
        sample = db.session.execute(segment_customers(
            campaign.id, segment, owner_id, Customer.id, Customer.name, Customer.region, Customer.industry,
            Customer.source, Customer.tags, s.tier, s.stage, User.username, User.display_name)
            .outerjoin(User, User.id == Customer.owner_id).limit(SAMPLE_ROWS)).all()
        preview = {"count": new, "sample": sample, "more": max(new - len(sample), 0), "criteria": described,
                   "label": label, "hidden": _criteria_args(form)}
    listed = db.session.scalar(select(func.count()).where(CampaignParticipant.campaign_id == campaign.id))
    return view.render("admin/campaign_targets.html", campaign=campaign, form=form, preview=preview,
                       listed=listed, is_open=is_open, own_only=own_only,
                       return_url=url_for(".details_view", id=campaign.id))
