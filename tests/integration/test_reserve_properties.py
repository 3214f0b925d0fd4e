"""The draw's reserve share goes to approved exceptions only, and to them first.

Each example registers families, has a random part of them screened, their exceptions
approved (some then denied again) through the vulnerability use cases, lets every family
request, and runs the window's draw through the real service. Then every group selected
in the reserve share holds an approval, and no approved group was passed over in the
reserve while the reserve seats left at one of its ports could have held it.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from puerta.appointments import service as appointments
from puerta.appointments.tables import Appointment
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.draws.domain import DrawParams
from puerta.draws.service import run_draw
from puerta.models import metadata
from puerta.runtime import Runtime, build_runtime
from puerta.vulnerability.domain import Decision
from tests.conftest import FAST_HASHER
from tests.factories import TIJUANA
from tests.integration.helpers import plan
from tests.integration.vulnerability_helpers import (
    approved_family,
    decide,
    screened_family,
)

SLUGS = ["nogales", "calexico"]
CDT = dt.timezone(dt.timedelta(hours=-5))
SERVICE_DATE = dt.date(2024, 9, 16)
RESERVE_SHARE = 0.3


def world(seed: int, tmp: Path) -> Runtime:
    rt = build_runtime(
        Settings(
            env="test",
            database_url=f"sqlite:///{tmp / 'r.db'}",
            token_ttl_hours=72,
            reserve_share=RESERVE_SHARE,
        ),  # fmt: skip
        clock=FixedClock(dt.datetime(2024, 9, 2, 13, 0, tzinfo=CDT)),
        hasher=FAST_HASHER,
        rng=random.Random(seed),
    )
    metadata.create_all(rt.engine)
    return rt


# (size, ports named, what becomes of its exception)
families = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.lists(st.sampled_from(SLUGS), min_size=1, max_size=2, unique=True),
        st.sampled_from(["none", "approved", "revoked", "pending"]),
    ),
    min_size=1,
    max_size=10,
)


def family(rt: Runtime, size: int, fate: str) -> tuple[int, bool]:
    """The account, and whether its group holds an approval when the draw runs."""
    if fate == "none":
        return screened_family(rt, [], size=size), False
    if fate == "pending":
        return screened_family(rt, ["disability"], size=size), False
    account, case, worker = approved_family(rt, ["pregnant"], size=size)
    if fate == "revoked":
        decide(rt, case, worker, Decision.DENY, "The papers did not match")
    return account, fate == "approved"


class TestTheReserveShare:
    @settings(max_examples=15, deadline=None)
    @given(families=families, seats=st.lists(st.integers(0, 12), min_size=2, max_size=2),
           seed=st.integers(0, 2**16))  # fmt: skip
    def test_goes_to_approved_groups_only_and_to_them_first(
        self, families: list[tuple[int, list[str], str]], seats: list[int], seed: int
    ) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            rt = world(seed, Path(tmp))
            try:
                self._check(rt, families, seats)
            finally:
                rt.engine.dispose()

    def _check(
        self, rt: Runtime, families: list[tuple[int, list[str], str]], seats: list[int]
    ) -> None:
        entered: dict[int, tuple[int, list[str], bool]] = {}
        for i, (size, ports, fate) in enumerate(families):
            account, approved = family(rt, size, fate)
            appointments.make_request(
                uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account,
                ports=ports, idempotency_key=f"k{i}", standing=False, rng=rt.rng, **TIJUANA,
            )  # fmt: skip
            entered[account] = (size, ports, approved)
        for slug, count in zip(SLUGS, seats, strict=True):
            plan(rt, slug, count, SERVICE_DATE)
        assert isinstance(rt.clock, FixedClock)
        rt.clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
        view = run_draw(
            uow=rt.uow(), clock=rt.clock, config=rt.draw_config, window=dt.date(2024, 9, 2),
            actor_id=None,
        )  # fmt: skip
        with rt.uow() as uow:
            offers = uow.session.execute(
                select(Appointment.account_id, Appointment.port, Appointment.share)
            ).all()
        reserve = {account: port for account, port, share in offers if share == "reserve"}
        assert all(entered[account][2] for account in reserve), (
            "a reserve seat went to a group without an approval"
        )
        pools = {
            slug: DrawParams(RESERVE_SHARE).pools(n)["reserve"]
            for slug, n in zip(SLUGS, seats, strict=True)
        }
        left = {slug: pools[slug] - view.summary["by_port"][slug]["reserve"] for slug in SLUGS}
        for account, (size, ports, approved) in entered.items():
            if approved and account not in reserve:
                assert all(size > left[port] for port in ports), (account, size, ports, left)
