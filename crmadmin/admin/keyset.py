"""Keyset paging: "next" and "previous" continue from the last (first) row shown, so page 50,000 costs what page 1 does.

An OFFSET makes the database read and drop every row before the page (1.3 s at page 25,000 of a million customers).
Instead the pager's links carry the sort values of the row they continue from (`after=` or `before=`), and the page
is the next `page_size` rows past them in the list's order, whose last key is always the primary key, so the order is
total and walking a whole list shows each row exactly once, even when sort values repeat or are empty.
"""
import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from flask import g, request
from flask_babel import format_decimal, gettext as _, ngettext
from sqlalchemy import and_, desc, false, literal, or_, tuple_

from .counting import count_cap

_TAGS = {bool: "b", int: "i", float: "f", str: "s", Decimal: "D", datetime: "t", date: "d"}
_READ = {"b": bool, "i": int, "f": float, "s": str, "D": Decimal, "t": datetime.fromisoformat,
         "d": date.fromisoformat}


@dataclass
class SortKey:
    """One ORDER BY term of a list: the SQL expression, its direction, and how to read its value off a row."""

    column: object
    desc: bool
    path: tuple[str, ...]  # relationship attributes from the row to the object holding the value
    attribute: str
    nullable: bool = True

    def value(self, row):
        for name in self.path:
            row = getattr(row, name, None)
            if row is None:
                return None
        return getattr(row, self.attribute)


@dataclass
class ListState:
    """What one list request asked for and found: the sort keys, the cursor, and whether more rows lie beyond."""

    cursor: tuple[str, list] | None = None  # ("after" | "before", values)
    paging: bool = False  # a list page (not an export): fetch one row more than shown, to know if there is a next
    page: int | None = None  # the page number used for an OFFSET, when there is no cursor
    keys: list[SortKey] = field(default_factory=list)
    more: bool = False
    only: object = None  # the rows a search's count found, all of them (`CappedCountQuery`): the page looks them up
    matching: object = None  # else the search's condition, held back from the page's query while its count ran
    counted: int | None = None  # the list's total as `CappedCountQuery` counted it (an `AtLeast` past the cap)
    last: int | None = None  # a typed page number past the list's end: the last page a number reaches, if known

    def last_page(self, size: int) -> int:
        """The last page a number reaches: the one holding the last counted row (past the cap: the row just past it);
        a list that is not counted, as far as the cap."""
        if self.counted is None:
            return count_cap() // size
        return max(int(self.counted) - 1, 0) // size


def encode(values: list) -> str:
    tagged = [None if v is None else [_TAGS[type(v)], v.isoformat() if isinstance(v, date) else
                                      str(v) if isinstance(v, Decimal) else v] for v in values]
    return base64.urlsafe_b64encode(json.dumps(tagged, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str) -> list | None:
    """The values of a cursor, or None if it was not made by `encode` (a hand-edited URL): then paging starts over."""
    try:
        tagged = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return [None if item is None else _READ[item[0]](item[1]) for item in tagged]
    except (ValueError, TypeError, KeyError, IndexError, InvalidOperation, binascii.Error):
        return None


def requested(args) -> tuple[str, list] | None:
    for direction in ("after", "before"):
        if args.get(direction):
            values = decode(args[direction])
            return (direction, values) if values is not None else None
    return None


def _past(key: SortKey, value, forward: bool, nulls_high: bool):
    """Rows whose `key` comes strictly later than `value` in the order (earlier when not `forward`)."""
    greater = forward != key.desc
    column = key.column
    null_later = key.nullable and (nulls_high == greater)  # where the database puts NULL, relative to the step
    if value is None:
        return column.isnot(None) if key.nullable and not null_later else false()
    step = column > value if greater else column < value
    return or_(step, column.is_(None)) if null_later else step


def _equal(key: SortKey, value):
    return key.column.is_(None) if value is None else key.column == value


def beyond(keys: list[SortKey], values: list, forward: bool, nulls_high: bool):
    """The rows after (or before) the row with these sort values: a row-value comparison when the index can use it."""
    if (all(v is not None for v in values) and not any(k.nullable for k in keys)
            and len({k.desc for k in keys}) == 1):
        left = tuple_(*(k.column for k in keys))
        right = tuple_(*(literal(v, k.column.type) for k, v in zip(keys, values)))
        return left > right if forward != keys[0].desc else left < right
    terms = []
    for i, key in enumerate(keys):
        step = _past(key, values[i], forward, nulls_high)
        terms.append(and_(*(_equal(k, v) for k, v in zip(keys[:i], values[:i])), step))
    return or_(*terms)


def walk(query, keys: list[SortKey], size: int):
    """Every row of an ordered query, `size` at a time, each batch read past the last: a whole list in bounded memory
    (rows already sent are only weakly held by the session), without a server-side cursor. The read transaction ends
    with the walk, even if the client goes away: a streamed response may be closed long after its request."""
    nulls_high = query.session.get_bind().dialect.name == "postgresql"
    values = None
    try:
        while True:
            rest = query if values is None else query.filter(beyond(keys, values, True, nulls_high))
            batch = rest.limit(size).all()
            yield from batch
            if len(batch) < size:
                return
            values = [k.value(batch[-1]) for k in keys]
            del batch
    finally:
        query.session.rollback()


def pager(state: ListState, rows: list, page: int, count, page_size: int, page_url) -> dict:
    """The links under a list: first, previous and next past the rows shown; numbered pages while the total is exact."""
    after = state.cursor is not None and state.cursor[0] == "after"
    before = state.cursor is not None and state.cursor[0] == "before"

    def past(row, name: str, target: int) -> str:
        url = page_url(max(target, 0))
        return url + ("&" if "?" in url else "?") + urlencode({name: encode([k.value(row) for k in state.keys])})

    has_next = bool(rows) and (before or state.more)
    has_previous = bool(rows) and (state.more if before else page > 0 or after)
    numbered = []
    if type(count) is int and count > page_size:  # an exact total (not "10,000+"): its pages are few
        pages = -(-count // page_size)
        low = max(0, min(page - 3, pages - 7))
        numbered = [(p, page_url(p)) for p in range(low, min(pages, low + 7))]
    return {"page": page, "numbered": numbered,
            "first": page_url(0) if page > 0 or state.cursor else None,
            "previous": past(rows[0], "before", page - 1) if has_previous else None,
            "next": past(rows[-1], "after", page + 1) if has_next else None}


def past_end(state: ListState, count, page_url) -> dict:
    """What a typed page number past the list's end is told, and the page to go to instead: the last one a number
    reaches (its "next" goes on past a capped count), or the first when a list not counted ended before it."""
    asked = format_decimal(state.page + 1)
    if state.last < 0:
        return {"text": _("There is no page %(page)s: the list ends before it.", page=asked),
                "link": _("Go to the first page"), "url": page_url(0)}
    last = format_decimal(state.last + 1)
    link = {"link": _("Go to page %(page)s", page=last), "url": page_url(state.last)}
    if type(count) is int:  # an exact total
        return {"text": ngettext("There is no page %(page)s: the list has %(pages)s page.",
                                 "There is no page %(page)s: the list has %(pages)s pages.", state.last + 1,
                                 page=asked, pages=last), **link}
    if count is None:
        text = _("There is no page %(page)s by number: pages by number reach page %(last)s; from there, “Next page” "
                 "goes on through the rest of the list.", page=asked, last=last)
    else:
        text = _("Page %(page)s is past the %(count)s rows counted: pages by number reach page %(last)s; from there, "
                 "“Next page” goes on through the rest of the list.", page=asked, count=str(count), last=last)
    return {"text": text, **link}


class KeysetPaging:
    """The list view's side of keyset paging: records the sort keys, filters past the cursor, builds the pager."""

    list_template = "admin/crm_list.html"

    def _get_list_extra_args(self):
        """The cursor is read by `get_list` and never carried into the sort, filter or pager links."""
        view_args = super()._get_list_extra_args()
        for name in ("after", "before"):
            view_args.extra_args.pop(name, None)
        return view_args

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        size = page_size or self.page_size
        state = g.crm_list = ListState(cursor=requested(request.args) if execute and size else None,
                                       paging=bool(execute and size))
        if state.cursor:
            page = None
        elif state.paging:
            page = state.page = max(page or 0, 0)
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters, execute, page_size)
        if state.paging:
            rows = list(rows)
            if state.page and not rows and state.last is None:  # a list not counted, ended before the page asked for
                state.last = -1
            state.more = len(rows) > size
            rows = rows[:size]
            if state.cursor and state.cursor[0] == "before":
                rows.reverse()
        return count, rows

    def _order_by(self, query, joins, sort_joins, sort_field, sort_desc):
        """Flask-Admin's, noting each ORDER BY term so the pager can continue from a row."""
        if sort_field is None:
            return query, joins
        query, joins, alias = self._apply_path_joins(query, joins, sort_joins, inner_join=False)
        column = sort_field if alias is None else getattr(alias, sort_field.key)
        query = query.order_by(desc(column) if sort_desc else column)
        path = tuple(join.key for join in sort_joins or ())
        nullable = bool(path) or getattr(getattr(sort_field, "expression", sort_field), "nullable", True)
        g.crm_list.keys.append(SortKey(column, bool(sort_desc), path, sort_field.key, nullable))
        return query, joins

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        """The list's order, then the primary key (in the last term's direction), so the order is total."""
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        keys = g.crm_list.keys
        pk = self._row_key()
        if not keys or keys[-1].path or keys[-1].attribute != pk:
            backwards = keys[-1].desc if keys else False
            column = getattr(self.model, pk)
            query = query.order_by(desc(column) if backwards else column)
            keys.append(SortKey(column, backwards, (), pk, nullable=False))
        return query, joins

    def _row_key(self) -> str:
        """The primary key's attribute: the last term of every list's order, and what a numbered page skips over."""
        mapper = self.model.__mapper__
        return mapper.get_property_by_column(mapper.primary_key[0]).key

    def _apply_pagination(self, query, page, page_size):
        state = g.crm_list
        if state.only is not None:
            query = query.filter(state.only)
        elif state.matching is not None:
            query = query.filter(state.matching)
        if not state.paging:
            return super()._apply_pagination(query, page, page_size)
        size = page_size or self.page_size
        if state.cursor and len(state.cursor[1]) == len(state.keys):
            forward = state.cursor[0] == "after"
            nulls_high = query.session.get_bind().dialect.name == "postgresql"
            query = query.filter(beyond(state.keys, state.cursor[1], forward, nulls_high))
            if not forward:  # the rows just before, nearest first; get_list puts them back in order
                query = query.order_by(None).order_by(*(k.column if k.desc else desc(k.column) for k in state.keys))
        else:
            state.cursor = None  # none, or one from another sort: pages by number from the top
            if page and page > state.last_page(size):
                # past the counted rows: no OFFSET over them, and no other page's rows shown under this number
                state.last = state.last_page(size)
                return query.limit(0)
            if page:
                return self._past_offset(query, page * size, size + 1)
        return query.limit(size + 1)

    def _past_offset(self, query, offset: int, limit: int):
        """The rows after `offset`, skipped as keys only: PostgreSQL builds every skipped row whole, joined columns and
        all, and passes it between workers (a numbered page 500 of the customers: 78 ms, against 4 this way)."""
        key = getattr(self.model, self._row_key())
        keys = query.with_entities(key).offset(offset).limit(limit)
        return query.filter(key.in_(keys.scalar_subquery())).limit(limit)

    def render(self, template, **kwargs):
        state = g.get("crm_list")
        if template == self.list_template and state is not None and state.paging and "data" in kwargs:
            page = state.page if state.page is not None else max(kwargs["page"] or 0, 0) if state.cursor else 0
            kwargs["pager"] = pager(state, kwargs["data"], page, kwargs["count"], kwargs["page_size"],
                                    kwargs["pager_url"])
            kwargs["past_end"] = past_end(state, kwargs["count"], kwargs["pager_url"]) if state.last is not None \
                else None
        return super().render(template, **kwargs)
