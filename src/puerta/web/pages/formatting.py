"""Dates, times and numbers on pages: each time in the zone of the place it concerns, named.

A slot is shown in its port's zone; the window's times (its open and close, an offer's
deadline) in the window's zone, and again in the reader's port's zone when that differs.
Every value comes back wrapped in ``<bdi>``, so a right-to-left sentence never reorders it.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo

from markupsafe import Markup

from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.dates import Dates
from puerta.web.pages.session import Page


class Slotted(Protocol):
    @property
    def port(self) -> str: ...
    @property
    def slot_starts_at(self) -> dt.datetime | None: ...


@cache
def port_zone(slug: str) -> ZoneInfo:
    return ZoneInfo(PORTS_BY_SLUG[slug].timezone)


def isolated(value: object) -> Markup:
    """``value`` escaped, in a ``<bdi>``: its own direction inside any sentence."""
    return Markup("<bdi>{}</bdi>").format(value)


class Formatter:
    """Dates and times for one reader; every time names the zone it is given in."""

    def __init__(self, page: Page) -> None:
        self.dates = Dates(page.language, page.gettext)
        self.window_zone = page.runtime.schedule.tz

    def day(self, value: dt.date | None) -> Markup:
        """A calendar day (no zone): weekday, day, month and year."""
        return Markup() if value is None else isolated(self.dates.day(value))

    def birth_date(self, value: dt.date | None) -> Markup:
        return Markup() if value is None else isolated(self.dates.long_day(value))

    def number(self, value: object) -> Markup:
        return Markup() if value is None else isolated(value)

    def month_names(self) -> list[str]:
        """The 12 month names in the reader's language, January first."""
        return self.dates.month_names()

    def slot(self, appointment: Slotted) -> Markup:
        """The appointment's hour at its port, in the port's zone, named."""
        return self.time(appointment.slot_starts_at, port=appointment.port)

    def time(self, instant: dt.datetime | None, *, port: str) -> Markup:
        """An hour at ``port``, in its zone: 07:00 (Mexicali time)."""
        if instant is None:
            return Markup()
        return isolated(
            self.dates.hour_at(instant, port_zone(port), PORTS_BY_SLUG[port].mexican_city)
        )

    def deadline(self, instant: dt.datetime | None, *, also_port: str | None) -> Markup:
        """A moment the window sets, in the window's zone, and at ``also_port`` if it differs."""
        if instant is None:
            return Markup()
        also = None
        if also_port is not None:
            also = (port_zone(also_port), PORTS_BY_SLUG[also_port].mexican_city)
        return isolated(self.dates.moment_at(instant, self.window_zone, also))


def reader_port(appointment: object, request: object, port: object) -> str | None:
    """Whose zone a reader lives by: their offer's port, else their first choice, else theirs."""
    for candidate in (
        getattr(appointment, "port", None),
        next(iter(getattr(request, "ports", None) or ()), None),
        getattr(port, "slug", None),
    ):
        if isinstance(candidate, str) and candidate in PORTS_BY_SLUG:
            return candidate
    return None
