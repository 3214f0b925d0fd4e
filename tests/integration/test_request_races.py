"""Retries of one request racing each other on a real database, thread against thread."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from puerta.appointments import service
from puerta.appointments.tables import AppointmentRequest
from puerta.errors import DomainError
from puerta.runtime import Runtime
from tests.factories import TIJUANA, family_account

RETRIES = 20
ROUNDS = 5


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` in threads released at once; each call's result, or the error it raised."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except BaseException as error:  # compared below, so a failure is reported, not lost
            results[i] = error

    pool = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    return results


def retry(rt: Runtime, account: int, ports: list[str]) -> Callable[[], Any]:
    return lambda: service.make_request(
        uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account, ports=ports,
        idempotency_key="same-key", standing=False, rng=rt.rng, **TIJUANA,
    )  # fmt: skip


def outcome(result: Any) -> Any:
    """What a caller sees: the view without the replay flag, or the error's code."""
    if isinstance(result, service.RequestView):
        return dataclasses.replace(result, replayed=False)
    if isinstance(result, DomainError):
        return result.code
    return repr(result)


def stored(rt: Runtime, account: int) -> int:
    with rt.uow() as uow:
        query = select(func.count(AppointmentRequest.id))
        return uow.session.scalar(query.where(AppointmentRequest.account_id == account)) or 0


class TestConcurrentRetries:
    def test_every_retry_with_one_key_gets_the_first_answer(self, runtime: Runtime) -> None:
        for _ in range(ROUNDS):
            account = family_account(runtime)
            results = race([retry(runtime, account, ["san-ysidro"])] * RETRIES)
            outcomes = [outcome(r) for r in results]
            assert outcomes == [outcomes[0]] * RETRIES
            assert isinstance(results[0], service.RequestView)
            assert sum(not r.replayed for r in results) == 1
            assert stored(runtime, account) == 1

    def test_retries_with_one_key_and_other_ports_are_refused_as_a_reused_key(
        self, runtime: Runtime
    ) -> None:
        for _ in range(ROUNDS):
            account = family_account(runtime)
            calls = [retry(runtime, account, ["san-ysidro"]), retry(runtime, account, ["nogales"])]
            outcomes = [outcome(r) for r in race(calls * (RETRIES // 2))]
            firsts = [o for o in outcomes if isinstance(o, service.RequestView)]
            assert len({f.id for f in firsts}) == 1, outcomes
            refused = [o for o in outcomes if not isinstance(o, service.RequestView)]
            assert set(refused) == {"idempotency_key_reused"}, outcomes
            assert len(firsts) == RETRIES // 2
            assert stored(runtime, account) == 1
