"""A list's CSV export read as plain rows: the columns of the file selected from the list's own query (scope, search,
filters and order kept), each column's cells made where it is cheapest.

Reading records cost most of an export: an object per row and per related row, and Flask-Admin's formatter and type
lookups per cell. Here the cells are exactly what `spreadsheet.csv_cell` makes of the values the list's formatters
give. On PostgreSQL the database makes every cell and writes the lines itself (`COPY (SELECT ...) TO STDOUT` in CSV,
read through psycopg): it has the zone database for local times, the choices' labels are a CASE made once per export
in the user's language, money comes from its cents. Elsewhere (SQLite) the database gives the text cells, formula-
looking text neutralised and related records by their `__str__`; the csv module (C) writes numbers, dates and empty
cells; labels, local times and money go through a small function each. A column none of these gives (a formatter of
a screen's own, a collection) leaves the export on the record path (`SecureModelView._export_rows`).
"""
from sqlalchemy import BigInteger, Boolean, Date, DateTime, Float, Integer, Numeric, String, Text, case, cast, \
    func, literal, null, type_coerce
from sqlalchemy.orm import RelationshipProperty, aliased

from ..localtime import seconds_writer, viewer_zone, zone_name
from ..models.base import Money
from ..spreadsheet import FORMULA_TRIGGERS, CsvBatches, CsvLines, csv_cell

# to_char of a local time as strftime("%Y-%m-%d %H:%M:%S") writes it (FM: a year before 1000 without leading zeros)
PG_SECONDS = "FMYYYY-MM-DD HH24:MI:SS"


def readable(view) -> bool:
    """Whether every column of the screen's export is read from SQL here."""
    return _plan(view) is not None


def csv_rows(view, query, batch: int) -> CsvBatches | CsvLines:
    """The rows of `query` (the list's, as the record path walks it) in batches of `batch` rows, in the viewer's zone
    and language (asked here, in the export's request): finished lines written by PostgreSQL's COPY, or else rows of
    cells for the csv module."""
    plan, joins = _plan(view)
    for alias, relationship in joins:
        query = query.outerjoin(alias, relationship)
    connection = query.session.connection()
    if _copyable(connection, plan):
        zone = zone_name(viewer_zone())
        return CsvLines(_copied(query.with_entities(*[column.ready(zone) for column in plan]), batch))
    query = query.with_entities(*[column.sql for column in plan])
    return CsvBatches(_streamed(query, [column.writer() for column in plan], batch))


def _copyable(connection, plan: list) -> bool:
    """Whether PostgreSQL writes this export's lines as the csv module would: every column made in SQL, more than one
    (COPY and the csv module quote a lone cell differently), sent in UTF-8."""
    return connection.dialect.name == "postgresql" and len(plan) > 1 \
        and all(column.kind != "number" for column in plan) \
        and connection.connection.driver_connection.info.encoding == "utf-8"


def _copied(query, batch: int):
    """Batches of the lines PostgreSQL's `COPY (query) TO STDOUT` writes in CSV, each without its line end; the read
    transaction ends with the stream.

    The database sends one message a line (the protocol's rule for COPY TO), so a line's end is its last byte; a
    line end inside a quoted cell stays as the csv module writes it. Its quoting is the csv module's (a cell holding a
    comma, a quote, CR or LF), but for an empty text, which COPY quotes: `ready` gives NULL for it instead."""
    session = query.session
    try:
        connection = session.connection()
        statement, params = _driver_statement(query.statement, connection.dialect)
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv)", params) as copy:
            lines = []
            for line in copy:
                lines.append(line[:-1])
                if len(lines) == batch:
                    yield lines
                    lines = []
            if lines:
                yield lines
    finally:
        session.rollback()


def _driver_statement(statement, dialect) -> tuple[str, dict | None]:
    """The statement and its parameters as SQLAlchemy would hand them to psycopg, for psycopg to merge into the COPY
    itself (COPY takes no parameters): IN lists spelled out, each value through its type's bind processor."""
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if not params:
        return compiled.string % (), None  # psycopg reads "%%" as "%" only where it merges parameters
    types = {name: bind.type for bind, name in compiled.bind_names.items()}
    for name, value in params.items():
        kind = types.get(name) or types[name.rpartition("_")[0]]  # an IN list's values: name_1, name_2, ...
        process = kind.dialect_impl(dialect).bind_processor(dialect)
        params[name] = value if process is None else process(value)
    return compiled.string, params


def _streamed(query, writers: list, batch: int):
    """Batches of rows of cells, read `batch` rows a round trip, each column of a batch through its writer; the read
    transaction ends with the stream."""
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


class _Column:
    """One exported column: its SQL, how the csv module's path writes it, and its finished cell in SQL."""

    def __init__(self, sql, kind: str, labels=None, choices_map=None):
        self.sql, self.kind, self.labels, self.choices_map = sql, kind, labels, choices_map

    def writer(self):
        """The function making a cell of a value (None: the csv module writes the value as it is)."""
        if self.kind == "choice":
            return _Labels(self.labels, self.choices_map).__getitem__
        if self.kind == "moment":
            return seconds_writer()  # the viewer's zone, asked when the export starts
        return {"money": _cents, "number": csv_cell}.get(self.kind)

    def ready(self, zone: str):
        """The cell as SQL, text as the csv module's path writes it; NULL for an empty cell."""
        sql, kind = self.sql, self.kind
        if kind == "text":
            return func.nullif(sql, "")
        if kind == "integer":
            return sql
        if kind == "boolean":
            return case((sql, "True"), (~sql, "False"), else_=null())
        if kind == "date":
            return func.to_char(sql, "YYYY-MM-DD")
        if kind == "moment":
            return func.to_char(func.timezone(zone, func.timezone("UTC", sql)), PG_SECONDS)
        if kind == "money":
            cents = type_coerce(func.abs(sql), BigInteger)
            return case((sql < 0, "-"), else_="") + cast(cents // 100, Text) + "." + \
                func.lpad(cast(func.mod(cents, 100), Text), 2, "0")
        if kind == "choice":
            cells = _Labels(self.labels, self.choices_map)
            known = [*(self.labels or ()), *(self.choices_map or {})]
            # a value that is no choice is shown as it is stored
            if not known:
                return func.nullif(_neutralised(sql), "")
            return func.nullif(case({value: literal(cells[value]) for value in known}, value=sql,
                                    else_=_neutralised(sql)), "")
        return sql  # "number": PostgreSQL's text of a Numeric is no Decimal's str; never planned for COPY


def _plan(view):
    """(the exported columns, `_Column` each; the outer joins to related rows) or None."""
    model = view.model
    formatters = view.column_formatters_export or {}
    choices_maps = getattr(view, "_column_choices_map", {})
    aliases: dict = {}  # path of relationships -> alias of the related model
    joins, columns = [], []
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
            columns.append(_Column(_neutralised(prop.mapper.class_.label_sql(target)), "text"))
            continue
        column_type = getattr(getattr(prop, "columns", [None])[0], "type", None)
        if column_type is None:
            return None
        column = getattr(entity, last)
        if labels is not None or choices_maps.get(name):
            if not isinstance(column_type, String):
                return None  # choices are stored as text here
            # read as the stored text: an Enum checks each value it reads
            columns.append(_Column(type_coerce(column, String()), "choice", labels, choices_maps.get(name)))
        elif isinstance(column_type, Money):
            columns.append(_Column(type_coerce(column, BigInteger), "money"))  # whole cents, no Decimal each
        elif isinstance(column_type, DateTime):
            columns.append(_Column(column, "moment"))
        elif isinstance(column_type, Boolean):
            columns.append(_Column(column, "boolean"))  # the csv module writes str(value): "True"; None empty
        elif isinstance(column_type, Integer):
            columns.append(_Column(column, "integer"))
        elif isinstance(column_type, Date):
            columns.append(_Column(column, "date"))
        elif isinstance(column_type, (Numeric, Float)):
            columns.append(_Column(column, "number"))  # NaN and infinities as text
        elif isinstance(column_type, (String, Text)) and not getattr(column_type, "enums", None):
            columns.append(_Column(_neutralised(column), "text"))
        else:
            return None
    return columns, joins


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
