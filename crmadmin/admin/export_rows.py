"""A list's CSV export read as plain tuples: the columns of the file selected from the list's own query (scope,
search, filters and order kept), streamed by the database, each column written by a function made once per export.

Reading records cost most of an export: an object per row and per related row, and Flask-Admin's formatter and type
lookups per cell. Here the cells are exactly what `spreadsheet.csv_cell` makes of the values the list's formatters
give, worked out where it is cheapest: text, formula-looking text neutralised and related records by their `__str__`
by the database; numbers, dates and empty cells by the csv module (C); choice labels in the user's language from a
table made once; local times and money by a small function each. A column none of these gives (a formatter of a
screen's own, a collection) leaves the export on the record path (`SecureModelView._export_rows`).
"""
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, Numeric, String, Text, case, func, \
    type_coerce
from sqlalchemy.orm import RelationshipProperty, aliased

from ..localtime import seconds_writer
from ..models.base import Money
from ..spreadsheet import FORMULA_TRIGGERS, CsvBatches, csv_cell


def readable(view) -> bool:
    """Whether every column of the screen's export is read from SQL here."""
    return _plan(view) is not None


def csv_rows(view, query, batch: int) -> CsvBatches:
    """The rows of `query` (the list's, as the record path walks it) as CSV cells, `batch` rows a batch, in the
    viewer's zone and language (asked here, in the export's request)."""
    columns, writers, joins = _plan(view)
    query = query.with_entities(*columns)
    for alias, relationship in joins:
        query = query.outerjoin(alias, relationship)
    return CsvBatches(_stream(query, [w() if w is not None else None for w in writers], batch))


def _stream(query, writers: list, batch: int):
    """Batches of rows of cells, read `batch` rows a round trip (a server-side cursor on PostgreSQL), each column of
    a batch through its writer; the read transaction ends with the stream."""
    session = query.session
    try:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            # planned for every row, not for the first tenth (a cursor's default): one hash join and one sort, as
            # COPY does, rather than an index probe per row
            connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        result = connection.execute(query.statement.execution_options(yield_per=batch))
        try:
            for rows in result.partitions():
                yield list(zip(*[column if write is None else map(write, column)
                                 for write, column in zip(writers, zip(*rows))]))
        finally:
            result.close()
    finally:
        session.rollback()


def _plan(view):
    """(the SQL of each exported column, what makes its writer (None: the csv module writes the value as it is),
    the outer joins to related rows) or None."""
    model = view.model
    formatters = view.column_formatters_export or {}
    choices_maps = getattr(view, "_column_choices_map", {})
    aliases: dict = {}  # path of relationships -> alias of the related model
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
            columns.append(_neutralised(prop.mapper.class_.label_sql(target)))
            writers.append(None)
            continue
        column_type = getattr(getattr(prop, "columns", [None])[0], "type", None)
        if column_type is None:
            return None
        column = getattr(entity, last)
        if labels is not None or choices_maps.get(name):
            if getattr(column_type, "enums", None):  # read as the stored text: an Enum checks each value it reads
                column = type_coerce(column, String())
            writers.append(lambda labels=labels, choices_map=choices_maps.get(name): _choice_writer(labels,
                                                                                                    choices_map))
        elif isinstance(column_type, Money):
            column = type_coerce(column, BigInteger)  # whole cents, written without a Decimal each
            writers.append(lambda: _cents)
        elif isinstance(column_type, DateTime):
            writers.append(seconds_writer)  # the viewer's zone, asked when the export starts
        elif isinstance(column_type, (Boolean, Integer, Date)):
            writers.append(None)  # the csv module writes str(value): "True", "42", "2026-12-07"; None empty
        elif isinstance(column_type, (Numeric, Float)):
            writers.append(lambda: csv_cell)  # NaN and infinities as text
        elif isinstance(column_type, (String, Text)) and not getattr(column_type, "enums", None):
            column = _neutralised(column)
            writers.append(None)
        else:
            return None
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


def _neutralised(text):
    """`spreadsheet.neutralise` in SQL: a text a spreadsheet would run as a formula gets a leading apostrophe."""
    return case((func.substr(text, 1, 1).in_(FORMULA_TRIGGERS), "'" + text), else_=text)


def _cents(value) -> str | None:
    """Money as `csv_cell` writes its Decimal (two places), from the stored whole cents."""
    if value is None:
        return None
    if value < 0:
        return "-" + _cents(-value)
    return f"{value // 100}.{value % 100:02d}"


class _Labels(dict):
    """Stored value -> its cell; a value met for the first time is worked out once, as Flask-Admin shows it (the
    formatter's label, then looked up among the choices) and `csv_cell` writes it."""

    def __init__(self, labels, choices_map):
        super().__init__()
        self.labels, self.choices_map = labels, choices_map

    def __missing__(self, value):
        shown = value
        if self.labels is not None:
            shown = "" if value is None else self.labels.label(value)
        if self.choices_map:
            shown = self.choices_map.get(shown) or shown
        text = self[value] = csv_cell(shown)
        return text


def _choice_writer(labels, choices_map):
    return _Labels(labels, choices_map).__getitem__
