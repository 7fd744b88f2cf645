"""The home page: the dashboard of the viewer's data scope, each figure a link to the list it counts."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, g, url_for
from flask_admin import AdminIndexView, expose
from flask_babel import format_decimal, format_percent, gettext as _
from flask_login import current_user

from .. import choices
from ..extensions import db
from ..models import Campaign, CampaignParticipant, Complaint, Customer, CustomerStanding, Transaction, User
from ..models import SurveyResponse
from ..reports import satisfaction
from ..reports import cached, dashboard as figures
from ..standing import today
from .base import AccessMixin
from .filter_links import filtered_url
from .surveys import SURVEY_DAYS, csat_text, nps_text

REGIONS_SHOWN = 10
NOT_CLOSED = ",".join(figures.CLOSED_COMPLAINTS)  # for the "not in list" status filter


def _money(amount) -> str:
    return format_decimal(amount or 0, "#,##0.00")


def _chart(id_: str, kind: str, title: str, labels: list, datasets: list, codes: list, table: bool = True,
           wide: bool = False) -> dict:
    """One chart: labels and datasets ({key, label, values, shown, urls}) for dashboard.js and the figure table."""
    for dataset in datasets:
        dataset.setdefault("shown", [format_decimal(v) for v in dataset["values"]])
    return {"id": id_, "type": kind, "title": title, "labels": [str(label) for label in labels], "codes": codes,
            "datasets": datasets, "table": table, "wide": wide}


def _dataset(key: str, label: str, values: list, urls: list, **extra) -> dict:
    return {"key": key, "label": str(label), "values": values, "urls": urls, **extra}


class DashboardView(AccessMixin, AdminIndexView):
    """For any signed-in user; each section only for what their roles let them see, over the rows they may see."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated

    # --- scope and links ------------------------------------------------------------------------
    @staticmethod
    def _owner(resource: str) -> int | None:
        """Whose customers a figure about `resource` counts: the viewer's own, or everyone's (None)."""
        return current_user.id if current_user.limited_to_own_customers(resource) else None

    @staticmethod
    def _key(*parts) -> str:
        return "dashboard:" + ":".join("all" if part is None else str(part) for part in parts)

    def _viewable(self, endpoint: str):
        """The screen at `endpoint` if the viewer may open it, else None; asked once per request and screen: the
        dashboard links about a hundred figures."""
        seen = g.setdefault("crm_dashboard_screens", {})
        if endpoint not in seen:
            view = next((v for v in self.admin._views if v.endpoint == endpoint), None)
            seen[endpoint] = view if view is not None and view.is_accessible() else None
        return seen[endpoint]

    def _link(self, endpoint: str, *criteria) -> str | None:
        """`endpoint`'s list filtered as a figure counts (filter, value, filter, value...) if the viewer may see it."""
        view = self._viewable(endpoint)
        return None if view is None else filtered_url(view, *zip(criteria[::2], criteria[1::2]))

    # --- sections -------------------------------------------------------------------------------
    def _customers(self) -> dict:
        owner = self._owner("customers")
        mix = cached(self._key("customers", owner), figures.customer_mix, owner)
        charts = [self._by_choice(mix["tier"], "tier", _("Customers by value tier"), "doughnut",
                                  choices.VALUE_TIER, CustomerStanding.tier, _("No tier yet")),
                  self._by_choice(mix["stage"], "stage", _("Customers by lifecycle stage"), "bar",
                                  choices.LIFECYCLE_STAGE, CustomerStanding.stage, _("Not recorded")),
                  self._by_region(mix["region"]),
                  self._by_choice(mix["source"], "source", _("Customers by source channel"), "doughnut",
                                  choices.SOURCE, Customer.source, _("Not recorded"))]
        total = sum(count for _value, count in mix["tier"])
        day = today()
        overdue = cached(self._key("overdue", owner), figures.overdue_follow_ups, owner, day)
        charts.append(self._overdue(overdue, day))
        overdue_total = sum(row["count"] for row in overdue)
        return {"id": "customers", "title": _("Customers"), "charts": charts, "figures": [
            {"key": "customers", "label": _("Customers"), "shown": format_decimal(total),
             "url": self._link("customer")},
            {"key": "overdue", "label": _("Overdue follow-ups"), "shown": format_decimal(overdue_total),
             "url": self._link("customer", (CustomerStanding.next_follow_up_on, "smaller than"), day.isoformat())},
        ], "links": [{"label": _("Follow-up list"), "url": self._link("followups")}]}

    def _by_choice(self, rows, id_, title, kind, labels: choices.Choices, column, none_label) -> dict:
        counts = dict(rows)
        keys = list(labels.values) + ([None] if counts.get(None) else [])
        urls = [self._link("customer", (column, "equals"), v) if v is not None
                else self._link("customer", (column, "empty"), "1") for v in keys]
        return _chart(id_, kind, title, [labels.label(v) if v is not None else none_label for v in keys],
                      [_dataset("customers", _("Customers"), [counts.get(v, 0) for v in keys], urls)],
                      [v or "none" for v in keys])

    def _by_region(self, rows) -> dict:
        """The largest regions by name, the rest as one bar, and customers without a region."""
        named = [(region, count) for region, count in rows if region is not None]
        shown, rest = named[:REGIONS_SHOWN], named[REGIONS_SHOWN:]
        bars = [(region, region, count, self._link("customer", (Customer.region, "equals"), region))
                for region, count in shown]
        if rest:
            bars.append(("other", _("Other regions"), sum(count for _r, count in rest),
                         self._link("customer", (Customer.region, "not in list"), ",".join(r for r, _c in shown),
                                    (Customer.region, "empty"), "0")))
        unknown = sum(count for region, count in rows if region is None)
        if unknown:
            bars.append(("none", _("Not recorded"), unknown, self._link("customer", (Customer.region, "empty"), "1")))
        codes, labels, values, urls = (list(column) for column in zip(*bars)) if bars else ([], [], [], [])
        return _chart("region", "bar", _("Customers by region"), labels,
                      [_dataset("customers", _("Customers"), values, urls)], codes)

    def _overdue(self, rows, day) -> dict:
        due = ((CustomerStanding.next_follow_up_on, "smaller than"), day.isoformat())
        urls = [self._link("customer", (User.username, "equals"), row["username"], *due) if row["owner_id"]
                else self._link("customer", (User.username, "empty"), "1", *due) for row in rows]
        return _chart("overdue", "bar", _("Overdue follow-ups per owner"),
                      [row["username"] or _("No owner") for row in rows],
                      [_dataset("customers", _("Customers"), [row["count"] for row in rows], urls)],
                      [row["username"] or "none" for row in rows])

    def _revenue(self) -> dict:
        owner, day = self._owner("transactions"), today()
        starts = figures.month_starts(day, ZoneInfo(current_app.config.get("CRM_TIMEZONE", "UTC")))
        firsts = figures.month_firsts(day)
        months = figures.revenue(db.session, owner, starts, firsts)  # from monthly sums: cheap, so always current
        urls = [self._link("transaction", (Transaction.status, "equals"), "paid",
                           (Transaction.occurred_at, "between"), (m['start'], m['end']),
                           (Transaction.occurred_at, "smaller than"), m['end']) for m in months]
        labels = [f"{first:%Y-%m}" for first in figures.month_firsts(day)[:-1]]
        chart = _chart("revenue", "bar", _("Revenue by month (paid purchases)"), labels,
                       [_dataset("revenue", _("Revenue"), [float(m["amount"]) for m in months], urls,
                                 shown=[_money(m["amount"]) for m in months])], labels, wide=True)
        total = sum(m["amount"] for m in months)
        return {"id": "revenue", "title": _("Revenue"), "charts": [chart], "figures": [
            {"key": "revenue", "label": _("Revenue in the last 12 months"), "shown": _money(total),
             "url": self._link("transaction", (Transaction.status, "equals"), "paid",
                               (Transaction.occurred_at, "between"),
                               (months[0]['start'], months[-1]['end']),
                               (Transaction.occurred_at, "smaller than"), months[-1]['end'])}]}

    def _complaints(self) -> dict:
        owner = self._owner("complaints")
        now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        data = cached(self._key("complaints", owner), figures.complaints, owner, now)
        still_open = ((Complaint.status, "not in list"), NOT_CLOSED)
        past_due = ((Complaint.next_due_at, "smaller than"), data['now'])
        keys = list(choices.COMPLAINT_URGENCY.values)
        by_urgency = _chart("complaints", "bar", _("Open complaints by urgency"),
                            [choices.COMPLAINT_URGENCY.label(k) for k in keys], [
            _dataset("open", _("Open"), [data["open"].get(k, (0, 0))[0] for k in keys],
                     [self._link("complaint", *still_open, (Complaint.urgency, "equals"), k) for k in keys]),
            _dataset("past_due", _("Past due"), [data["open"].get(k, (0, 0))[1] for k in keys],
                     [self._link("complaint", *still_open, (Complaint.urgency, "equals"), k, *past_due)
                      for k in keys])], keys)
        scores = list(range(1, 6))
        csat = _chart("csat", "bar", _("Satisfaction scores at closing (CSAT, 1–5)"), [str(s) for s in scores],
                      [_dataset("complaints", _("Complaints"), [data["scores"].get(s, 0) for s in scores],
                                [self._link("complaint", (Complaint.satisfaction_score, "equals"), str(s))
                                 for s in scores])], [str(s) for s in scores])
        answered = self._link("complaint", (Complaint.satisfaction_score, "empty"), "0")
        recorded = data["answered"] > 0
        return {"id": "complaints", "title": _("Complaints and satisfaction"), "charts": [by_urgency, csat],
                "figures": [
            {"key": "open", "label": _("Open complaints"), "url": self._link("complaint", *still_open),
             "shown": format_decimal(sum(n for n, _late in data["open"].values()))},
            {"key": "open_urgent", "label": _("Open urgent complaints"),
             "url": self._link("complaint", *still_open, (Complaint.urgency, "equals"), "urgent"),
             "shown": format_decimal(data["open"].get("urgent", (0, 0))[0])},
            {"key": "past_due", "label": _("Past due"), "url": self._link("complaint", *still_open, *past_due),
             "shown": format_decimal(sum(late for _n, late in data["open"].values()))},
            *self._complaint_rates(owner),
            {"key": "csat", "label": _("Satisfied (scores 4–5)"), "url": answered,
             "shown": format_percent(data["satisfied_share"]) if recorded else _("not recorded yet")},
            {"key": "csat_average", "label": _("Average satisfaction score"), "url": answered,
             "shown": format_decimal(data["average"], "0.0") + " / 5" if recorded else _("not recorded yet")},
            {"key": "answered", "label": _("Complaints with a score"), "url": answered,
             "shown": format_decimal(data["answered"])},
        ], "links": [{"label": _("Overdue complaints"), "url": self._link("overdue_complaints")}]}

    def _complaint_rates(self, owner: int | None) -> list[dict]:
        """Complaints per 100 active customers, last month and this month so far."""
        starts = figures.month_starts(today(), ZoneInfo(current_app.config.get("CRM_TIMEZONE", "UTC")), 2)
        months = cached(self._key("complaint_rate", owner), figures.complaint_rate, owner, starts)
        labels = (_("Complaint rate last month (per 100 active customers)"),
                  _("Complaint rate this month so far (per 100 active customers)"))
        return [{"key": key, "label": label,
                 "shown": format_decimal(m["rate"], "0.00") if m["rate"] is not None else "—",
                 "url": self._link("complaint", (Complaint.received_at, "between"),
                                   (m['start'], m['end']),
                                   (Complaint.received_at, "smaller than"), m['end'])}
                for key, label, m in zip(("rate_last_month", "rate_this_month"), labels, months)]

    def _satisfaction(self) -> dict:
        """NPS and average CSAT of the survey answers of the last 30 days, each a link to the answers it counts."""
        owner, day = self._owner("surveys"), today()
        since, until = day - timedelta(days=SURVEY_DAYS - 1), day + timedelta(days=1)
        found = cached(self._key("surveys", owner, day), satisfaction.overall, owner, since, until)
        answered = ((SurveyResponse.answered_on, "between"), f"{since.isoformat()} to {day.isoformat()}")
        kind = (SurveyResponse.kind, "equals")
        return {"id": "satisfaction", "title": _("Satisfaction surveys (last 30 days)"), "charts": [], "figures": [
            {"key": "nps", "label": _("NPS (net promoter score)"), "shown": nps_text(found.nps),
             "url": self._link("survey", kind, "nps", *answered)},
            {"key": "csat", "label": _("Average CSAT (1–5)"), "shown": csat_text(found.csat_average),
             "url": self._link("survey", kind, "csat", *answered)},
            {"key": "responses", "label": _("Survey responses"), "shown": format_decimal(found.responses),
             "url": self._link("survey", *answered)},
        ], "links": [{"label": _("Satisfaction by month, owner and tier"), "url": self._page("satisfaction")}]}

    def _page(self, endpoint: str) -> str | None:
        """A custom screen's address, if the viewer may open it."""
        return url_for(f"{endpoint}.index") if self._viewable(endpoint) is not None else None

    def _campaigns(self) -> dict:
        with_revenue = current_user.can("transactions.view")
        owner, revenue_owner = self._owner("campaigns"), self._owner("transactions")
        rows = cached(self._key("campaigns", owner, revenue_owner), figures.campaigns, owner, revenue_owner)
        of_campaign, response = (Campaign.name, "equals"), CampaignParticipant.response
        datasets = [
            _dataset("invited", _("Target list"), [r["invited"] for r in rows],
                     [self._link("campaignparticipant", of_campaign, r["name"]) for r in rows]),
            _dataset("responded", _("Responded"), [r["responded"] for r in rows],
                     [self._link("campaignparticipant", of_campaign, r["name"], (response, "in list"),
                                 ",".join(figures.RESPONDED)) for r in rows]),
            _dataset("converted", _("Converted"), [r["converted"] for r in rows],
                     [self._link("campaignparticipant", of_campaign, r["name"], (response, "equals"),
                                 "converted") for r in rows]),
        ]
        table = [self._campaign_row(r, with_revenue) for r in rows]
        chart = _chart("campaigns", "bar", _("Recent campaigns: responses"), [r["name"] for r in rows], datasets,
                       [str(r["id"]) for r in rows], table=False, wide=True)  # numbers: in the campaign table
        return {"id": "campaigns", "title": _("Recent campaigns"), "charts": [chart] if rows else [],
                "campaigns": table, "with_revenue": with_revenue, "whole_revenue": revenue_owner is None}

    def _campaign_row(self, r: dict, with_revenue: bool) -> dict:
        """A campaign's line in the table, formatted; the cached row is left as it was."""
        revenue_url = self._link("transaction", (Campaign.name, "equals"), r["name"],
                                 (Transaction.status, "equals"), "paid") if with_revenue else None
        return {**r, "url": url_for("campaign.details_view", id=r["id"]),
                "status_label": choices.CAMPAIGN_STATUS.label(r["status"]),
                "rate_shown": format_percent(r["response_rate"]) if r["response_rate"] is not None else "—",
                "revenue_shown": _money(r["revenue"]) if with_revenue else None, "revenue_url": revenue_url,
                "cost_shown": _money(r["cost"]) + (" " + _("(budget)") if r.get("cost_from") == "budget" else "")
                if r["cost"] is not None else "—",
                "return_shown": format_percent(r["return"]) if with_revenue and r["return"] is not None else "—"}

    @expose("/")
    def index(self):
        plan = [("customers", self._customers), ("transactions", self._revenue),
                ("complaints", self._complaints), ("campaigns", self._campaigns)]
        plan.append(("surveys", self._satisfaction))
        sections = [build() for resource, build in plan if current_user.can(f"{resource}.view")]
        charts = [chart for section in sections for chart in section["charts"]]
        seconds = current_app.config.get("CRM_SUMMARY_SECONDS", 0)
        return self.render("admin/crm_index.html", sections=sections, charts=charts,
                           summary_minutes=max(1, round(seconds / 60)) if seconds > 0 else 0)
