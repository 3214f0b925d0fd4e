"""How machine values read in an SMS: shorter than in an e-mail, in the reader's language.

Two segments leave little room, so an SMS names a day by its day and month (no weekday, and
no year: a service date is two weeks away), a port without the bridge's name, and a deadline
once, in the zone of the port the reader is going to ("3 September, 09:00 (Tijuana time)");
the e-mail and the pages also give it in the window's zone. Names and patterns come from
Babel's CLDR data, or from the catalogs where CLDR has none (puerta.dates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from puerta.dates import DATE_AND_TIME, Dates
from puerta.notifications.domain import SMS_DAY_MONTH, Gettext


class Place(Protocol):
    """A port as notifications name it (puerta.geo.domain.Port has this shape)."""

    @property
    def name(self) -> str: ...
    @property
    def mexican_city(self) -> str: ...
    @property
    def timezone(self) -> str: ...


def _text(gettext: Gettext, pattern: str, **params: str) -> str:
    try:
        return gettext(pattern).format(**params)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return pattern.format(**params)


def day_month(dates: Dates, gettext: Gettext, value: dt.date) -> str:
    """Day and month in full, no weekday and no year: 16 de septiembre, 9月16日."""
    if dates.cldr_patterns:
        return str(format_skeleton("MMMMd", value, locale=dates.locale))
    month = dates.month_names()[value.month - 1]
    return _text(gettext, SMS_DAY_MONTH, day=str(value.day), month=month)


@dataclass(frozen=True)
class SmsShown:
    """Machine values in one reader's language, short (notifications.domain.Shown)."""

    ports: Mapping[str, Place]
    dates: Dates
    gettext: Gettext

    def port(self, slug: str) -> str | None:
        place = self.ports.get(slug)
        # "El Paso (Paso del Norte)": the bridge is named on the pages; the port's name is enough.
        return None if place is None else place.name.split(" (")[0]

    def day(self, value: dt.date) -> str:
        return day_month(self.dates, self.gettext, value)

    def slot(self, instant: dt.datetime, *, port: str) -> str:
        place = self.ports[port]
        return self.dates.hour_at(instant, ZoneInfo(place.timezone), place.mexican_city)

    def deadline(self, instant: dt.datetime, *, also_port: str) -> str:
        place = self.ports[also_port]
        zone = ZoneInfo(place.timezone)
        date = self.day(instant.astimezone(zone).date())
        return self._joined(date, self.dates.hour_at(instant, zone, place.mexican_city))

    def _joined(self, date: str, time: str) -> str:
        if self.dates.cldr_patterns:
            pattern = str(self.dates.locale.datetime_formats["medium"])
            return pattern.replace("{1}", date).replace("{0}", time)
        return _text(self.gettext, DATE_AND_TIME, date=date, time=time)
