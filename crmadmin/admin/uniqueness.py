"""Unique keys on forms: read from the model's table, checked before a save, and named after a save that broke one.

The check before the save gives the user a precise message on the right field; the database's constraint stays the
net for two saves at the same moment: the IntegrityError is matched back to the key it broke (`broken_key`) and
shown the same way. Nothing here commits or rolls back; the caller does.
"""
import re
from typing import NamedTuple

from flask import flash
from flask_babel import gettext as _
from sqlalchemy import Column, Table, UniqueConstraint, and_, exists, inspect as sa_inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")


class UniqueKey(NamedTuple):
    name: str | None
    columns: tuple[Column, ...]


def unique_keys(table: Table, with_primary_key: bool = False) -> list[UniqueKey]:
    """Every unique constraint and unique index of a table (and its primary key if asked), as (name, columns)."""
    keys = [UniqueKey(c.name, tuple(c.columns)) for c in table.constraints if isinstance(c, UniqueConstraint)]
    keys += [UniqueKey(i.name, tuple(i.columns)) for i in table.indexes if i.unique and i.columns]
    if with_primary_key:
        keys.append(UniqueKey(table.primary_key.name, tuple(table.primary_key.columns)))
    return keys


def broken_key(error: IntegrityError, table: Table) -> UniqueKey | None:
    """The unique key of `table` that an IntegrityError reports as broken (None: another table, or not a clash)."""
    keys = unique_keys(table, with_primary_key=True)
    name = getattr(getattr(error.orig, "diag", None), "constraint_name", None)  # PostgreSQL names the constraint
    if name:
        return next((k for k in keys if k.name == name), None)
    found = SQLITE_UNIQUE.search(str(error.orig))  # SQLite names the columns: "table.a, table.b"
    if found is None:
        return None
    named = {part.strip() for part in found.group(1).split(",")}
    return next((k for k in keys if {f"{table.name}.{c.name}" for c in k.columns} == named), None)


# --- forms --------------------------------------------------------------------------------------------------------
def _field_of(form, model, column: Column):
    """(the form field that sets `column`, how to read the column's value from the field's data), or (None, None)."""
    mapper = sa_inspect(model)
    for attribute in mapper.column_attrs:
        if column in attribute.columns and attribute.key in form:
            return form[attribute.key], lambda data: data
    for relationship in mapper.relationships:
        if relationship.key in form and not relationship.uselist:
            for local, remote in relationship.local_remote_pairs:
                if local is column:
                    return form[relationship.key], lambda data, key=remote.key: getattr(data, key, None)
    return None, None


def fields_of(form, model, key: UniqueKey) -> list:
    """The form's fields that set the key's columns, in the key's order (empty: the form does not touch the key)."""
    return [field for field in (_field_of(form, model, c)[0] for c in key.columns) if field is not None]


def message_for(form, model, key: UniqueKey, messages: dict) -> str:
    """The view's own words for a key (`unique_messages`), else words naming the fields."""
    if key.name in messages:
        return str(messages[key.name])
    labels = [str(field.label.text) for field in fields_of(form, model, key)]
    if len(labels) == 1:
        return _("Another record has this %(field)s already. Nothing was saved.", field=labels[0])
    if labels:
        return _("Another record has the same %(fields)s already. Nothing was saved.", fields=_(", ").join(labels))
    return _("Someone else saved the same thing at the same moment. Nothing was saved; check the form and send it "
             "again.")


def add_error(form, model, key: UniqueKey, messages: dict) -> None:
    """The clash as an error on the key's last field on the form (the one the user picks last), else flashed."""
    message = message_for(form, model, key, messages)
    fields = fields_of(form, model, key)
    if not fields:
        flash(message, "error")
        return
    field = fields[-1]
    field.errors = [*field.errors, message]


def clashes(session: Session, form, model, editing, messages: dict) -> bool:
    """Check each unique key the form sets against the stored rows (all of them, whoever may see them), before the
    save; puts an error on the form for each clash and says whether there was one. Fields already in error are left
    to their own message (Flask-Admin's own single-column check among them)."""
    table = sa_inspect(model).local_table
    found = False
    for key in unique_keys(table):
        values = []
        for column in key.columns:
            field, value_of = _field_of(form, model, column)
            if field is not None and field.errors:
                values = None
                break
            value = value_of(field.data) if field is not None else getattr(editing, column.key, None)
            if value is None:  # NULL never clashes; a key the form cannot fill is the database's to judge
                values = None
                break
            values.append(column == value)
        if not values or not fields_of(form, model, key):
            continue
        if editing is not None:
            values.append(~and_(*(c == getattr(editing, c.key) for c in table.primary_key.columns)))
        if session.scalar(select(exists().where(*values))):
            add_error(form, model, key, messages)
            found = True
    return found


def explain(error: IntegrityError, form, model, messages: dict) -> bool:
    """After a save broke a unique key of `model` (another save came first): the reason on the form, like `clashes`
    would have put it. False when the error is not such a clash, for the caller's general message."""
    key = broken_key(error, sa_inspect(model).local_table)
    if key is None:
        return False
    add_error(form, model, key, messages)
    return True


def commit(session: Session, write=None) -> bool:
    """Run `write` (statements that may insert) and commit, for forms outside the record screens (settings, import
    mappings): when a unique key was taken by a save that came first, everything is rolled back and the user told to
    send the form again; False."""
    try:
        if write is not None:
            write()
        session.commit()
    except IntegrityError:
        session.rollback()
        flash(_("Someone else saved the same thing at the same moment. Nothing was saved; check the form and send it "
                "again."), "error")
        return False
    return True
