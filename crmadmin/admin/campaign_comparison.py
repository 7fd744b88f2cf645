"""Campaign comparison (营销活动对比): campaigns side by side with response rate (客户响应率), conversions, revenue,
cost per conversion and return on investment (投入产出比), filtered, sorted and exported."""
from decimal import Decimal

from flask import request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from .. import choices
from ..audit import log_event_now
from ..extensions import db
from ..jobs.records import Refused
from ..models import Campaign
from ..reports import campaigns as figures
from .base import AccessMixin
from .export_jobs import start_export_job
from .fields import local_date_field
from .campaigns import shown, viewer_scope

ROWS_SHOWN = 200  # campaigns on the page; the export has them all
DEFAULT_SORT = "starts_on"
REVENUE_SORTS = ("revenue", "roi")  # hidden from those who may not see revenue, so not sortable by them either


class ComparisonFilters(FlaskForm):
    class Meta:
        csrf = False  # filters in the query string; nothing is changed

    status = SelectField(_l("Status"), choices=[("", _l("Any status")), *choices.CAMPAIGN_STATUS.form_choices()],
                         default="")
    type = SelectField(_l("Type"), choices=[("", _l("Any type")), *choices.CAMPAIGN_TYPE.form_choices()], default="")
    starts_from = local_date_field(_l("Starting from"), validators=[Optional()])
    starts_until = local_date_field(_l("Starting until"), validators=[Optional()])


def _columns(with_revenue: bool) -> list[tuple[str, str, bool]]:
    """(key, heading, sortable) of the table and the export, in order."""
    columns = [("name", _("Campaign"), True), ("type", _("Type"), False), ("status", _("Status"), False),
               ("starts_on", _("Starts"), True), ("invited", _("Target list"), True),
               ("responded", _("Responded"), True), ("response_rate", _("Response rate"), True),
               ("converted", _("Conversions"), True), ("revenue", _("Revenue (paid)"), True),
               ("cost", _("Cost"), True), ("cost_per_conversion", _("Cost per conversion"), True),
               ("roi", _("Return on investment"), True)]
    return [c for c in columns if with_revenue or c[0] not in REVENUE_SORTS]


class CampaignComparisonView(AccessMixin, BaseView):
    """Needs campaigns.view (export: campaigns.export); figures follow the viewer's data scope like the dashboard."""

    permission = "campaigns"
    export_types = ("csv",)  # admin/export_jobs.py hands export_for_job to the export job

    @property
    def can_export(self) -> bool:
        """Read by AccessMixin before the export endpoint runs."""
        return self._may("export")

    def _filters(self) -> tuple[ComparisonFilters, list]:
        form = ComparisonFilters(formdata=request.args)
        form.validate()
        where = []
        if form.status.data and not form.status.errors:
            where.append(Campaign.status == form.status.data)
        if form.type.data and not form.type.errors:
            where.append(Campaign.type == form.type.data)
        if form.starts_from.data and not form.starts_from.errors:
            where.append(Campaign.starts_on >= form.starts_from.data)
        if form.starts_until.data and not form.starts_until.errors:
            where.append(Campaign.starts_on <= form.starts_until.data)
        return form, where

    def _sort(self, with_revenue: bool) -> tuple[str, bool]:
        sort = request.args.get("sort", DEFAULT_SORT)
        if sort not in figures.SORTS or (sort in REVENUE_SORTS and not with_revenue):
            sort = DEFAULT_SORT
        return sort, request.args.get("order", "desc" if sort == DEFAULT_SORT else "asc") == "desc"

    def _rows(self, limit: int | None):
        scope = viewer_scope()
        form, where = self._filters()
        sort, descending = self._sort(scope["with_revenue"])
        stmt = figures.ordered(figures.results(scope["participant_owner"], scope["revenue_owner"]).where(*where),
                               sort, descending)
        rows = db.session.execute(stmt if limit is None else stmt.limit(limit)).all()
        whole_list, all_revenue = scope["participant_owner"] is None, scope["revenue_owner"] is None
        found = [(row, figures.campaign_results(row, scope["with_revenue"], whole_list, all_revenue)) for row in rows]
        return scope, form, sort, descending, found

    def _url(self, endpoint: str = ".index", **changes) -> str:
        args = {k: v for k, v in request.args.items() if v != ""}
        args.update(changes)
        return url_for(endpoint, **{k: v for k, v in args.items() if v is not None})

    @expose("/")
    def index(self):
        scope, form, sort, descending, found = self._rows(ROWS_SHOWN + 1)
        columns = [{"key": key, "label": label, "active": key == sort,
                    "descending": descending if key == sort else None,
                    "url": self._url(sort=key, order="asc" if key == sort and descending else "desc")
                    if sortable else None} for key, label, sortable in _columns(scope["with_revenue"])]
        rows = [{"id": row.id, "name": row.name, "url": url_for("campaign.details_view", id=row.id),
                 "type": choices.CAMPAIGN_TYPE.label(row.type), "status": choices.CAMPAIGN_STATUS.label(row.status),
                 "starts_on": row.starts_on.isoformat(), **shown(r)} for row, r in found[:ROWS_SHOWN]]
        return self.render("admin/campaign_comparison.html", form=form, columns=columns, rows=rows,
                           more=len(found) > ROWS_SHOWN, with_revenue=scope["with_revenue"],
                           whole=scope["participant_owner"] is None and scope["revenue_owner"] is None,
                           export_url=self._url(".export") if self.can_export else None)

    @expose("/export/")
    def export(self):
        """Every campaign the filters select, as CSV with plain numbers: an export job, like a list's."""
        return start_export_job(self, "csv")

    def get_export_name(self, export_type: str = "csv") -> str:
        return f"campaign_comparison.{export_type}"

    def export_for_job(self, export_type: str):
        """What the export job writes, asked in the request context the worker rebuilt for the job's owner (their
        scope, the filters and sort of the export's address); logged like every export. Refused when it may not."""
        if not self.can_export or export_type not in self.export_types:
            raise Refused("forbidden")
        scope, _form, _sort, _desc, found = self._rows(None)
        columns = _columns(scope["with_revenue"])
        log_event_now("export", details={"screen": self.endpoint, "filters": request.args.to_dict(flat=False),
                                         "rows": len(found)})
        titles = [label for _key, label, _sortable in columns] + [_("Cost source")]
        return len(found), titles, (self._line(row, r, columns) for row, r in found), 1000, str(self.name)

    @staticmethod
    def _line(row, r, columns) -> list:
        values = {"name": row.name, "type": choices.CAMPAIGN_TYPE.label(row.type),
                  "status": choices.CAMPAIGN_STATUS.label(row.status), "starts_on": row.starts_on.isoformat(),
                  "invited": r.invited, "responded": r.responded, "response_rate": _plain(r.response_rate, 4),
                  "converted": r.converted, "revenue": _plain(r.revenue), "cost": _plain(r.cost),
                  "cost_per_conversion": _plain(r.cost_per_conversion), "roi": _plain(r.roi, 4)}
        return [values[key] for key, _label, _sortable in columns] + [shown(r)["cost_from"]]


def _plain(value, places: int = 2) -> Decimal | None:
    """A figure rounded for the file, as a number (never text that a spreadsheet could read as a formula)."""
    return None if value is None else Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
