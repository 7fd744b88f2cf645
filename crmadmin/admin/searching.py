"""List search: every word must occur in some searchable field, as a substring; indexed fields ask the search index."""
from flask import g
from sqlalchemy import Unicode, cast, false, or_
from sqlalchemy.orm import RelationshipDirection

from .. import search
from ..extensions import db


def _table_name(column) -> str | None:
    return column.table.name if getattr(column, "table", None) is not None else None


def _indexed_key(model, column, path):
    """The column of `model` to test against the ids the search index returns, or None if it cannot answer."""
    if column.name not in search.INDEXED.get(_table_name(column), ()):
        return None
    if not path and column.table is model.__table__:
        return model.__mapper__.primary_key[0]
    if len(path) == 1 and path[0].property.direction is RelationshipDirection.MANYTOONE:
        local = list(path[0].property.local_columns)
        return local[0] if len(local) == 1 else None
    return None


def _indexed_clause(key, table_name: str, names, terms, dialect: str):
    """The rows where the words are in the indexed fields, and None, the index's ids for the count to join or the
    count's execution options (`search.own_rows_containing`): probed first when the list is the indexed table's own
    (`key` is always a column of the list's table: its id, or its foreign key to `table_name`)."""
    if table_name in search.PROBED and key.table.name == table_name:
        return search.own_rows_containing(db.session, key.table, names, terms, dialect)
    return search.whose_text_contains(key, table_name, names, terms, dialect), None


def apply_search(view, query, count_query, joins, count_joins, text: str):
    """Flask-Admin's `_apply_search`, with `%` and `_` taken literally and fields of indexed tables answered by the
    index (a subquery of ids: no join to the customer table, no scan of it)."""
    dialect = db.session.get_bind().dialect.name
    indexed: dict = {}  # key column -> (table name, [column names])
    plain, catalogued = [], []
    for column, path in view._search_fields:
        key = _indexed_key(view.model, column, path)
        if not path and column.name in search.CATALOGUED.get(_table_name(column), ()):
            catalogued.append(column)
        elif key is None:
            plain.append((column, path))
        else:
            indexed.setdefault(key, (column.table.name, []))[1].append(column.name)
    terms = text.replace("\x00", " ").split()  # PostgreSQL text cannot hold a NUL: it separates words, as a space does
    in_catalogue = {}  # (word, column) -> its condition, for the words some catalogued value contains
    for term in terms:
        for column in catalogued:
            clause = search.catalogued_contains(db.session, column, term)
            if clause is not None:
                in_catalogue[term, column] = clause
    if terms and len(indexed) == 1 and not plain and not in_catalogue:
        # every word can only be in one index: one look-up for all of them (a full name "Terry Harris": 234 ms as
        # one look-up per word on PostgreSQL at a million customers, 3 ms as one)
        (key, (table_name, names)), = indexed.items()
        clause, counted = _indexed_clause(key, table_name, names, terms, dialect)
        if count_query is not None:
            if counted is None:
                count_query = count_query.filter(clause)
            elif isinstance(counted, dict):  # PostgreSQL: how `CappedCountQuery` is to count it, and what
                count_query = count_query.execution_options(crm_count_search=clause, **counted)
                state = g.get("crm_list")
                if "crm_count_gathers" in counted and state is not None:
                    # held back: when the count gathers every match, the page looks those up instead (planning the
                    # words' ILIKEs again cost 4 ms of the page's statement)
                    state.matching = clause
                    return query, count_query, joins, count_joins
            else:  # the index's matches, joined: the count stops at its cap without gathering them all
                ids = counted.subquery()
                count_query = count_query.join(ids, next(iter(ids.c)) == key)
        return query.filter(clause), count_query, joins, count_joins
    for term in terms:
        clauses, count_clauses = [], []
        for key, (table_name, names) in indexed.items():
            clause, _ = _indexed_clause(key, table_name, names, term, dialect)  # ORed with others: no join
            clauses.append(clause)
            count_clauses.append(clause)
        for column in catalogued:
            clause = in_catalogue.get((term, column))
            if clause is not None:
                clauses.append(clause)
                count_clauses.append(clause)
        for column, path in plain:
            query, joins, alias = view._apply_path_joins(query, joins, path, inner_join=False)
            clauses.append(search.contains(cast(column if alias is None else getattr(alias, column.key), Unicode),
                                           term, dialect))
            if count_query is not None:
                count_query, count_joins, alias = view._apply_path_joins(count_query, count_joins, path,
                                                                          inner_join=False)
                count_clauses.append(search.contains(
                    cast(column if alias is None else getattr(alias, column.key), Unicode), term, dialect))
        query = query.filter(or_(*clauses) if clauses else false())  # no field can hold the word
        if count_query is not None:
            count_query = count_query.filter(or_(*count_clauses) if count_clauses else false())
    return query, count_query, joins, count_joins
