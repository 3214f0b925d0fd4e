"""The request intake's group commit: many requests, one transaction, one commit.

On the day a window opens, hundreds of thousands of families ask within minutes. Answered one
transaction each, every request waits for the database's write lock (SQLite) or the audit
chain's head row (PostgreSQL) and pays for its own commit. Here each process has one writer
thread: requests queue for it, and each time it is free it takes every request waiting (up to
``MAX_BATCH``), answers them all in one transaction (``appointments.service.enter_many``: one
statement per lookup for the whole batch, one INSERT, one audit append), commits once, and
only then answers each caller. Nothing is acknowledged before its commit, so every 201 is
durable (to the database's synchronous setting: puerta.db); a request that cannot be
committed is answered with the error, never dropped.

If a batch breaks a unique index (another process entered the same group or key in the
meantime), it is rolled back and each of its requests is answered on its own by
``make_request``, which handles exactly that race. Any other failure answers every request of
the batch with it (a 500 for the caller to retry with the same Idempotency-Key).

The thread starts on the first request and ends after ``IDLE_SECONDS`` without one, so an app
that is built and dropped (the tests build thousands) leaves nothing running.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from puerta.accounts.domain import InvalidToken, Role, require_role
from puerta.accounts.service import AccountView, accounts_for_tokens, token_hash
from puerta.appointments import domain
from puerta.appointments.service import Answer, Ask, enter_many, make_request
from puerta.audit.domain import OnBehalf
from puerta.errors import DomainError
from puerta.ratelimits.limiter import RateLimited
from puerta.ratelimits.storage import Hit
from puerta.runtime import Runtime

MAX_BATCH = 512
IDLE_SECONDS = 5.0
_REGISTRANT = frozenset({Role.REGISTRANT})


@dataclass(frozen=True)
class Asked:
    """One caller's request as it came: checked for shape (pydantic), not yet for meaning."""

    token: str
    key: str
    ports: list[str]
    lat: float
    lon: float
    standing: bool
    # The client's address, for the per-address rate limit (never stored: puerta.ratelimits).
    address: str | None = None


@dataclass(frozen=True)
class Answered:
    """The answer to one caller, and the caller's language for an error (None: unknown)."""

    answer: Answer
    language: str | None


@dataclass
class _Waiting:
    asked: Asked
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Answered]


class Intake:
    """One process's writer of requests (see the module's docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    async def ask(self, asked: Asked) -> Answered:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answered] = loop.create_future()
        self._queue.put(_Waiting(asked, loop, future))
        self._ensure_writer()
        return await future

    def _ensure_writer(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._write, name="puerta-intake", daemon=True
                )
                self._thread.start()

    def _write(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._answer(batch)

    def _answer(self, batch: list[_Waiting]) -> None:
        try:
            answers = answer_batch(self.runtime, [w.asked for w in batch])
        except Exception as failure:
            # Every caller learns of it (a 500, to retry with the same key); none waits forever.
            _settle(batch, functools.partial(_fail, failure))
            return
        by_waiting = dict(zip((id(w) for w in batch), answers, strict=True))
        _settle(batch, lambda w: w.future.set_result(by_waiting[id(w)]))


def _fail(failure: Exception, waiting: _Waiting) -> None:
    waiting.future.set_exception(failure)


def _settle(batch: list[_Waiting], settle: Callable[[_Waiting], None]) -> None:
    """Hand each answer to its caller's event loop (one wake-up per loop, not per caller)."""
    loops: dict[int, tuple[asyncio.AbstractEventLoop, list[_Waiting]]] = {}
    for waiting in batch:
        loops.setdefault(id(waiting.loop), (waiting.loop, []))[1].append(waiting)

    def settle_all(waitings: list[_Waiting]) -> None:
        for waiting in waitings:
            if not waiting.future.done():  # a caller that went away cancelled its future
                settle(waiting)

    for loop, waitings in loops.values():
        if not loop.is_closed():
            loop.call_soon_threadsafe(settle_all, waitings)


def answer_batch(runtime: Runtime, batch: Sequence[Asked]) -> list[Answered]:
    """Authenticate, check and enter a batch of requests in one transaction; commit."""
    answers: list[Answered | None] = [None] * len(batch)
    asks: list[tuple[int, Ask, str]] = []
    with runtime.uow() as uow:
        callers = accounts_for_tokens(
            uow.session, [token_hash(a.token) for a in batch], runtime.clock.now()
        )
        limited = _limited(runtime, uow.session.connection(), batch, callers)
        for place, asked in enumerate(batch):
            account = callers.get(token_hash(asked.token))
            try:
                if place in limited:
                    raise limited[place]
                asks.append((place, _ask(account, asked), _language(account)))
            except DomainError as refused:
                answers[place] = Answered(refused, _language(account) if account else None)
        try:
            entered = enter_many(
                uow.session, clock=runtime.clock, schedule=runtime.schedule, rng=runtime.rng,
                asks=[ask for _, ask, _ in asks],
            )  # fmt: skip
            uow.commit()
        except IntegrityError:
            uow.rollback()
            entered = [_alone(runtime, ask) for _, ask, _ in asks]
    for (place, _, language), answer in zip(asks, entered, strict=True):
        answers[place] = Answered(answer, language)
    return [a for a in answers if a is not None]


def _limited(
    runtime: Runtime, conn: Connection, batch: Sequence[Asked], callers: dict[str, AccountView]
) -> dict[int, RateLimited]:
    """The places of the batch's requests past a rate limit (per account and per address),
    counted in the batch's own transaction; requests without a live token are not counted
    here (they are refused 401)."""
    hits: list[tuple[int, Hit]] = []
    for place, asked in enumerate(batch):
        account = callers.get(token_hash(asked.token))
        if account is not None:
            found = runtime.limits.request_hits(account_id=account.id, address=asked.address)
            hits += [(place, hit) for hit in found]
    if not hits:
        return {}
    verdicts = runtime.limits.count_in(conn, [hit for _, hit in hits])
    waits: dict[int, int] = {}
    for (place, _), verdict in zip(hits, verdicts, strict=True):
        if not verdict.allowed:
            waits[place] = max(waits.get(place, 0), verdict.retry_after)
    return {place: RateLimited(seconds=seconds) for place, seconds in waits.items()}


def _language(account: AccountView | None) -> str:
    assert account is not None
    return account.language


def _ask(account: AccountView | None, asked: Asked) -> Ask:
    """The checks ``make_request``'s callers make before it, in the order the API makes them."""
    if account is None:
        raise InvalidToken()
    require_role(account.role, _REGISTRANT)
    on_behalf = None
    if account.acting_id is not None:
        on_behalf = OnBehalf(actor_id=account.acting_id, account_id=account.id)
    key = domain.check_idempotency_key(asked.key)  # before the ports, as make_request does
    return Ask(
        account_id=account.id, ports=domain.check_port_choices(asked.ports), lat=asked.lat,
        lon=asked.lon, key=key, standing=asked.standing, on_behalf=on_behalf,
    )  # fmt: skip


def _alone(runtime: Runtime, ask: Ask) -> Answer:
    """One ask answered in its own transaction, as a single request is."""
    acting = dataclasses.replace(runtime, acting=ask.on_behalf)
    try:
        return make_request(
            uow=acting.uow(), clock=runtime.clock, schedule=runtime.schedule,
            account_id=ask.account_id, ports=list(ask.ports), lat=ask.lat, lon=ask.lon,
            idempotency_key=ask.key, standing=ask.standing, rng=runtime.rng,
        )  # fmt: skip
    except DomainError as refused:
        return refused
