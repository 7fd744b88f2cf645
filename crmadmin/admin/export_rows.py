"""A list's CSV export read as plain tuples: the columns of the file selected from the list's own query (scope,
search, filters and order kept), streamed by the database, each cell written by a function made once per export.

Reading records cost most of an export: an object per row and per related row, and Flask-Admin's formatter and type
lookups per cell. Here a row is a tuple and its cells are its CSV text, exactly as `spreadsheet.csv_cell` writes the
values the list's formatters give (local times, choice labels in the user's language, related records by their
`__str__`, money, formula-looking text neutralised). A column this cannot read from SQL (a formatter of a screen's
own, a collection) leaves the export on the record path (`SecureModelView._export_rows`).
"""
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, Numeric, String, Text, type_coerce
from sqlalchemy.orm import RelationshipProperty, aliased

from ..extensions import db
from ..localtime import seconds_writer
from ..models.base import Money
from ..spreadsheet import FORMULA_TRIGGERS, CsvText, csv_cell

TRIGGERS = frozenset(FORMULA_TRIGGERS)


def readable(view) -> bool:
    """Whether every column of the screen's export is read from SQL here."""
    return _plan(view) is not None


def csv_rows(view, query, batch: int) -> CsvText:
    """The rows of `query` (the list's, as the record path walks it) as CSV text, in the viewer's zone and language
    (asked here, in the export's request)."""
    columns, writers, joins = _plan(view)
    query = query.with_entities(*columns)
    for alias, relationship in joins:
        query = query.outerjoin(alias, relationship)
    return CsvText(_stream(query, writers, batch))


def _stream(query, writers: list, batch: int):
    """Rows as lists of CSV text, read through a server-side cursor on PostgreSQL (`yield_per`), `batch` at a time;
    the read transaction ends with the stream."""
    session = query.session
    try:
        result = session.execute(query.statement, execution_options={"yield_per": batch})
        try:
            for row in result:
                yield [write(value) for write, value in zip(writers, row)]
        finally:
            result.close()
    finally:
        session.rollback()


def _plan(view):
    """(the SQL of each exported column, its cell writer, the outer joins to related rows) or None."""
    model = view.model
    formatters = view.column_formatters_export or {}
    choices_maps = getattr(view, "_column_choices_map", {})
    aliases: dict = {}  # path of relationships -> (alias of the related model)
    joins, columns, writers = [], [], []
    for name, _title in view._export_columns:
        formatter = formatters.get(name)
        labels = getattr(formatter, "crm_choices", None)
        if formatter is not None and labels is None:
            return None
        *path, last = name.split(".")
        entity, mapped = model, model
        for depth, part in enumerate(path):
            entity, mapped = _related(aliases, joins, entity, mapped, tuple(path[:depth + 1]), part)
            if entity is None:
                return None
        prop = getattr(getattr(mapped, last, None), "property", None)
        if isinstance(prop, RelationshipProperty):
            target, _ = _related(aliases, joins, entity, mapped, (*path, last), last)
            if target is None or labels is not None or not hasattr(prop.mapper.class_, "label_sql"):
                return None
            columns.append(prop.mapper.class_.label_sql(target))
            writers.append(_text)
            continue
        column_type = getattr(getattr(prop, "columns", [None])[0], "type", None)
        if column_type is None:
            return None
        column = getattr(entity, last)
        if labels is not None or choices_maps.get(name):
            writers.append(_choice_writer(labels, choices_maps.get(name)))
        else:
            writer = _type_writer(column_type)
            if writer is None:
                return None
            if isinstance(column_type, Money):
                column = type_coerce(column, BigInteger)  # whole cents, written without a Decimal each
            writers.append(writer)
        columns.append(column)
    return columns, writers, joins


def _related(aliases: dict, joins: list, entity, mapped, path: tuple, part: str):
    """The alias of the record one relationship away (outer-joined once per path), and its class; (None, None) for a
    collection or anything else."""
    prop = getattr(getattr(mapped, part, None), "property", None)
    if not isinstance(prop, RelationshipProperty) or prop.uselist:
        return None, None
    if path not in aliases:
        aliases[path] = aliased(prop.mapper.class_)
        joins.append((aliases[path], getattr(entity, part).of_type(aliases[path])))
    return aliases[path], prop.mapper.class_


def _text(value) -> str:
    if value is None:
        return ""
    return "'" + value if value[:1] in TRIGGERS else value


def _number(value) -> str:
    return "" if value is None else str(value)


def _cents(value) -> str:
    """Money as `csv_cell` writes its Decimal (two places), from the stored whole cents."""
    if value is None:
        return ""
    if value < 0:
        return "-" + _cents(-value)
    return f"{value // 100}.{value % 100:02d}"


def _date(value) -> str:
    return "" if value is None else value.isoformat()


def _type_writer(column_type):
    """A column's cell writer by its type, as the list's export formatters and `csv_cell` write it; None for a type
    not known here."""
    if isinstance(column_type, Money):
        return _cents
    if isinstance(column_type, DateTime):
        return seconds_writer()
    if isinstance(column_type, Date):
        return _date
    if isinstance(column_type, Boolean):
        return _number
    if isinstance(column_type, Integer):
        return _number
    if isinstance(column_type, (Numeric, Float)):
        return csv_cell
    if isinstance(column_type, (String, Text)) and not getattr(column_type, "enums", None):
        return _text
    return None


def _choice_writer(labels, choices_map):
    """A choice column: each stored value's text worked out once, as Flask-Admin shows it (the formatter's label, then
    looked up among the choices), in the export's language."""
    written: dict = {}

    def write(value) -> str:
        try:
            return written[value]
        except KeyError:
            shown = value
            if labels is not None:
                shown = "" if value is None else labels.label(value)
            if choices_map:
                shown = choices_map.get(shown) or shown
            text = written[value] = csv_cell(shown)
            return text

    return write
