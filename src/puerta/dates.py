"""Dates and times in a reader's language, each time in a zone that is named next to it.

Babel's CLDR data gives each language its own names and patterns. Where CLDR has no month
or day names (Haitian Creole) or only the root patterns ("2024 M09 3, Tue", K'iche'), the
names and patterns are message ids, translated in the catalogs like any other text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cache
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_timezone_location
from babel.localedata import load

Gettext = Callable[[str], str]

MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Patterns for languages whose CLDR data has only the root ones; {weekday} {day} {month} {year}.
FULL_DATE = "{weekday} {day} {month} {year}"
DAY_AND_MONTH = "{weekday} {day} {month}"
LONG_DATE = "{day} {month} {year}"
DATE_AND_TIME = "{date}, {time}"
# A time with its zone, named by a city: "07:00 (Mexicali time)".
IN_ZONE = "{time} ({place} time)"
# A time in the zone that sets it, and the same moment where the reader goes.
IN_TWO_ZONES = "{time} ({place} time; {other_time} in {other_place})"
PATTERNS: Final = (FULL_DATE, DAY_AND_MONTH, LONG_DATE, DATE_AND_TIME, IN_ZONE, IN_TWO_ZONES)


def message_ids() -> list[str]:
    """The names and patterns the catalogs supply where CLDR lacks them."""
    return [*MONTHS, *WEEKDAYS, *PATTERNS]


@cache
def _root_full_pattern() -> str:
    return str(load("root")["date_formats"]["full"].pattern)


@cache
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError, TypeError):  # an unknown language reads English
        return Locale.parse("en")


@cache
def _weekday_day_month_of(language: str) -> str:
    locale = _locale(language)
    pattern = locale.datetime_skeletons.get("MMMMEd")
    if pattern is None:
        return str(locale.date_formats["full"].pattern)
    # CLDR's skeleton abbreviates the weekday ("mié"); people read it better in full.
    return re.sub(r"(?<!E)E{1,3}(?!E)", "EEEE", str(pattern))


def _weekday_day_month(locale: Locale) -> str:
    return _weekday_day_month_of(str(locale))


def _cldr_names(locale: Locale) -> bool:
    return not str(locale.months["format"]["wide"][1]).startswith("M0")


def _cldr_patterns(locale: Locale) -> bool:
    return str(locale.date_formats["full"].pattern) != _root_full_pattern()


class Dates:
    """Formats for one language; ``gettext`` is that language's catalog."""

    def __init__(self, language: str, gettext: Gettext) -> None:
        self.locale = _locale(language)
        self._ = gettext
        self.cldr_names = _cldr_names(self.locale)
        self.cldr_patterns = self.cldr_names and _cldr_patterns(self.locale)

    def _text(self, pattern: str, **params: str) -> str:
        try:
            return self._(pattern).format(**params)
        except (KeyError, IndexError, ValueError):
            return pattern.format(**params)

    def month_names(self) -> list[str]:
        """The 12 stand-alone month names, January first."""
        if not self.cldr_names:
            return [self._(month) for month in MONTHS]
        names = self.locale.months["stand-alone"]["wide"]
        return [str(names[number]) for number in range(1, 13)]

    def _month(self, value: dt.date) -> str:
        if not self.cldr_names:
            return self._(MONTHS[value.month - 1])
        return str(self.locale.months["format"]["wide"][value.month])

    def _weekday(self, value: dt.date) -> str:
        if not self.cldr_names:
            return self._(WEEKDAYS[value.weekday()])
        return str(self.locale.days["format"]["wide"][value.weekday()])

    def _parts(self, value: dt.date) -> dict[str, str]:
        return {
            "weekday": self._weekday(value), "day": str(value.day),
            "month": self._month(value), "year": str(value.year),
        }  # fmt: skip

    def day(self, value: dt.date) -> str:
        """The full date: weekday, day, month and year."""
        if self.cldr_patterns:
            return format_date(value, "full", locale=self.locale)
        return self._text(FULL_DATE, **self._parts(value))

    def long_day(self, value: dt.date) -> str:
        """Day, month and year, without the weekday (a date of birth)."""
        if self.cldr_patterns:
            return format_date(value, "long", locale=self.locale)
        return self._text(LONG_DATE, **self._parts(value))

    def day_and_month(self, value: dt.date) -> str:
        """Weekday, day and month, in full: miércoles, 4 de septiembre."""
        if self.cldr_patterns:
            return format_date(value, _weekday_day_month(self.locale), locale=self.locale)
        return self._text(DAY_AND_MONTH, **self._parts(value))

    def clock(self, instant: dt.datetime, zone: dt.tzinfo) -> str:
        """The hour and minute in ``zone``, 24-hour: 07:00."""
        return format_time(instant, "HH:mm", tzinfo=zone, locale=self.locale)

    def moment(self, instant: dt.datetime, zone: dt.tzinfo) -> str:
        """Weekday, day, month, hour and minute in ``zone`` (no zone name)."""
        local = instant.astimezone(zone)
        time = self.clock(instant, zone)
        if self.cldr_patterns:
            pattern = str(self.locale.datetime_formats["medium"])
            return pattern.replace("{1}", self.day_and_month(local.date())).replace("{0}", time)
        return self._text(DATE_AND_TIME, date=self.day_and_month(local.date()), time=time)

    def city(self, zone: dt.tzinfo) -> str:
        """The zone's city in the reader's language: Chicago, شيكاغو, 芝加哥."""
        return str(get_timezone_location(zone, locale=self.locale, return_city=True))

    def hour_at(self, instant: dt.datetime, zone: dt.tzinfo, place: str) -> str:
        """The hour in ``zone``, named by ``place``: 07:00 (Mexicali time)."""
        return self._text(IN_ZONE, time=self.clock(instant, zone), place=place)

    def moment_at(
        self, instant: dt.datetime, zone: dt.tzinfo, also: tuple[dt.tzinfo, str] | None = None
    ) -> str:
        """Day and hour in ``zone``, named by its city; and at ``also`` (zone, place) if the
        clock reads differently there: ... 10:30 (Chicago time; 09:30 in Tijuana)."""
        shown, place = self.moment(instant, zone), self.city(zone)
        here = instant.astimezone(zone)
        there = instant.astimezone(also[0]) if also else here
        if also is None or here.replace(tzinfo=None) == there.replace(tzinfo=None):
            return self._text(IN_ZONE, time=shown, place=place)
        same_day = here.date() == there.date()
        other = self.clock(instant, also[0]) if same_day else self.moment(instant, also[0])
        return self._text(
            IN_TWO_ZONES, time=shown, place=place, other_time=other, other_place=also[1]
        )
