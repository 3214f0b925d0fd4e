"""Properties of many draws in a row on a real database (SQLite), over random populations.

Each example registers families, lets them request (standing or not) over several windows,
runs every window's draw with random capacities, and has random families confirm, give up
or let their offers expire. After every step: no group holds two live appointments, and no
port-date holds more persons than its capacity.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from puerta.accounts.domain import Member
from puerta.appointments import booking, service
from puerta.appointments.domain import AlreadyRequested
from puerta.appointments.offers import expire_offers
from puerta.appointments.rules import LIVE, AlreadyScheduled
from puerta.appointments.tables import Appointment, CapacityPlan
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.draws.service import run_draw
from puerta.jobs import tick
from puerta.models import metadata
from puerta.runtime import Runtime, build_runtime
from tests.conftest import FAST_HASHER
from tests.factories import TIJUANA, family_account

SLUGS = ["san-ysidro", "calexico", "nogales"]
CDT = dt.timezone(dt.timedelta(hours=-5))


def world(seed: int, tmp: Path) -> Runtime:
    rt = build_runtime(
        Settings(env="test", database_url=f"sqlite:///{tmp / 'p.db'}", token_ttl_hours=72),
        clock=FixedClock(dt.datetime(2024, 9, 2, 13, 0, tzinfo=CDT)),
        hasher=FAST_HASHER,
        rng=random.Random(seed),
    )
    metadata.create_all(rt.engine)
    return rt


def check_invariants(rt: Runtime, capacity: dict[tuple[str, dt.date], int]) -> None:
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(Appointment.group_id, Appointment.port, Appointment.service_date,
                   Appointment.persons, Appointment.status, Appointment.freed_at)
        ).all()  # fmt: skip
    live = Counter(g for g, _, _, _, status, _ in rows if status in {s.value for s in LIVE})
    assert all(n <= 1 for n in live.values()), live
    held: Counter[tuple[str, dt.date]] = Counter()
    for _, port, day, persons, _, freed_at in rows:
        if freed_at is None:
            held[(port, day)] += persons
    for key, persons in held.items():
        assert persons <= capacity[key], (key, persons, capacity[key])


def try_request(rt: Runtime, account: int, ports: list[str], standing: bool, key: str) -> None:
    try:
        service.make_request(
            uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account, ports=ports,
            idempotency_key=key, standing=standing, rng=rt.rng, **TIJUANA,
        )  # fmt: skip
    except (AlreadyRequested, AlreadyScheduled):
        pass


def act_on_offer(rt: Runtime, account: int, action: str) -> None:
    try:
        if action == "confirm":
            booking.confirm_offer(
                uow=rt.uow(), clock=rt.clock, rng=rt.rng, schedule=rt.schedule,
                slots=rt.slots, account_id=account, **TIJUANA,
            )  # fmt: skip
        elif action == "cancel":
            booking.cancel_by_person(uow=rt.uow(), clock=rt.clock, account_id=account)
    except Exception as error:  # noqa: BLE001 - only domain refusals are expected here
        assert getattr(error, "code", None), error


families = st.lists(
    st.tuples(
        st.integers(1, 5),
        st.lists(st.sampled_from(SLUGS), min_size=1, max_size=3, unique=True),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


class TestManyDraws:
    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        families=families,
        seats=st.lists(st.integers(0, 8), min_size=9, max_size=9),
        actions=st.lists(st.sampled_from(["confirm", "cancel", "ignore"]), min_size=12,
                         max_size=12),
        seed=st.integers(0, 2**16),
    )  # fmt: skip
    def test_no_group_holds_two_live_appointments_and_no_port_is_overfilled(
        self, families: list[tuple[int, list[str], bool]], seats: list[int],
        actions: list[str], seed: int,
    ) -> None:  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            rt = world(seed, Path(tmp))
            try:
                self._run(rt, families, seats, actions)
            finally:
                rt.engine.dispose()

    def _run(
        self, rt: Runtime, families: list[tuple[int, list[str], bool]], seats: list[int],
        actions: list[str],
    ) -> None:  # fmt: skip
        clock = rt.clock
        assert isinstance(clock, FixedClock)
        accounts = []
        for size, _, _ in families:
            members = [Member(f"P{i}", "F", dt.date(1990, 1, 1), "HND", ()) for i in range(size)]
            accounts.append(family_account(rt, members))
        capacity: dict[tuple[str, dt.date], int] = {}
        for day in range(3):
            window = dt.date(2024, 9, 2) + dt.timedelta(days=day)
            tick(rt)
            for i, (account, (_, ports, standing)) in enumerate(
                zip(accounts, families, strict=True)
            ):
                try_request(rt, account, ports, standing, f"{day}-{i}")
            service_date = window + dt.timedelta(days=14)
            for j, slug in enumerate(SLUGS):
                service.set_capacity(
                    uow=rt.uow(), clock=clock, slug=slug, service_date=service_date,
                    seats=seats[day * 3 + j], actor_id=None,
                )  # fmt: skip
            clock.set(rt.schedule.closes_at(window) + dt.timedelta(minutes=5))
            run_draw(uow=rt.uow(), clock=clock, config=rt.draw_config, window=window, actor_id=None)
            capacity.update(self._capacity(rt, service_date))
            check_invariants(rt, capacity)
            for account, action in zip(accounts, actions, strict=False):
                act_on_offer(rt, account, action)
            clock.set(rt.schedule.opens_at(window + dt.timedelta(days=1)) + dt.timedelta(hours=23))
            expire_offers(uow=rt.uow(), clock=clock)
            check_invariants(rt, capacity)
            clock.set(rt.schedule.opens_at(window + dt.timedelta(days=1)) + dt.timedelta(minutes=1))

    @staticmethod
    def _capacity(rt: Runtime, day: dt.date) -> dict[tuple[str, dt.date], int]:
        """The seats of each port that day, plus what released seats added (from the draw)."""
        import json

        from puerta.draws.tables import Draw

        with rt.uow() as uow:
            query = select(CapacityPlan.port, CapacityPlan.seats)
            plans = dict(uow.session.execute(query.where(CapacityPlan.service_date == day)).all())
            params = json.loads(
                uow.session.scalar(select(Draw.params).where(Draw.service_date == day)) or "{}"
            )
        released = {slug: c["released"] for slug, c in params.get("capacity", {}).items()}
        return {(slug, day): plans.get(slug, 0) + released.get(slug, 0) for slug in plans}
