"""Customer standing: value tier, lifecycle stage and follow-up due date, kept current by session events."""
from flask import Flask

from .maintain import listen, local, refresh_all, refresh_customers, refreshed_on, today
from . import revenue
from .rules import Rules

__all__ = ["Rules", "init_app", "refresh_all", "refresh_customers", "refreshed_on", "today"]


def init_app(app: Flask) -> None:
    listen()
    # a stored UTC moment as the business day it fell on (CRM_TIMEZONE), as the rules count days
    app.jinja_env.filters["business_day"] = lambda moment: local(moment).date().isoformat() if moment else ""
    revenue.listen()
