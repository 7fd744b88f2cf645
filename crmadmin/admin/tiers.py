"""Value tiers (客户分级) and the churn warning (流失预警): customers by standing, highest value first."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import choices
from ..models import CustomerStanding
from ..reports import cached
from ..reports.tiers import tier_totals
from .fields import choice_settings
from .filter_links import filtered_url
from ..labels import LABELS
from .standing_base import StandingScreen, customer_link, days_since_purchase, explain_stage, explain_tier, money

_, CHOICES, FORMATTERS = choice_settings(tier=choices.VALUE_TIER, stage=choices.LIFECYCLE_STAGE)
STANDING_LABELS = {
    **LABELS,
    "customer": _l("Customer"),
    "days_since": _l("R: days since last purchase"),
    "window_count": _l("F: orders in the window"),
    "window_amount": _l("M: spent in the window"),
    "reason": _l("Why"),
    "customer.region": _l("Region"),
    "customer.industry": _l("Industry"),
    "owner.username": _l("Owner"),
    "tier": _l("Value tier"),
    "stage": _l("Lifecycle stage"),
    "last_contact_at": _l("Last contact"),
}
COMMON_FORMATTERS = {**FORMATTERS, "customer": customer_link, "window_amount": money, "days_since": days_since_purchase,
                     "customer.region": lambda v, c, m, n: m.customer.region or "",
                     "customer.industry": lambda v, c, m, n: m.customer.industry or ""}
EXPORT_FORMATTERS = {**FORMATTERS, "customer": lambda v, c, m, n: m.customer.name,
                     "days_since": days_since_purchase, "customer.region": COMMON_FORMATTERS["customer.region"],
                     "customer.industry": COMMON_FORMATTERS["customer.industry"]}


def tier_rows(session, owner: int | None) -> list[tuple]:
    """(tier, customers, spend) in an owner's scope: a cached summary, recomputed by the job worker."""
    return [tuple(r) for r in session.execute(tier_totals(owner))]


def _scope_owner() -> int | None:
    """The owner whose customers the viewer is limited to, or None for everyone's."""
    return current_user.id if current_user.limited_to_own_customers("customers") else None


class RankedByValue(StandingScreen):
    """Customers highest value first, with the figures and the reason for their standing."""

    list_template = "admin/standing_list.html"  # says when the standing was last refreshed
    column_labels = STANDING_LABELS
    column_choices = CHOICES
    column_default_sort = ("window_amount", True)
    column_sortable_list = ("window_amount", "last_purchase_at")


class TierView(RankedByValue):
    """Customers of a tier with R, F, M and why; the totals per tier on top."""

    list_template = "admin/tiers_list.html"
    column_list = ("customer", "tier", "days_since", "window_count", "window_amount", "reason", "stage", "owner",
                   "customer.region", "customer.industry")
    column_export_list = column_list
    column_filters = ("tier", "stage", "owner.username", "customer.region", "customer.industry")
    column_formatters = {**COMMON_FORMATTERS, "reason": lambda v, c, m, n: explain_tier(m)}
    column_formatters_export = {**EXPORT_FORMATTERS, "reason": lambda v, c, m, n: explain_tier(m)}

    def narrow(self, query):
        return query.filter(CustomerStanding.tier.isnot(None))

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["tiers"] = self.totals()
        return super().render(template, **kwargs)

    def totals(self) -> list[dict]:
        """Customers and spend per tier in the viewer's scope, each linking to that tier's list."""
        owner = _scope_owner()
        rows = cached(f"tiers:{owner or 'all'}", tier_rows, owner)
        found = {value: (count, Decimal(amount)) for value, count, amount in rows}
        return [{"value": value, "label": choices.VALUE_TIER.label(value) if value else _l("Never bought"),
                 "customers": found.get(value, (0, 0))[0], "amount": found.get(value, (0, Decimal(0)))[1],
                 "url": filtered_url(self, ((CustomerStanding.tier, "equals"), value)) if value else None}
                for value in (*choices.VALUE_TIER.values, None)]


class ChurnView(RankedByValue):
    """At-risk customers, highest value first, with the reason, the owner and the last contact."""

    column_list = ("customer", "window_amount", "days_since", "reason", "tier", "owner", "last_contact_at",
                   "customer.region")
    column_export_list = column_list
    column_filters = ("tier", "owner.username", "customer.region", "customer.industry")
    column_formatters = {**COMMON_FORMATTERS, "reason": lambda v, c, m, n: explain_stage(m)}
    column_formatters_export = {**EXPORT_FORMATTERS, "reason": lambda v, c, m, n: explain_stage(m)}

    def narrow(self, query):
        return query.filter(CustomerStanding.stage == "at_risk")
