"""List totals that stop counting at a cap: an exact COUNT over ten million rows costs a quarter second a page."""
from flask import current_app, g, has_request_context, request
from flask_babel import format_decimal
from markupsafe import Markup
from sqlalchemy import func, literal_column, select, text
from sqlalchemy.orm import Query

from .. import search


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
        """A common search on PostgreSQL (`search._postgresql_count`) comes as execution options: crm_count_search, its
        condition; crm_count_first_among, a condition on ids its probe gathered, all of them matches, so more than the
        cap of them in the list is the answer, counted without the search's condition (8 ILIKEs cost 3.7 ms to plan
        and 2 to run over 1,001 rows); crm_count_through_index, the search's condition as the trigram indexes are to
        answer it (the planner kept from the table for the count, and from estimating its patterns), in place of
        crm_count_search; crm_count_gathers, the list's key: the count gathers the matches' keys, and when it ends
        under the cap the list's page looks those rows up (`ListState.only`)."""
        counted = self._capped()
        state = g.get("crm_list") if has_request_context() else None
        if state is not None:  # a typed page number is weighed against it (`KeysetPaging._apply_pagination`)
            state.counted = counted
        return counted

    def _capped(self):
        cap = count_cap()
        options = self.get_execution_options()
        query, among = self, options.get("crm_count_first_among")
        if among is not None:
            counted = self.filter(among)._count_to(cap + 1)
            if counted > cap:
                return AtLeast(counted)
        through_index = options.get("crm_count_through_index")
        if through_index is not None:
            query = self.filter(through_index)
            self.session.execute(text("SET LOCAL enable_seqscan = off"))
        elif options.get("crm_count_search") is not None:
            query = self.filter(options["crm_count_search"])
        try:
            counted = query._count_to(cap + 1, options.get("crm_count_gathers"))
        finally:
            if through_index is not None:
                self.session.execute(text("RESET enable_seqscan"))
        return AtLeast(counted) if counted > cap else counted

    def _count_to(self, limit: int, key=None) -> int:
        if key is None:
            rows = self.with_entities(literal_column("1")).order_by(None).limit(limit).subquery()
            return self.session.execute(select(func.count()).select_from(rows)).scalar()
        rows = self.with_entities(key).order_by(None).limit(limit).subquery()
        counted, ids = self.session.execute(select(func.count(), search.gathered_ids(next(iter(rows.c))))).one()
        state = g.get("crm_list") if has_request_context() else None
        if counted < limit and state is not None:  # every match: the page need not look further
            state.only = search.among(key, ids)
        return counted
