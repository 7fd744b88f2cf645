"""List filters on date-time columns read what the user types as local time (crmadmin/localtime.py).

Flask-Admin's datetime filters take "YYYY-MM-DD HH:MM:SS" and compare it with the stored value as it is, which
is UTC here. These take the viewer's wall-clock time instead ("HH:MM" and a bare day are accepted too), and a
range of days ("2026-03-01 to 2026-03-31") means those local days whole: from the first's 00:00 to the end of
the last. The base view builds every list's filters with `LocalTimeFilterConverter`; links made in code
(admin/filter_links.py) write their moments in the viewer's time for the same reason.
"""
from datetime import datetime, timedelta

from flask_admin.contrib.sqla import filters as sqla
from sqlalchemy import and_, not_, or_

from ..localtime import day_bounds, to_utc

# what may be typed, and the span it stands for (stored values carry microseconds)
_FORMATS = (("%Y-%m-%d %H:%M:%S", timedelta(seconds=1)), ("%Y-%m-%dT%H:%M:%S", timedelta(seconds=1)),
            ("%Y-%m-%d %H:%M", timedelta(minutes=1)), ("%Y-%m-%dT%H:%M", timedelta(minutes=1)))
DAY = "%Y-%m-%d"


def local_range(text: str) -> tuple[datetime, datetime]:
    """A typed moment or day as the stored (UTC) half-open range [start, end) it stands for: a whole local day, the
    minute typed, or the second; ValueError if it is none of them."""
    text = (text or "").strip()
    for fmt, span in _FORMATS:
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        start = to_utc(moment, strict=False)
        return start, start + span
    return day_bounds(datetime.strptime(text, DAY).date())


class _Moment:
    """clean(): the half-open UTC range of what was typed; validate(): whether it reads as one."""

    def clean(self, value):
        return local_range(value)

    def validate(self, value):
        try:
            local_range(value)
        except ValueError:
            return False
        return True


class LocalEqual(_Moment, sqla.DateTimeEqualFilter):
    def apply(self, query, value, alias=None):
        column = self.get_column(alias)
        return query.filter(and_(column >= value[0], column < value[1]))


class LocalNotEqual(_Moment, sqla.DateTimeNotEqualFilter):
    def apply(self, query, value, alias=None):
        column = self.get_column(alias)
        return query.filter(or_(column < value[0], column >= value[1]))


class LocalGreater(_Moment, sqla.DateTimeGreaterFilter):
    """After the moment typed (after the whole day, for a day)."""

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) >= value[1])


class LocalSmaller(_Moment, sqla.DateTimeSmallerFilter):
    """Before the moment typed (before the day began, for a day)."""

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) < value[0])


class _Between:
    def clean(self, value):
        parts = (value or "").split(" to ")
        if len(parts) != 2:
            raise ValueError(value)
        start, end = local_range(parts[0])[0], local_range(parts[1])[1]
        if start >= end:
            raise ValueError(value)
        return start, end

    def validate(self, value):
        try:
            self.clean(value)
        except ValueError:
            return False
        return True


class LocalBetween(_Between, sqla.DateTimeBetweenFilter):
    """From the first moment (or day's start) to the last (or the end of its day), both included."""

    def apply(self, query, value, alias=None):
        column = self.get_column(alias)
        return query.filter(and_(column >= value[0], column < value[1]))


class LocalNotBetween(_Between, sqla.DateTimeNotBetweenFilter):
    def apply(self, query, value, alias=None):
        column = self.get_column(alias)
        return query.filter(not_(and_(column >= value[0], column < value[1])))


class LocalTimeFilterConverter(sqla.FilterConverter):
    """Flask-Admin's filters, with the date-time ones reading local time."""

    datetime_filters = (LocalEqual, LocalNotEqual, LocalGreater, LocalSmaller, LocalBetween, LocalNotBetween,
                        sqla.FilterEmpty)
