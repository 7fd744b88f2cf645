"""The base of the screens that list customers by their standing (tiers, churn warning, follow-ups): read-only,
scoped to the viewer's customers, no exact COUNT, the customer file one click away."""

from flask import g, request
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import CustomerStanding
from ..standing import today
from ..standing.maintain import figures_of, load_rules, local
from ..standing.rules import Reason, Rules, stage, tier
from .base import SecureModelView
from .row_urls import row_url


def customer_link(view, context, model, name):
    """The customer's page; from the follow-ups list it carries the list, so the page offers the next customer."""
    customer = model.customer
    args = {"from": request.full_path.rstrip("?")} if view.endpoint == "followups" else {}
    return Markup('<a href="{}">{}</a>').format(row_url("customer.details_view", customer.id, **args), customer.name)


def money(view, context, model, name):
    return f"{getattr(model, name):,.2f}"


def days_since_purchase(view, context, model, name):
    return "" if model.last_purchase_at is None else (today() - local(model.last_purchase_at).date()).days


def request_rules() -> Rules:
    """The rules as stored now, read once per request."""
    if "crm_rules" not in g:
        g.crm_rules = load_rules(db.session.connection())
    return g.crm_rules


def explain_tier(standing: CustomerStanding) -> str:
    return explain(tier(figures_of(vars(standing), None, None, None), request_rules(), today())[1])


def explain_stage(standing: CustomerStanding) -> str:
    return explain(stage(figures_of(vars(standing), None, None, None), request_rules(), today())[1])


def _m(value) -> str:
    return f"{value:,.2f}"


def explain(reason: Reason) -> str:
    """A rule's reason in the reader's language."""
    v = reason.values
    texts = {
        "never_bought": lambda: _("No paid purchase yet."),
        "high_met": lambda: _("%(amount)s spent (≥ %(min_amount)s), %(orders)d orders (≥ %(min_orders)d), last %(days)d days ago (≤ %(max_days)d).",
                              amount=_m(v["amount"]), min_amount=_m(v["min_amount"]), orders=v["orders"],
                              min_orders=v["min_orders"], days=v["days"], max_days=v["max_days"]),
        "amount_below": lambda: _("%(amount)s spent, below %(min_amount)s", amount=_m(v["amount"]),
                                  min_amount=_m(v["min_amount"])),
        "orders_below": lambda: _("%(orders)d orders, fewer than %(min_orders)d", orders=v["orders"],
                                  min_orders=v["min_orders"]),
        "too_long_ago": lambda: _("last purchase %(days)d days ago, over %(max_days)d", days=v["days"],
                                  max_days=v["max_days"]),
        "churned": lambda: _("No purchase for %(days)d days (churned after %(churned_days)d).", days=v["days"],
                             churned_days=v["churned_days"]),
        "spend_fell": lambda: _("Spend fell %(percent)d%%: %(before)s in the previous half of the window, %(after)s in the recent half.",
                                percent=v["percent"], before=_m(v["before"]), after=_m(v["after"])),
        "new": lambda: _("First purchase %(days)d days ago.", days=v["days"]),
        "loyal": lambda: _("%(orders)d purchases over %(span)d days.", orders=v["orders"], span=v["span"]),
        "active": lambda: _("Last purchase %(days)d days ago.", days=v["days"]),
    }
    if reason.code == "medium_met":
        return texts["high_met"]()
    if reason.code == "low":
        return _("Below medium value: %(missed)s.", missed="; ".join(explain(m) for m in v["missed"]))
    if reason.code == "silent":
        if v["interval"]:
            return _("Silent for %(days)d days; usually buys every %(interval)d days (limit %(limit)d).",
                     days=v["days"], interval=v["interval"], limit=v["limit"])
        return _("Silent for %(days)d days since their only purchase (limit %(limit)d).", days=v["days"],
                 limit=v["limit"])
    return texts[reason.code]()


class StandingScreen(SecureModelView):
    """Lists customer_standing rows joined to their customer; what the rows are is decided by `narrow()`."""

    permission = "customers"  # seeing customers is what these screens are about
    scope = "owner"           # the standing row carries a copy of the customer's owner
    can_view_details = False
    column_display_pk = False
    simple_list_pager = True  # no COUNT over a million rows: previous / next only
    column_formatters = {"customer": customer_link}

    # read-only: the figures are derived, changed only by changing purchases and contacts
    can_create = False
    can_edit = False
    can_delete = False

    def is_action_allowed(self, name: str) -> bool:
        return False

    def narrow(self, query):
        """The rows this screen is about (a tier, the at-risk customers, those due); the default is every row."""
        return query

    def get_query(self):
        return self.narrow(super().get_query()).options(
            joinedload(CustomerStanding.customer), joinedload(CustomerStanding.owner))

    def get_count_query(self):
        return self.narrow(super().get_count_query())
