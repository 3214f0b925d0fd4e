"""A ``limits`` storage kept in puerta's own database, so that every app process shares counts.

It serves ``limits.strategies.FixedWindowRateLimiter``: a counter per key, opened by the key's
first hit for the limit's period. Each hit is one ``INSERT .. ON CONFLICT DO UPDATE ..
RETURNING`` statement, atomic on SQLite and PostgreSQL alike, so several processes hitting
one key never let more than the limit through. Time is the injected clock's, never
``time.time()``: the fixed-window strategy asks the storage for every instant it uses.

For a caller that counts inside its own transaction (the batched request intake)::

    count_in(conn: Connection, hits: Sequence[Hit], *, now: datetime) -> list[Verdict]

``Hit(key, limit, cost=1)``: ``key`` names what is counted and for whom (take the request
intake's from ``RateLimits.request_hits(account_id=..., address=...)``), ``limit`` is a
``limits.RateLimitItem``. Every hit is counted in one statement (per 2,000 distinct keys) in
``conn``'s transaction, which the caller commits or rolls back with its own writes. The
answer is one ``Verdict(allowed, retry_after)`` per hit, in order, exactly what
``FixedWindowRateLimiter.hit`` would have answered for each hit in turn (several hits on one
key in a batch count one after the other); ``retry_after`` is in seconds, 0 when allowed.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from limits import RateLimitItem
from limits.storage import Storage
from sqlalchemy import Connection, Double, Engine, Table, bindparam, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from puerta.clock import Clock
from puerta.ratelimits.tables import RateCounter

COUNTERS = cast(Table, RateCounter.__table__)


@dataclass(frozen=True)
class Hit:
    """One use of ``limit`` by ``key`` (an action and a keyed hash of who acts)."""

    key: str
    limit: RateLimitItem
    cost: int = 1


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


def retry_after(reset_at: float, now: float) -> int:
    """Whole seconds until ``reset_at``, at least 1 (a Retry-After of 0 invites a loop)."""
    return max(1, math.ceil(reset_at - now))


def _upsert(
    conn: Connection, rows: Sequence[tuple[str, int, int]], now: float
) -> dict[str, tuple[int, float]]:
    """Add each (key, amount, period) to its counter, a new window where the old has ended;
    returns each key's (count, window end). Keys in order, so two batches lock alike.

    One statement, compiled once per database and run for all the rows at once (SQLAlchemy's
    "insertmanyvalues": a few multi-row INSERTs); the request intake counts every batch
    here, so a statement built anew for each batch cost as much as running it."""
    ordered = sorted(rows)
    if not ordered:
        return {}
    params = [
        {"key": k, "count": n, "expires_at": now + period, "now": now} for k, n, period in ordered
    ]
    result = conn.execute(
        _statement(conn.dialect.name).returning(
            COUNTERS.c.key, COUNTERS.c["count"], COUNTERS.c.expires_at,
            sort_by_parameter_order=True,
        ),
        params,
    )  # fmt: skip
    return {key: (count, ends) for key, count, ends in result}


@functools.cache
def _statement(dialect: str) -> Any:
    if dialect == "postgresql":
        insert: Any = postgresql.insert(COUNTERS)
    elif dialect == "sqlite":
        insert = sqlite.insert(COUNTERS)
    else:
        raise NotImplementedError(f"rate limits need SQLite or PostgreSQL, not {dialect}")
    ended = COUNTERS.c.expires_at <= bindparam("now", type_=Double())
    return insert.on_conflict_do_update(
        index_elements=[COUNTERS.c.key],
        set_={
            "count": case(
                (ended, insert.excluded["count"]),
                else_=COUNTERS.c["count"] + insert.excluded["count"],
            ),
            "expires_at": case((ended, insert.excluded.expires_at), else_=COUNTERS.c.expires_at),
        },
    )


def count_in(conn: Connection, hits: Sequence[Hit], *, now: dt.datetime) -> list[Verdict]:
    """Count ``hits`` in ``conn``'s transaction, in one statement; a verdict for each."""
    at = now.timestamp()
    keyed = [(hit.limit.key_for(hit.key), hit) for hit in hits]
    totals: dict[str, int] = {}
    periods: dict[str, int] = {}
    for counter, hit in keyed:
        totals[counter] = totals.get(counter, 0) + hit.cost
        periods[counter] = hit.limit.get_expiry()
    stored = _upsert(conn, [(k, n, periods[k]) for k, n in totals.items()], at)
    counted: dict[str, int] = {}
    verdicts = []
    for counter, hit in keyed:
        count, ends = stored[counter]
        counted[counter] = counted.get(counter, 0) + hit.cost
        # The counter as it stood right after this hit, had the hits come one by one.
        after = count - totals[counter] + counted[counter]
        allowed = after <= hit.limit.amount
        verdicts.append(Verdict(allowed, 0 if allowed else retry_after(ends, at)))
    return verdicts


class DatabaseStorage(Storage):
    """``limits``' storage interface over the ``rate_counters`` table.

    Bound to an engine, each call is its own transaction; bound to a connection, calls run
    in that connection's transaction, and the caller commits.
    """

    STORAGE_SCHEME = None

    def __init__(self, bind: Engine | Connection, clock: Clock) -> None:
        super().__init__()
        self._bind = bind
        self._clock = clock

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if isinstance(self._bind, Connection):
            yield self._bind
            return
        with self._bind.begin() as conn:
            yield conn

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _row(self, key: str) -> tuple[int, float] | None:
        """The key's (count, window end) while its window lasts."""
        query = select(COUNTERS.c["count"], COUNTERS.c.expires_at).where(COUNTERS.c.key == key)
        with self._connection() as conn:
            row = conn.execute(query).first()
        if row is None or row.expires_at <= self._now():
            return None
        return int(row[0]), float(row[1])

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._connection() as conn:
            return _upsert(conn, [(key, amount, expiry)], self._now())[key][0]

    def get(self, key: str) -> int:
        row = self._row(key)
        return 0 if row is None else row[0]

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return self._now() if row is None else row[1]

    def check(self) -> bool:
        try:
            with self._connection() as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._connection() as conn:
            return conn.execute(delete(COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        with self._connection() as conn:
            conn.execute(delete(COUNTERS).where(COUNTERS.c.key == key))


def purge_expired(engine: Engine, clock: Clock) -> int:
    """Delete the counters whose window has ended; how many went."""
    with engine.begin() as conn:
        gone = conn.execute(
            delete(COUNTERS).where(COUNTERS.c.expires_at <= clock.now().timestamp())
        )
    return gone.rowcount
