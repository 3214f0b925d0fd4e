"""`puerta demo` (`make run` loads it every time): safe to run again at any hour and any stage."""

from __future__ import annotations

import datetime as dt

from puerta.clock import FixedClock
from puerta.demo import FAMILIES, load_demo
from puerta.draws.service import run_draw
from puerta.runtime import Runtime

CDT = dt.timezone(dt.timedelta(hours=-5))
WINDOW = dt.date(2024, 9, 2)


def demo_lines(runtime: Runtime) -> list[str]:
    return [line.strip() for line in load_demo(runtime) if line.startswith("  ")]


class TestLoadDemo:
    def test_each_family_requests_once_in_the_open_window(self, runtime: Runtime) -> None:
        assert demo_lines(runtime) == [
            "request in window 2024-09-02 for san-ysidro, calexico",
            "request in window 2024-09-02 for el-paso",
            "request in window 2024-09-02 for brownsville, hidalgo, laredo",
        ]

    def test_running_again_later_in_the_same_window_replays_the_requests(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        first = demo_lines(runtime)
        clock.set(dt.datetime(2024, 9, 2, 20, 0, tzinfo=CDT))  # the next day in UTC
        assert demo_lines(runtime) == first

    def test_says_when_requests_open_while_the_window_is_closed(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
        closed = "no request: requests are closed until 2024-09-03 12:00 America/Chicago"
        assert demo_lines(runtime) == [closed] * len(FAMILIES)

    def test_says_a_family_already_waits_for_a_draw(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        demo_lines(runtime)
        clock.set(dt.datetime(2024, 9, 3, 13, 0, tzinfo=CDT))  # the next window, not yet drawn
        waiting = "no new request: it already has one waiting for a draw"
        assert demo_lines(runtime) == [waiting] * len(FAMILIES)

    def test_running_again_after_the_draw_keeps_the_groups_and_their_offers(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        demo_lines(runtime)
        clock.set(dt.datetime(2024, 9, 3, 12, 30, tzinfo=CDT))
        run_draw(
            uow=runtime.uow(), clock=clock, config=runtime.draw_config, window=WINDOW, actor_id=None
        )
        offered = "no new request: it already has an offer or an appointment"
        assert demo_lines(runtime) == [offered] * len(FAMILIES)
