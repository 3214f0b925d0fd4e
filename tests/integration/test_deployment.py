"""What the workers of one deployment share through its database: the key, the jobs lease,
and tick work that two processes running at once never do twice."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select

from puerta.appointments.offers import expire_offers
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.deployment import hold_lease, release_lease
from puerta.jobs import LEASE_INTERVALS, tick, tick_if_holder
from puerta.models import metadata
from puerta.notifications.service import LogNotifier
from puerta.notifications.tables import Notification
from puerta.runtime import Runtime, build_runtime
from tests.conftest import FAST_HASHER
from tests.integration.helpers import AFTER_CLOSE, draw, requesting_family

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def other(settings: Settings, clock: FixedClock) -> Iterator[Runtime]:
    """A second worker on the same database: its own runtime, as another process has."""
    rt = build_runtime(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(8))
    yield rt
    rt.engine.dispose()


class TestSharedKey:
    def test_two_workers_sign_with_the_same_generated_key(
        self, runtime: Runtime, other: Runtime
    ) -> None:
        assert runtime.keys.signing() == other.keys.signing()
        assert len(runtime.keys.signing()) == 32

    def test_a_generated_key_does_not_come_from_the_seeded_randomness(self, tmp_path: Any) -> None:
        # Tests and demos seed the runtime's rng; a key drawn from it could be guessed.
        keys = []
        for name in ("one", "two"):
            url = f"sqlite:///{tmp_path / name}.db"
            rt = build_runtime(
                Settings(env="test", database_url=url), hasher=FAST_HASHER, rng=random.Random(7)
            )
            metadata.create_all(rt.engine)
            keys.append(rt.keys.signing())
            rt.engine.dispose()
        assert keys[0] != keys[1]

    def test_the_configured_key_is_used_when_set(self, settings: Settings) -> None:
        configured = settings.model_copy(update={"secret_key": "k" * 32})
        rt = build_runtime(configured, hasher=FAST_HASHER)
        assert rt.keys.signing() == b"k" * 32
        rt.engine.dispose()


class TestJobLease:
    def test_only_the_holder_gets_it_until_it_expires(self, runtime: Runtime) -> None:
        now = runtime.clock.now()

        def hold(holder: str, at: dt.datetime) -> bool:
            return hold_lease(uow=runtime.uow(), name="jobs", holder=holder, now=at, ttl=MINUTE)

        assert hold("a", now)
        assert not hold("b", now)
        assert hold("a", now + MINUTE / 2)  # renewed, so still a's a minute later
        assert not hold("b", now + MINUTE)
        assert hold("b", now + 2 * MINUTE)
        assert not hold("a", now + 2 * MINUTE)

    def test_a_released_lease_is_free_at_once(self, runtime: Runtime) -> None:
        now = runtime.clock.now()
        assert hold_lease(uow=runtime.uow(), name="jobs", holder="a", now=now, ttl=MINUTE)
        release_lease(uow=runtime.uow(), name="jobs", holder="a")
        assert hold_lease(uow=runtime.uow(), name="jobs", holder="b", now=now, ttl=MINUTE)


class TestTickIfHolder:
    def test_exactly_one_worker_ticks_each_interval_and_another_takes_over(
        self, runtime: Runtime, other: Runtime, clock: FixedClock
    ) -> None:
        interval = dt.timedelta(seconds=runtime.settings.jobs_interval_seconds)
        ticked: list[tuple[bool, bool]] = []
        for _ in range(4):
            ticked.append((tick_if_holder(runtime) is not None, tick_if_holder(other) is not None))
            clock.advance(interval)
        assert ticked == [(True, False)] * 4
        # The first worker stops; once its lease has run out, the other ticks.
        clock.advance(interval * LEASE_INTERVALS)
        assert tick_if_holder(other) is not None
        assert tick_if_holder(runtime) is None


def _offer_expired_notes(rt: Runtime) -> int:
    with rt.uow() as uow:
        kind = Notification.kind == "offer_expired"
        return uow.session.scalar(select(func.count()).where(kind)) or 0


class TestTickWorkRunsOnceWhenTwoRunAtOnce:
    def test_an_offer_is_expired_and_announced_once(
        self, runtime: Runtime, other: Runtime, clock: FixedClock
    ) -> None:
        requesting_family(runtime, ["nogales"])
        clock.set(AFTER_CLOSE)
        draw(runtime)
        clock.advance(dt.timedelta(hours=24))
        second = _Second(lambda: expire_offers(uow=other.uow(), clock=other.clock))

        def race(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE APPOINTMENTS"):
                second.start_once()  # the other worker expires while this one has not committed

        event.listen(runtime.engine, "after_cursor_execute", race)
        expired_here = expire_offers(uow=runtime.uow(), clock=runtime.clock)
        event.remove(runtime.engine, "after_cursor_execute", race)
        second.join()
        assert expired_here + second.result == 1
        assert _offer_expired_notes(runtime) == 1

    def test_a_notification_is_sent_once(
        self, runtime: Runtime, other: Runtime, clock: FixedClock
    ) -> None:
        requesting_family(runtime, ["nogales"])
        clock.set(AFTER_CLOSE)
        draw(runtime)
        notifier = _RacingNotifier(_Second(lambda: tick(other).notifications_sent))
        runtime.notifier = other.notifier = notifier
        tick(runtime)
        notifier.second.join()
        assert len(notifier.sent) == 1


class _Second:
    """The other worker's call, started once from inside the first worker's transaction.

    The first waits a moment for it: without a lock it finishes (and does the work twice);
    with one it waits for the first to commit."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.result = 0

    def _run(self) -> None:
        self.result = self._call()
        self._done.set()

    def start_once(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run)
            self._thread.start()
            self._done.wait(timeout=1.5)

    def join(self) -> None:
        assert self._thread is not None, "the second worker never started"
        self._thread.join()


class _RacingNotifier(LogNotifier):
    def __init__(self, second: _Second) -> None:
        self.sent: list[int] = []
        self.second = second

    def send(self, *, to: str, subject: str, body: str, notification_id: int, kind: str) -> None:
        self.sent.append(notification_id)
        self.second.start_once()  # the other worker delivers while this send is not committed
