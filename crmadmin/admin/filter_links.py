"""Links to a list screen filtered as a figure counts: Flask-Admin's flt<n>_<index> arguments, looked up."""
from datetime import datetime

from flask_admin.model.filters import BaseFilter

from ..localtime import format_local
from .row_urls import list_url


def _operation(flt: BaseFilter) -> str:
    """The untranslated operation ("equals", "in list", "smaller than"...), as Flask-Admin's named URLs use it."""
    operation = flt.operation()
    return str(getattr(operation, "_args", (operation,))[0])


def _table_column(column):
    prop = getattr(column, "property", None)  # a mapped attribute: compare the table column behind it
    return prop.columns[0] if prop is not None else column


def find_filter(view, wanted) -> tuple[int, BaseFilter]:
    """The position and filter of `view` that is `wanted`: the filter itself, or a (column, operation) pair."""
    if not isinstance(wanted, tuple):
        return _search(view, wanted)
    # the dashboard asks for about 150 links a page; a view's filters are fixed once it is set up
    key = (id(_table_column(wanted[0])), wanted[1])
    found = view.__dict__.setdefault("_filters_by_column", {})
    if key not in found:
        found[key] = _search(view, wanted)
    return found[key]


def _search(view, wanted) -> tuple[int, BaseFilter]:
    for index, flt in enumerate(view._filters or ()):
        if flt is wanted:
            return index, flt
        if isinstance(wanted, tuple) and _operation(flt) == wanted[1] \
                and _table_column(getattr(flt, "column", None)) is _table_column(wanted[0]):
            return index, flt
    raise LookupError(f"{view.endpoint} has no filter {wanted!r}")


def filter_value(value) -> str:
    """A criterion's value as typed in the filter: a stored (UTC) moment in the viewer's time, as the date-time
    filters read it (admin/time_filters.py); a (start, end) pair as "start to end"."""
    if isinstance(value, tuple):
        return " to ".join(filter_value(v) for v in value)
    if isinstance(value, datetime):
        return format_local(value, seconds=True)
    return value


def filtered_url(view, *criteria, **args) -> str:
    """The list of `view` narrowed by (filter, value) criteria, all of which must hold; `args` are added as they are.
    A moment is given as a stored datetime (or a pair of them for "between"), never as text.
    Routed once per request and list (`row_urls.list_url`): the dashboard links about a hundred figures."""
    for position, (wanted, value) in enumerate(criteria):
        index, flt = find_filter(view, wanted)
        args[f"flt{position}_{view.get_filter_arg(index, flt)}"] = filter_value(value)
    return list_url(f"{view.endpoint}.index_view", **args)
