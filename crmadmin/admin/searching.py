"""List search: every word must occur in some searchable field, as a substring; indexed fields ask the search index."""
from sqlalchemy import Unicode, cast, or_
from sqlalchemy.orm import RelationshipDirection

from .. import search
from ..extensions import db


def _indexed_key(model, column, path):
    """The column of `model` to test against the ids the search index returns, or None if it cannot answer."""
    table_name = getattr(column, "table", None) is not None and column.table.name
    if column.name not in search.INDEXED.get(table_name, ()):
        return None
    if not path and column.table is model.__table__:
        return model.__mapper__.primary_key[0]
    if len(path) == 1 and path[0].property.direction is RelationshipDirection.MANYTOONE:
        local = list(path[0].property.local_columns)
        return local[0] if len(local) == 1 else None
    return None


def apply_search(view, query, count_query, joins, count_joins, text: str):
    """Flask-Admin's `_apply_search`, with `%` and `_` taken literally and fields of indexed tables answered by the
    index (a subquery of ids: no join to the customer table, no scan of it)."""
    dialect = db.session.get_bind().dialect.name
    indexed: dict = {}  # key column -> (table name, [column names])
    plain, catalogued = [], []
    for column, path in view._search_fields:
        key = _indexed_key(view.model, column, path)
        if not path and column.name in search.CATALOGUED.get(getattr(column, "table", None) is not None
                                                               and column.table.name, ()):
            catalogued.append(column)
        elif key is None:
            plain.append((column, path))
        else:
            indexed.setdefault(key, (column.table.name, []))[1].append(column.name)
    for term in text.split():
        clauses, count_clauses = [], []
        for key, (table_name, names) in indexed.items():
            clause = search.whose_text_contains(key, table_name, names, term, dialect)
            clauses.append(clause)
            count_clauses.append(clause)
        for column in catalogued:
            clause = search.catalogued_contains(db.session, column, term)
            clauses.append(clause)
            count_clauses.append(clause)
        pattern = "%" + search.escape_like(term) + "%"
        for column, path in plain:
            query, joins, alias = view._apply_path_joins(query, joins, path, inner_join=False)
            clauses.append(cast(column if alias is None else getattr(alias, column.key), Unicode)
                           .ilike(pattern, escape="\\"))
            if count_query is not None:
                count_query, count_joins, alias = view._apply_path_joins(count_query, count_joins, path,
                                                                          inner_join=False)
                count_clauses.append(cast(column if alias is None else getattr(alias, column.key), Unicode)
                                     .ilike(pattern, escape="\\"))
        query = query.filter(or_(*clauses))
        if count_query is not None:
            count_query = count_query.filter(or_(*count_clauses))
    return query, count_query, joins, count_joins
