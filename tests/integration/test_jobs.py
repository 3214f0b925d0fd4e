"""The periodic job: commitments, expiry and delivery in one tick."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from puerta.clock import FixedClock
from puerta.draws.service import window_status
from puerta.jobs import run_periodically, tick
from puerta.runtime import Runtime
from tests.integration.helpers import AFTER_CLOSE, draw, requesting_family


class TestTick:
    def test_commits_the_open_window_before_anyone_requests(self, runtime: Runtime) -> None:
        assert tick(runtime).window_committed
        status = window_status(uow=runtime.uow(), clock=runtime.clock, schedule=runtime.schedule)
        assert status.secret_hash is not None

    def test_expires_overdue_offers_and_sends_what_is_due(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        requesting_family(runtime, ["nogales"])
        clock.set(AFTER_CLOSE)
        draw(runtime)
        first = tick(runtime)
        assert (first.offers_expired, first.notifications_sent) == (0, 1)
        clock.advance(dt.timedelta(hours=23))
        later = tick(runtime)
        assert (later.offers_expired, later.notifications_sent) == (1, 1)
        assert tick(runtime).notifications_sent == 0


class TestRunPeriodically:
    def test_keeps_ticking_after_a_failure_and_stops_when_told(
        self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[int] = []
        stop = threading.Event()

        def failing_tick(rt: Runtime) -> None:
            calls.append(1)
            if len(calls) >= 3:
                stop.set()
            raise RuntimeError("database away")

        monkeypatch.setattr("puerta.jobs.tick", failing_tick)
        monkeypatch.setattr(runtime.settings, "jobs_interval_seconds", 0.01)
        run_periodically(runtime, stop)
        assert len(calls) == 3
