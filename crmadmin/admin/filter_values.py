"""Which values a list filter may send to the database: Flask-Admin's `validate()` checks only that `clean()` parses.

It lets through an enumeration filter's unknown choice (SQLAlchemy refuses it when it binds the parameter: a 500), a
number too large for a 64-bit column, and a NUL character (PostgreSQL text refuses it). The base view drops such a
filter and says so (`SecureModelView._get_list_filter_args`) instead of handing the value to the query.
"""
import math
from decimal import Decimal

from flask_admin.contrib.sqla.filters import FilterEqual, FilterInList, FilterNotEqual
from flask_admin.model.filters import BaseFilter
from sqlalchemy import Enum

INT64 = range(-(2 ** 63), 2 ** 63)


# the filters whose value is compared with the column itself (not "is empty", a yes or no)
COMPARED = (FilterEqual, FilterNotEqual, FilterInList)


def _column_type(flt: BaseFilter):
    return getattr(getattr(flt, "column", None), "type", None) if isinstance(flt, COMPARED) else None


def _fits(value, column_type) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_fits(v, column_type) for v in value)
    if isinstance(value, str):
        if "\x00" in value:
            return False
        if isinstance(column_type, Enum) and column_type.enum_class is None:
            return value in column_type.enums
        return True
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return value in INT64
    if isinstance(value, (float, Decimal)):
        return math.isfinite(value)
    return True


def accepts(flt: BaseFilter, value: str) -> bool:
    """Whether `flt` can take `value` from a query string: it parses, and the database can compare its column with it."""
    if "\x00" in value or not flt.validate(value):
        return False
    try:
        cleaned = flt.clean(value)
    except (ValueError, TypeError, KeyError, LookupError, ArithmeticError):
        return False
    return _fits(cleaned, _column_type(flt))
