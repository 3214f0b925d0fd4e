"""Properties of many draws in a row on a real database (SQLite), over random populations.

Each example registers families, lets them request (standing or not) over several windows,
runs every window's draw with random capacities, and has random families confirm, give up
or let their offers expire. Every step is checked against what it should have done: each
request made or refused for the reason the family's state gives; each draw entering every
pending request, offering a group only seats at a port it named, and leaving no seat empty
that a group it passed over could have filled; each open offer confirmed or cancelled when
asked, and every unanswered one expired. After every step: no group holds two live
appointments, and no port-date holds more persons than its capacity.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from puerta.accounts.domain import Member
from puerta.accounts.tables import Group
from puerta.appointments import booking, service
from puerta.appointments.domain import AlreadyRequested, RequestStatus
from puerta.appointments.offers import expire_offers
from puerta.appointments.rules import LIVE, AlreadyScheduled, AppointmentStatus
from puerta.appointments.tables import Appointment, AppointmentRequest, CapacityPlan
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.draws.service import DrawView, run_draw
from puerta.draws.tables import Draw
from puerta.errors import DomainError
from puerta.jobs import tick
from puerta.models import metadata
from puerta.runtime import Runtime, build_runtime
from tests.conftest import FAST_HASHER
from tests.factories import TIJUANA, family_account

SLUGS = ["san-ysidro", "calexico", "nogales"]
CDT = dt.timezone(dt.timedelta(hours=-5))
LIVE_STATUSES = {s.value for s in LIVE}
Entered = dict[int, tuple[int, list[str]]]  # account: (persons, ports named)


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
    live = Counter(g for g, _, _, _, status, _ in rows if status in LIVE_STATUSES)
    assert all(n <= 1 for n in live.values()), live
    held: Counter[tuple[str, dt.date]] = Counter()
    for _, port, day, persons, _, freed_at in rows:
        if freed_at is None:
            held[(port, day)] += persons
    for key, persons in held.items():
        assert persons <= capacity[key], (key, persons, capacity[key])


def latest_status(rt: Runtime, account: int) -> str | None:
    """The status of the account's latest offer or appointment, None if it never had one."""
    with rt.uow() as uow:
        return uow.session.scalar(
            select(Appointment.status).where(Appointment.account_id == account)
            .order_by(Appointment.id.desc()).limit(1)
        )  # fmt: skip


def expected_refusal(rt: Runtime, account: int) -> type[DomainError] | None:
    """Why a request would be refused: a live offer or appointment, or a standing request
    still waiting for a draw; None if it should be made."""
    req = AppointmentRequest
    with rt.uow() as uow:
        waiting = uow.session.scalar(
            select(req.id).where(req.account_id == account, req.standing.is_(True),
                                 req.status == RequestStatus.PENDING.value).limit(1)
        )  # fmt: skip
    if latest_status(rt, account) in LIVE_STATUSES:
        return AlreadyScheduled
    return AlreadyRequested if waiting is not None else None


def request(rt: Runtime, account: int, ports: list[str], standing: bool, key: str) -> None:
    refusal = expected_refusal(rt, account)
    try:
        service.make_request(
            uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account, ports=ports,
            idempotency_key=key, standing=standing, rng=rt.rng, **TIJUANA,
        )  # fmt: skip
    except DomainError as error:
        assert refusal is not None and isinstance(error, refusal), (refusal, error)
    else:
        assert refusal is None, f"the request was made despite {refusal}"


def answer_offer(rt: Runtime, account: int, action: str) -> None:
    """Confirm or cancel: done if the latest offer is open (or, to cancel, live), else refused."""
    status = latest_status(rt, account)
    try:
        if action == "confirm":
            view = booking.confirm_offer(
                uow=rt.uow(), clock=rt.clock, rng=rt.rng, schedule=rt.schedule,
                slots=rt.slots, account_id=account, **TIJUANA,
            )  # fmt: skip
            assert status == AppointmentStatus.OFFERED and view.confirmation_number
        else:
            booking.cancel_by_person(uow=rt.uow(), clock=rt.clock, account_id=account)
            assert status in LIVE_STATUSES
        assert latest_status(rt, account) == {"confirm": "confirmed", "cancel": "cancelled"}[action]
    except DomainError as error:
        refused = {"confirm": status != AppointmentStatus.OFFERED,
                   "cancel": status not in LIVE_STATUSES}[action]  # fmt: skip
        assert refused, (action, status, error)


def entered(rt: Runtime, window: dt.date) -> Entered:
    """The pending requests a draw of ``window`` must enter, by account."""
    req = AppointmentRequest
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(req.account_id, Group.size, req.port_1, req.port_2, req.port_3)
            .join(Group, Group.id == req.group_id)
            .where(req.status == RequestStatus.PENDING.value, req.window <= window)
        ).all()  # fmt: skip
    return {account: (size, [p for p in ports if p]) for account, size, *ports in rows}


def check_draw(rt: Runtime, view: DrawView, entries: Entered) -> None:
    """Every entry entered; offers only at a named port, for the whole group; and no group
    passed over that would have fitted in the seats left at one of its ports."""
    with rt.uow() as uow:
        offers = uow.session.execute(
            select(Appointment.account_id, Appointment.port, Appointment.persons)
            .join(Draw, Draw.id == Appointment.draw_id).where(Draw.window == view.window)
        ).all()  # fmt: skip
    assert view.entries == len(entries)
    assert len(offers) == view.summary["groups_selected"] == len({a for a, _, _ in offers})
    for account, port, persons in offers:
        assert port in entries[account][1] and persons == entries[account][0]
    by_port = view.summary["by_port"]
    left = {slug: by_port[slug]["seats"] - sum(by_port[slug][share] for share in
            ("reserve", "seniority", "lottery")) for slug in SLUGS}  # fmt: skip
    offered = {account for account, _, _ in offers}
    for account, (persons, ports) in entries.items():
        if account not in offered:
            assert all(persons > left[port] for port in ports), (account, persons, left)


def expire(rt: Runtime, accounts: list[int]) -> None:
    """Past the deadline every offer still open expires, and only those."""
    with rt.uow() as uow:
        open_offers = uow.session.scalars(
            select(Appointment.id).where(Appointment.status == AppointmentStatus.OFFERED.value)
        ).all()
    assert expire_offers(uow=rt.uow(), clock=rt.clock) == len(open_offers)
    assert all(latest_status(rt, a) != AppointmentStatus.OFFERED for a in accounts)


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
    def test_each_step_does_what_the_state_says_and_no_port_is_overfilled(
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
        accounts = []
        for size, _, _ in families:
            members = [Member(f"P{i}", "F", dt.date(1990, 1, 1), "HND", ()) for i in range(size)]
            accounts.append(family_account(rt, members))
        capacity: dict[tuple[str, dt.date], int] = {}
        for day in range(3):
            self._day(rt, day, accounts, families, seats[day * 3 : day * 3 + 3], actions, capacity)

    def _day(
        self, rt: Runtime, day: int, accounts: list[int],
        families: list[tuple[int, list[str], bool]], seats: list[int], actions: list[str],
        capacity: dict[tuple[str, dt.date], int],
    ) -> None:  # fmt: skip
        """One window: requests, its draw, answers to the offers, then their deadline."""
        clock = rt.clock
        assert isinstance(clock, FixedClock)
        window = dt.date(2024, 9, 2) + dt.timedelta(days=day)
        tick(rt)
        for i, (account, (_, ports, standing)) in enumerate(zip(accounts, families, strict=True)):
            request(rt, account, ports, standing, f"{day}-{i}")
        service_date = window + dt.timedelta(days=14)
        self._plan(rt, service_date, seats)
        clock.set(rt.schedule.closes_at(window) + dt.timedelta(minutes=5))
        entries = entered(rt, window)
        view = run_draw(
            uow=rt.uow(), clock=clock, config=rt.draw_config, window=window, actor_id=None
        )
        check_draw(rt, view, entries)
        capacity.update(self._capacity(rt, service_date))
        check_invariants(rt, capacity)
        for account, action in zip(accounts, actions, strict=False):
            if action != "ignore":
                answer_offer(rt, account, action)
        clock.set(rt.schedule.opens_at(window + dt.timedelta(days=1)) + dt.timedelta(hours=23))
        expire(rt, accounts)
        check_invariants(rt, capacity)
        clock.set(rt.schedule.opens_at(window + dt.timedelta(days=1)) + dt.timedelta(minutes=1))

    @staticmethod
    def _plan(rt: Runtime, service_date: dt.date, seats: list[int]) -> None:
        for slug, count in zip(SLUGS, seats, strict=True):
            service.set_capacity(
                uow=rt.uow(), clock=rt.clock, slug=slug, service_date=service_date,
                seats=count, actor_id=None,
            )  # fmt: skip

    @staticmethod
    def _capacity(rt: Runtime, day: dt.date) -> dict[tuple[str, dt.date], int]:
        """The seats of each port that day, plus what released seats added (from the draw)."""
        with rt.uow() as uow:
            query = select(CapacityPlan.port, CapacityPlan.seats)
            plans = dict(uow.session.execute(query.where(CapacityPlan.service_date == day)).all())
            params = json.loads(
                uow.session.scalar(select(Draw.params).where(Draw.service_date == day)) or "{}"
            )
        released = {slug: c["released"] for slug, c in params.get("capacity", {}).items()}
        return {(slug, day): plans.get(slug, 0) + released.get(slug, 0) for slug in plans}
