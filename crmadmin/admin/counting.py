"""List totals that stop counting at a cap: an exact COUNT over ten million rows costs a quarter second a page."""
from flask import current_app
from flask_babel import format_decimal
from markupsafe import Markup
from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Query


class AtLeast(int):
    """A total that was not counted to the end: more than the cap. Shown as "10,000+"; pages as cap + 1 rows."""

    def __html__(self) -> str:
        return Markup.escape(format_decimal(int(self) - 1) + "+")

    def __str__(self) -> str:
        return format_decimal(int(self) - 1) + "+"


class CappedCountQuery(Query):
    """The list's count query (filters, search and joins applied as usual), counting at most CRM_COUNT_CAP + 1 rows."""

    def scalar(self):
        cap = current_app.config.get("CRM_COUNT_CAP", 10_000)
        rows = self.with_entities(literal_column("1")).order_by(None).limit(cap + 1).subquery()
        counted = self.session.execute(select(func.count()).select_from(rows)).scalar()
        return AtLeast(counted) if counted > cap else counted
