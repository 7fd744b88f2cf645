"""Local time: what a person reads or types is wall-clock time in their zone; the database keeps naive UTC.

The viewer's zone is their own (User.timezone) if they chose one, else the business zone CRM_TIMEZONE; outside a
request (CLI, jobs) the business zone. Everything that shows or reads a time converts here, and nowhere else.

Daylight saving: a local time that does not exist (America/New_York 2026-03-08 02:30, the clocks jump from 02:00
to 03:00) is refused with a message; one that occurs twice (2026-11-01 01:30) is taken as its first occurrence,
the earlier moment (still on summer time), as a clerk typing it a few minutes after the fact most likely meant.
Imports nothing of admin/.
"""
import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, g, has_app_context, has_request_context
from babel.core import Locale, get_global
from babel.dates import get_timezone_location
from flask_babel import get_locale, gettext as _

MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"
# what a person may type: the picker's format, with seconds, with the HTML "T"
INPUT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


class NoSuchLocalTime(ValueError):
    """A wall-clock time the zone skips (the hour the clocks go forward); str() is the message."""


AREAS = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")


@lru_cache(maxsize=None)
def zone_names() -> tuple[str, ...]:
    """The IANA zones a user may choose (Area/City names, sorted; old aliases such as Asia/Chongqing left out)."""
    aliases = get_global("zone_aliases")
    return tuple(sorted(n for n in available_timezones() if n.startswith(AREAS) and n not in aliases))


def zone_choices() -> list[tuple[str, str]]:
    """(zone, label) in the viewer's language, by offset from UTC then name: "(UTC+08:00) 中国（上海）时间"."""
    return list(_zone_choices(str(get_locale() or "en"), datetime.now(timezone.utc).date()))


@lru_cache(maxsize=8)
def _zone_choices(locale: str, day: date) -> tuple[tuple[str, str], ...]:
    moment = datetime.combine(day, time(12), tzinfo=timezone.utc)
    latin = not locale.startswith("en") and re.compile("[A-Za-z]")
    countries, territories = Locale.parse(locale).territories, get_global("zone_territories")
    choices = []
    for name in zone_names():
        place = get_timezone_location(name, locale=locale)
        if latin and latin.search(place):  # CLDR names some cities in English only: the country alone then
            place = countries.get(territories.get(name, ""), place)
            if latin.search(place):
                continue  # CLDR knows neither (a zone newer than its data): not offered in this language
        minutes = int(moment.astimezone(ZoneInfo(name)).utcoffset().total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        choices.append((minutes, place, name, f"(UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}) {place}"))
    return tuple((name, label) for _minutes, _place, name, label in sorted(choices))


def valid_zone(name: str | None) -> ZoneInfo | None:
    """The zone called `name`, or None if there is none such."""
    if not name:
        return None
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def business_zone() -> ZoneInfo:
    """CRM_TIMEZONE: the zone of the business day, and of everyone who chose no zone of their own."""
    from config import Config

    name = current_app.config.get("CRM_TIMEZONE") if has_app_context() else None
    return valid_zone(name or Config.CRM_TIMEZONE) or timezone.utc


def viewer_zone() -> ZoneInfo:
    """The zone of the person this request is for: their own, else the business zone (asked once a request: a
    list page converts a few hundred times)."""
    if not has_request_context():
        return business_zone()
    found = g.get("_crm_viewer_zone")
    if found is None:
        from flask_login import current_user

        found = valid_zone(getattr(current_user, "timezone", None)) or business_zone()
        if getattr(current_user, "is_authenticated", False):  # before the user is loaded, ask again later
            g._crm_viewer_zone = found
    return found


def zone_name(zone=None) -> str:
    """The zone's IANA name ("Asia/Shanghai"), as files and the command line name it."""
    zone = zone or viewer_zone()
    return getattr(zone, "key", None) or str(zone)


def zone_label(zone=None) -> str:
    """The zone as a person reads it, in their language ("中国（上海）时间", "China (Shanghai) Time")."""
    name = zone_name(zone)
    return dict(zone_choices()).get(name, name).partition(") ")[2] or name


def to_local(moment: datetime | None, zone=None) -> datetime | None:
    """A stored (naive UTC) moment as naive wall-clock time in the viewer's zone (or `zone`)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone or viewer_zone()).replace(tzinfo=None)


def to_utc(local: datetime | None, zone=None, strict: bool = True) -> datetime | None:
    """A wall-clock time typed in the viewer's zone (or `zone`) as a stored naive UTC moment.

    An aware time (one read with an offset) is simply converted. A time the zone skips raises NoSuchLocalTime when
    strict (forms, imports), else is read with the offset before the jump (filters); a repeated one is the first.
    """
    if local is None:
        return None
    if local.tzinfo is not None:
        return local.astimezone(timezone.utc).replace(tzinfo=None)
    zone = zone or viewer_zone()
    aware = local.replace(tzinfo=zone, fold=0)
    moment = aware.astimezone(timezone.utc)
    if strict and moment.astimezone(zone).replace(tzinfo=None) != local.replace(fold=0):
        raise NoSuchLocalTime(_("%(time)s does not exist in %(zone)s: the clocks are put forward then. Enter a "
                                "time before or after the change.", time=local.strftime(MINUTES),
                                zone=zone_label(zone)))
    return moment.replace(tzinfo=None)


def day_bounds(first: date, last: date | None = None, zone=None) -> tuple[datetime, datetime]:
    """The stored (naive UTC) moments from the start of local day `first` to the start of the day after `last`."""
    zone = zone or viewer_zone()
    last = last or first
    start = datetime.combine(first, time()).replace(tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time()).replace(tzinfo=zone).astimezone(timezone.utc)
    return start.replace(tzinfo=None), end.replace(tzinfo=None)


def parse_local(text: str) -> datetime:
    """A typed local time ("2026-12-07 17:24", with seconds or a "T") as a naive datetime; ValueError if not one."""
    text = (text or "").strip()
    for fmt in INPUT_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(_("Enter a date and time such as 2026-03-31 14:30."))


def now_local() -> datetime:
    """The viewer's wall clock now, to the minute: the default of a form's time."""
    return to_local(datetime.now(timezone.utc)).replace(second=0, microsecond=0)


def format_local(moment: datetime | None, seconds: bool = False) -> str:
    """A stored moment as the viewer reads it ("2026-12-07 17:24"); empty for None."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return moment.isoformat() if isinstance(moment, date) else str(moment)
    return to_local(moment).strftime(SECONDS if seconds else MINUTES)


_MINUTES_SECONDS = [f":{minute:02d}:{second:02d}" for minute in range(60) for second in range(60)]


def seconds_writer(zone=None):
    """`format_local(moment, seconds=True)` for many moments in one zone (an export's column): the zone is asked once,
    and each hour of UTC converted once; in a zone a whole number of hours from UTC, a moment's text is that hour's
    local date and hour followed by its own minutes and seconds."""
    zone = zone or viewer_zone()
    hours: dict = {}  # hour of UTC -> its local "YYYY-MM-DD HH", or its offset (not whole hours), or False

    def write(moment: datetime | None) -> str:
        if moment is None:
            return ""
        hour = moment.toordinal() * 24 + moment.hour  # cheaper than replace(minute=0, ...)
        local = hours.get(hour)
        if local is None:
            local = hours[hour] = _hour_in(zone, datetime.fromordinal(hour // 24) + timedelta(hours=hour % 24))
        if local.__class__ is str:
            return local + _MINUTES_SECONDS[moment.minute * 60 + moment.second]
        return to_local(moment, zone).strftime(SECONDS) if local is False else (moment + local).strftime(SECONDS)

    return write


def _hour_in(zone, hour: datetime):
    start, end = (moment.replace(tzinfo=timezone.utc).astimezone(zone).utcoffset()
                  for moment in (hour, hour + timedelta(minutes=59, seconds=59, microseconds=999999)))
    if start != end:
        return False  # the clocks change within this hour: each moment converted
    if start % timedelta(hours=1) or (hour + start).year < 1000:
        return start
    return (hour + start).strftime("%Y-%m-%d %H")


def local_date(moment) -> str:
    """The viewer's local day of a stored moment ("2026-12-07"); a date is a date anywhere."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return moment.isoformat()
    return to_local(moment).date().isoformat()


def select_timezone() -> str:
    """Flask-Babel's timezone selector: format_datetime shows the viewer's zone too."""
    return zone_name(viewer_zone())


def init_app(app) -> None:
    """Jinja filters |localtime, |localtime(seconds=True), |localdate and the global viewer_zone_name() (its label)."""
    app.jinja_env.filters["localtime"] = format_local
    app.jinja_env.filters["localdate"] = local_date
    app.jinja_env.globals["viewer_zone_name"] = lambda: zone_label(viewer_zone())
