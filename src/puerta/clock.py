"""The clock is passed in, never read from a global: draws, expiry and demos stay reproducible."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock pinned to one instant (PUERTA_NOW, tests); ``advance`` moves it on."""

    def __init__(self, instant: dt.datetime) -> None:
        if instant.utcoffset() is None:
            raise ValueError("a fixed clock needs an aware datetime")
        self._instant = instant.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._instant

    def advance(self, delta: dt.timedelta) -> None:
        self._instant += delta

    def set(self, instant: dt.datetime) -> None:
        self._instant = instant.astimezone(dt.UTC)
