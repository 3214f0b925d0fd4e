"""Shortcuts for integration tests: requests, draws and offers through the services."""

from __future__ import annotations

import datetime as dt

from puerta.accounts.domain import Member
from puerta.appointments import service
from puerta.appointments.booking import AppointmentView, confirm_offer
from puerta.draws.service import DrawView, run_draw
from puerta.runtime import Runtime
from tests.factories import TIJUANA, family_account

WINDOW = dt.date(2024, 9, 2)
AFTER_CLOSE = dt.datetime(2024, 9, 3, 16, 30, tzinfo=dt.UTC)  # 11:30 in Chicago


def requesting_family(
    rt: Runtime, ports: list[str], *, size: int = 1, standing: bool = False, key: str = "k"
) -> int:
    members = [
        Member(f"P{i}", "Family", dt.date(1990, 1, 1 + i), "HND", ("es",)) for i in range(size)
    ]
    account = family_account(rt, members)
    service.make_request(
        uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account, ports=ports,
        idempotency_key=key, standing=standing, rng=rt.rng, **TIJUANA,
    )  # fmt: skip
    return account


def draw(rt: Runtime, window: dt.date = WINDOW) -> DrawView:
    return run_draw(
        uow=rt.uow(), clock=rt.clock, config=rt.draw_config, window=window, actor_id=None
    )


def confirm(rt: Runtime, account: int) -> AppointmentView:
    return confirm_offer(
        uow=rt.uow(), clock=rt.clock, rng=rt.rng, schedule=rt.schedule, slots=rt.slots,
        account_id=account, **TIJUANA,
    )  # fmt: skip


def plan(rt: Runtime, slug: str, seats: int, day: dt.date = dt.date(2024, 9, 16)) -> None:
    service.set_capacity(
        uow=rt.uow(), clock=rt.clock, slug=slug, service_date=day, seats=seats, actor_id=None
    )
