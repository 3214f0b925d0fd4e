"""The rate-limit counters in the database: shared by every process, atomic under
concurrency, on SQLite and PostgreSQL, and the batch count the request intake uses."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, func, select

from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import make_engine
from puerta.jobs import tick
from puerta.ratelimits.limiter import Action, RateLimited, RateLimits
from puerta.ratelimits.storage import DatabaseStorage, Hit, count_in, purge_expired
from puerta.ratelimits.tables import RateCounter
from puerta.runtime import Runtime
from tests.conftest import OPEN_INSTANT

PER_MINUTE = RateLimitItemPerMinute(5)
_prefixes = itertools.count()


@pytest.fixture
def engines(database_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one database: what two app processes are to each other."""
    first, second = make_engine(database_url), make_engine(database_url)
    yield first, second
    first.dispose()
    second.dispose()


def stored_keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(RateCounter.key)))


class TestDatabaseStorage:
    def test_two_processes_share_one_count(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        one, two = (FixedWindowRateLimiter(DatabaseStorage(e, clock)) for e in engines)
        verdicts = [limiter.hit(PER_MINUTE, "verify", "who") for limiter in (one, two) * 4]
        assert verdicts == [True] * 5 + [False] * 3

    def test_threads_hitting_one_key_never_pass_more_than_the_limit(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        limit = RateLimitItemPerHour(25)
        allowed: list[bool] = []
        start = threading.Barrier(8)

        def worker(engine: Engine) -> None:
            limiter = FixedWindowRateLimiter(DatabaseStorage(engine, clock))
            start.wait()
            allowed.extend(limiter.hit(limit, "login", "one-address") for _ in range(10))

        threads = [threading.Thread(target=worker, args=(engines[i % 2],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(allowed) == 80 and allowed.count(True) == 25
        stats = FixedWindowRateLimiter(DatabaseStorage(engines[0], clock)).get_window_stats(
            limit, "login", "one-address"
        )
        assert stats.remaining == 0

    def test_a_window_opens_anew_once_its_period_is_over(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        limiter = FixedWindowRateLimiter(DatabaseStorage(engines[0], clock))
        for _ in range(5):
            assert limiter.hit(PER_MINUTE, "k")
        assert not limiter.hit(PER_MINUTE, "k")
        clock.advance(dt.timedelta(seconds=59))
        assert not limiter.hit(PER_MINUTE, "k")
        reset = limiter.get_window_stats(PER_MINUTE, "k").reset_time
        assert reset == pytest.approx(clock.now().timestamp() + 1)
        clock.advance(dt.timedelta(seconds=1))
        assert limiter.hit(PER_MINUTE, "k")
        assert limiter.get_window_stats(PER_MINUTE, "k").remaining == 4

    def test_clear_and_purge_remove_counters(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        engine = engines[0]
        limiter = FixedWindowRateLimiter(DatabaseStorage(engine, clock))
        limiter.hit(PER_MINUTE, "short")
        limiter.hit(RateLimitItemPerHour(5), "long")
        limiter.hit(PER_MINUTE, "cleared")
        limiter.clear(PER_MINUTE, "cleared")
        assert len(stored_keys(engine)) == 2
        clock.advance(dt.timedelta(minutes=1))
        assert purge_expired(engine, clock) == 1
        assert stored_keys(engine) == [RateLimitItemPerHour(5).key_for("long")]
        assert DatabaseStorage(engine, clock).check()


class TestCountIn:
    def test_counts_in_the_callers_transaction_and_goes_with_its_rollback(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        engine = engines[0]
        hits = [Hit("requests/a", PER_MINUTE), Hit("requests/b", PER_MINUTE)]
        with engine.connect() as conn:
            assert [v.allowed for v in count_in(conn, hits, now=clock.now())] == [True, True]
            conn.rollback()
        assert stored_keys(engine) == []
        with engine.begin() as conn:
            count_in(conn, hits * 5, now=clock.now())
        limiter = FixedWindowRateLimiter(DatabaseStorage(engines[1], clock))
        assert not limiter.hit(PER_MINUTE, "requests/a")  # the library reads the same counter

    def test_hits_on_one_key_in_a_batch_count_one_after_the_other(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        with engines[0].begin() as conn:
            verdicts = count_in(conn, [Hit("requests/a", PER_MINUTE)] * 7, now=clock.now())
        assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 2
        assert [v.retry_after for v in verdicts] == [0] * 5 + [60] * 2

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        batches=st.lists(
            st.tuples(
                st.integers(0, 90),
                st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(1, 3)),
                         max_size=8),
            ),
            max_size=6,
        )
    )  # fmt: skip
    def test_answers_what_the_librarys_fixed_window_answers_hit_by_hit(
        self,
        engines: tuple[Engine, Engine],
        batches: list[tuple[int, list[tuple[int, int, int]]]],
    ) -> None:
        clock = FixedClock(OPEN_INSTANT)
        prefix = f"p{next(_prefixes)}"
        limits: list[RateLimitItem] = [RateLimitItemPerMinute(4), RateLimitItemPerHour(7)]
        one_by_one = FixedWindowRateLimiter(DatabaseStorage(engines[1], clock))
        for seconds, batch in batches:
            clock.advance(dt.timedelta(seconds=seconds))
            hits = [Hit(f"{prefix}/{who}", limits[item], cost) for who, item, cost in batch]
            with engines[0].begin() as conn:
                batched = count_in(conn, [Hit("batch/" + h.key, h.limit, h.cost) for h in hits],
                                   now=clock.now())  # fmt: skip
            expected = [one_by_one.hit(h.limit, "alone/" + h.key, cost=h.cost) for h in hits]
            assert [v.allowed for v in batched] == expected


def limits_for(engine: Engine, clock: FixedClock, **rates: str) -> RateLimits:
    config = Settings(env="test", rate_limit_address_scale=1, rate_limit_account_scale=1, **rates)
    return RateLimits(settings=config, engine=engine, clock=clock, secret=lambda: b"s" * 32)


class TestRateLimits:
    def test_counts_per_address_and_per_account_under_keyed_hashes_only(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        limits = limits_for(
            engines[0], clock, rate_proofs_per_address="3/minute", rate_proofs_per_account="2/hour"
        )
        limits.check(Action.PROOFS, address="203.0.113.5", account_id=41)
        limits.check(Action.PROOFS, address="203.0.113.5", account_id=41)
        with pytest.raises(RateLimited) as refused:
            limits.check(Action.PROOFS, address="198.51.100.1", account_id=41)
        assert refused.value.params == {"seconds": 3600}
        limits.check(Action.PROOFS, address="203.0.113.5", account_id=42)
        with pytest.raises(RateLimited):
            limits.check(Action.PROOFS, address="203.0.113.5", account_id=43)
        keys = " ".join(stored_keys(engines[0]))
        assert "proofs/address:" in keys and "proofs/account:" in keys
        assert "203.0.113.5" not in keys and "/41/" not in keys

    def test_an_address_hashes_apart_in_each_action(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        limits = limits_for(engines[0], clock)
        limits.check(Action.LOGIN, address="203.0.113.5")
        limits.check(Action.INCIDENTS, address="203.0.113.5")
        hashes = {key.split(":")[1].split("/")[0] for key in stored_keys(engines[0])}
        assert len(hashes) == 2

    def test_the_request_intakes_hits_share_the_routes_counters(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        limits = limits_for(engines[0], clock, rate_requests_per_account="2/minute")
        limits.check(Action.REQUESTS, address="203.0.113.5", account_id=7)
        hits = limits.request_hits(account_id=7, address="203.0.113.5")
        with engines[1].begin() as conn:
            verdicts = limits.count_in(conn, hits + hits)
        # Per account: 2 a minute (1 used above); per address: 300 a minute.
        assert [v.allowed for v in verdicts] == [True, True, True, False]
        with engines[0].connect() as conn:
            assert conn.scalar(select(func.count()).select_from(RateCounter)) == 2

    def test_no_limit_configured_counts_nothing(
        self, engines: tuple[Engine, Engine], clock: FixedClock
    ) -> None:
        limits = limits_for(engines[0], clock, rate_verify_per_address="")
        for _ in range(20):
            limits.check(Action.VERIFY, address="203.0.113.5")
        assert stored_keys(engines[0]) == []


class TestJobs:
    def test_a_tick_deletes_the_ended_windows(self, runtime: Runtime, clock: FixedClock) -> None:
        runtime.limits.check(Action.VERIFY, address="203.0.113.5")  # a minute's, a day's
        tick(runtime)
        assert len(stored_keys(runtime.engine)) == 2
        clock.advance(dt.timedelta(minutes=1))
        tick(runtime)
        assert [key.rsplit("/", 1)[1] for key in stored_keys(runtime.engine)] == ["day"]
        clock.advance(dt.timedelta(days=1))
        tick(runtime)
        assert stored_keys(runtime.engine) == []
