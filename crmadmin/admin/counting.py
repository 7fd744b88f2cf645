"""List totals that stop counting at a cap: an exact COUNT over ten million rows costs a quarter second a page."""
from flask import current_app, has_request_context, request
from flask_babel import format_decimal
from markupsafe import Markup
from sqlalchemy import func, literal_column, select, text
from sqlalchemy.orm import Query


class AtLeast(int):
    """A total that was not counted to the end: more than the cap. Shown as "10,000+"; pages as cap + 1 rows."""

    def __html__(self) -> str:
        return Markup.escape(format_decimal(int(self) - 1) + "+")

    def __str__(self) -> str:
        return format_decimal(int(self) - 1) + "+"


def count_cap() -> int:
    """Where a list's total stops: CRM_SEARCH_COUNT_CAP for a search, whose common words ("有限公司", "com") match
    hundreds of thousands of rows and whose capped count was most of its time; CRM_COUNT_CAP otherwise."""
    if has_request_context() and request.args.get("search", "").strip():
        return current_app.config.get("CRM_SEARCH_COUNT_CAP", 1_000)
    return current_app.config.get("CRM_COUNT_CAP", 10_000)


class CappedCountQuery(Query):
    """The list's count query (filters, search and joins applied as usual), counting at most count_cap() + 1 rows."""

    def scalar(self):
        """With the execution option crm_count_through_index (`search.COUNT_THROUGH_INDEX`), PostgreSQL is kept from
        reading the table for this one statement, so it counts from the search's trigram indexes."""
        cap = count_cap()
        rows = self.with_entities(literal_column("1")).order_by(None).limit(cap + 1).subquery()
        through_index = self.get_execution_options().get("crm_count_through_index", False)
        if through_index:
            self.session.execute(text("SET LOCAL enable_seqscan = off"))
        try:
            counted = self.session.execute(select(func.count()).select_from(rows)).scalar()
        finally:
            if through_index:
                self.session.execute(text("RESET enable_seqscan"))
        return AtLeast(counted) if counted > cap else counted
