"""Ports of entry, the daily request window and requests: pure rules, standard library only."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from puerta.errors import Conflict, DomainError, Invalid, NotFound

# The ports of entry are geography, shared with accounts (an officer's port): they live in
# the foundation below both, and are named here too because requests choose among them.
from puerta.geo.domain import PORTS as PORTS
from puerta.geo.domain import PORTS_BY_SLUG as PORTS_BY_SLUG
from puerta.geo.domain import Port as Port
from puerta.geo.domain import UnknownPort as UnknownPort
from puerta.geo.domain import check_port_slug as check_port_slug

MAX_PORT_CHOICES = 3
MAX_SEATS_PER_DAY = 100_000
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


class UnknownPortChoice(Invalid):
    code = "unknown_port"
    message = "There is no port of entry called '{slug}'."


class InvalidPortChoice(Invalid):
    code = "invalid_port_choice"
    message = "Choose one to three different ports of entry, in order of preference."


class TooManyPortChoices(InvalidPortChoice):
    message = "You chose {count} ports. Choose at most three, in order of preference."


class InvalidSeats(Invalid):
    code = "invalid_seats"
    message = "Seats must be a whole number from 0 to {maximum}."


class WindowClosed(Conflict):
    code = "window_closed"
    message = "Requests are not being accepted now. The next window opens at {opens_at}."


class AlreadyRequested(Conflict):
    code = "already_requested"
    message = "Your group already has a request in this window."


class OutsideGeofence(DomainError):
    code = "outside_geofence"
    status = 403
    message = "Requests can only be made from inside the eligible area ({reason})."


class NoCurrentRequest(NotFound):
    code = "no_current_request"
    message = "Your group has no pending request."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used for a different request."


class InvalidIdempotencyKey(Invalid):
    code = "invalid_idempotency_key"
    message = "The Idempotency-Key header must be 1 to 128 visible ASCII characters."


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    WITHDRAWN = "withdrawn"
    SELECTED = "selected"
    NOT_SELECTED = "not_selected"


def check_port_choices(slugs: list[str]) -> tuple[str, ...]:
    """One to three distinct, known ports, in order of preference."""
    if len(slugs) > MAX_PORT_CHOICES:
        raise TooManyPortChoices(count=len(slugs))
    if not slugs or len(set(slugs)) != len(slugs):
        raise InvalidPortChoice()
    for slug in slugs:
        if slug not in PORTS_BY_SLUG:
            raise UnknownPortChoice(slug=slug[:40])
    return tuple(slugs)


def check_seats(seats: int) -> int:
    if not 0 <= seats <= MAX_SEATS_PER_DAY:
        raise InvalidSeats(maximum=MAX_SEATS_PER_DAY)
    return seats


def check_idempotency_key(key: str) -> str:
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidIdempotencyKey()
    return key


def _local(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    # Round-trip through UTC so a wall time in a DST gap lands on a real instant.
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


@dataclass(frozen=True)
class WindowSchedule:
    """The daily request window, named by the local date on which it opens.

    It opens at ``opens`` and closes at ``closes`` in ``timezone``; when ``closes`` is not
    later than ``opens`` in the day, it closes on the next day (default 12:00 to 11:00).
    """

    timezone: str = "America/Chicago"
    opens: dt.time = dt.time(12, 0)
    closes: dt.time = dt.time(11, 0)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def spans_midnight(self) -> bool:
        return self.closes <= self.opens

    def opens_at(self, window: dt.date) -> dt.datetime:
        return _local(window, self.opens, self.tz)

    def closes_at(self, window: dt.date) -> dt.datetime:
        close_day = window + dt.timedelta(days=1) if self.spans_midnight else window
        return _local(close_day, self.closes, self.tz)

    def is_open(self, window: dt.date, instant: dt.datetime) -> bool:
        return self.opens_at(window) <= instant < self.closes_at(window)

    def open_window(self, instant: dt.datetime) -> dt.date | None:
        """The window open at ``instant``, or None between windows."""
        today = instant.astimezone(self.tz).date()
        for window in (today - dt.timedelta(days=1), today):
            if self.is_open(window, instant):
                return window
        return None

    def next_opening(self, instant: dt.datetime) -> dt.datetime:
        """The first opening strictly after ``instant``."""
        day = instant.astimezone(self.tz).date() - dt.timedelta(days=1)
        while self.opens_at(day) <= instant:
            day += dt.timedelta(days=1)
        return self.opens_at(day)

    def last_closed(self, instant: dt.datetime) -> dt.date:
        """The most recent window that has closed by ``instant``."""
        day = instant.astimezone(self.tz).date()
        while self.closes_at(day) > instant:
            day -= dt.timedelta(days=1)
        return day


def commit_secret(secret: bytes) -> str:
    """The published commitment to a window's secret (revealed by its draw): its SHA-256."""
    return hashlib.sha256(secret).hexdigest()
