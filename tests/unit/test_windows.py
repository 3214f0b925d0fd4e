"""The request window: opening and closing instants, across DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.appointments.domain import WindowSchedule

CHICAGO = ZoneInfo("America/Chicago")
DEFAULT = WindowSchedule()
TIMEZONES = ["America/Chicago", "America/Mexico_City", "America/Tijuana", "UTC", "Europe/London"]

instants = st.datetimes(
    min_value=dt.datetime(2020, 1, 1),
    max_value=dt.datetime(2030, 12, 31),
    timezones=st.just(dt.UTC),
)
schedules = st.builds(
    WindowSchedule,
    timezone=st.sampled_from(TIMEZONES),
    opens=st.times(),
    closes=st.times(),
).filter(lambda s: s.opens != s.closes)


def chicago(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHICAGO)


class TestDefaultWindow:
    def test_opens_at_noon_and_closes_at_eleven_the_next_day_in_chicago(self) -> None:
        window = dt.date(2024, 9, 2)
        assert DEFAULT.opens_at(window) == chicago(2024, 9, 2, 12, 0)
        assert DEFAULT.closes_at(window) == chicago(2024, 9, 3, 11, 0)

    @pytest.mark.parametrize(
        ("instant", "window"),
        [
            (chicago(2024, 9, 2, 12, 0), dt.date(2024, 9, 2)),
            (chicago(2024, 9, 2, 23, 59), dt.date(2024, 9, 2)),
            (chicago(2024, 9, 3, 10, 59), dt.date(2024, 9, 2)),
            (chicago(2024, 9, 3, 11, 0), None),
            (chicago(2024, 9, 3, 11, 59), None),
            (chicago(2024, 9, 3, 12, 0), dt.date(2024, 9, 3)),
        ],
    )
    def test_knows_which_window_is_open(self, instant: dt.datetime, window: dt.date | None) -> None:
        assert DEFAULT.open_window(instant) == window

    def test_is_22_hours_long_when_clocks_spring_forward(self) -> None:
        window = dt.date(2024, 3, 9)
        assert DEFAULT.closes_at(window) - DEFAULT.opens_at(window) == dt.timedelta(hours=22)

    def test_is_24_hours_long_when_clocks_fall_back(self) -> None:
        window = dt.date(2024, 11, 2)
        assert DEFAULT.closes_at(window) - DEFAULT.opens_at(window) == dt.timedelta(hours=24)

    def test_next_opening_between_windows_is_noon_the_same_day(self) -> None:
        assert DEFAULT.next_opening(chicago(2024, 9, 3, 11, 30)) == chicago(2024, 9, 3, 12, 0)

    def test_last_closed_is_the_window_of_the_day_before(self) -> None:
        assert DEFAULT.last_closed(chicago(2024, 9, 3, 11, 30)) == dt.date(2024, 9, 2)
        assert DEFAULT.last_closed(chicago(2024, 9, 3, 10, 30)) == dt.date(2024, 9, 1)


class TestWindowProperties:
    @given(schedules, instants)
    def test_an_open_window_contains_the_instant(
        self, schedule: WindowSchedule, instant: dt.datetime
    ) -> None:
        window = schedule.open_window(instant)
        if window is not None:
            assert schedule.opens_at(window) <= instant < schedule.closes_at(window)
        else:
            last = schedule.last_closed(instant)
            assert schedule.closes_at(last) <= instant < schedule.next_opening(instant)

    @given(schedules, st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)))
    def test_windows_never_overlap_and_never_run_backwards(
        self, schedule: WindowSchedule, window: dt.date
    ) -> None:
        opens, closes = schedule.opens_at(window), schedule.closes_at(window)
        assert opens < closes
        assert closes <= schedule.opens_at(window + dt.timedelta(days=1))

    @given(schedules, st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)))
    def test_a_window_is_open_from_its_opening_until_just_before_it_closes(
        self, schedule: WindowSchedule, window: dt.date
    ) -> None:
        assert schedule.open_window(schedule.opens_at(window)) == window
        just_before = schedule.closes_at(window) - dt.timedelta(microseconds=1)
        assert schedule.open_window(just_before) == window
        assert schedule.open_window(schedule.closes_at(window)) != window

    @given(schedules, instants)
    def test_next_opening_is_strictly_later_and_opens_a_window(
        self, schedule: WindowSchedule, instant: dt.datetime
    ) -> None:
        opening = schedule.next_opening(instant)
        assert opening > instant
        assert schedule.open_window(opening) is not None
