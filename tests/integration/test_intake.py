"""The request intake's group commit (puerta.web.intake): a batch answers as one-by-one would.

The batch path reads each fact once for all its requests and writes them in one INSERT, so
its correctness rests on reproducing, for every request, what ``make_request`` decides alone.
A property test runs random batches against a copy of the same database answered one by one;
a race runs batches of two "processes" (two engines) over the same groups at once; and over
HTTP, concurrent requests share commits, and none is answered before its commit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from puerta.accounts.domain import Member, Role, require_role
from puerta.accounts.service import account_for_token, log_in
from puerta.accounts.tables import Account
from puerta.appointments import service
from puerta.appointments.tables import AppointmentRequest
from puerta.config import Settings
from puerta.db import Base, UnitOfWork
from puerta.errors import DomainError
from puerta.runtime import Runtime, build_runtime
from puerta.web.app import create_app
from puerta.web.intake import Asked, answer_batch
from tests.conftest import FAST_HASHER
from tests.factories import PASSWORD, TIJUANA, family_account, staff

OUTSIDE = {"lat": 14.6349, "lon": -90.5069}  # Guatemala City: outside every geofence
MEXICAN = [Member("Luz", "Ramos", dt.date(1990, 5, 1), "MEX", ("es",))]


def _runtime(url: str, clock: Any) -> Runtime:
    return build_runtime(
        Settings(env="test", database_url=url, token_ttl_hours=72), clock=clock,
        hasher=FAST_HASHER, rng=random.Random(7),
    )  # fmt: skip


def _token(rt: Runtime, account_id: int) -> str:
    with rt.uow() as uow:
        username = uow.session.scalar(select(Account.username).where(Account.id == account_id))
    assert username is not None
    token, _ = log_in(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=username, password=PASSWORD,
        ttl=dt.timedelta(days=3),
    )  # fmt: skip
    return token


@dataclasses.dataclass
class Template:
    path: Path
    tokens: list[str]


@pytest.fixture
def template(tmp_path: Path, clock: Any) -> Iterator[Template]:
    """A database with four families (one Mexican), an officer and their tokens."""
    path = tmp_path / "template.db"
    rt = _runtime(f"sqlite:///{path}", clock)
    Base.metadata.create_all(rt.engine)
    families = [family_account(rt) for _ in range(3)] + [family_account(rt, MEXICAN)]
    tokens = [_token(rt, account) for account in families]
    officer = staff(rt, Role.OFFICER, port="san-ysidro")["Authorization"].split()[1]
    rt.engine.dispose()
    yield Template(path, [*tokens, officer, "not-a-token"])


def one_by_one(rt: Runtime, asked: Asked) -> Any:
    """What the API answered before the intake batched: token, role, then make_request."""
    try:
        account = account_for_token(uow=rt.uow(), clock=rt.clock, token=asked.token)
        require_role(account.role, frozenset({Role.REGISTRANT}))
        return service.make_request(
            uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account.id,
            ports=asked.ports, lat=asked.lat, lon=asked.lon, idempotency_key=asked.key,
            standing=asked.standing, rng=rt.rng,
        )  # fmt: skip
    except DomainError as refused:
        return refused


def seen(answer: Any) -> Any:
    """What the caller sees of an answer: the record and the replay flag, or the error code."""
    if isinstance(answer, DomainError):
        return answer.code
    return dataclasses.asdict(answer)


asks = st.lists(
    st.builds(
        Asked,
        token=st.integers(0, 5),  # an index into the template's tokens, mapped below
        key=st.sampled_from(["k1", "k2", "k3", "bad key!"]),
        ports=st.sampled_from([["san-ysidro"], ["calexico", "nogales"], ["laredo", "laredo"]]),
        lat=st.just(0.0),
        lon=st.just(0.0),
        standing=st.booleans(),
    ).flatmap(
        lambda a: st.sampled_from([TIJUANA, TIJUANA, OUTSIDE]).map(
            lambda where: dataclasses.replace(a, lat=where["lat"], lon=where["lon"])
        )
    ),
    min_size=1,
    max_size=14,
)


@given(batch=asks, split=st.integers(0, 14))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_batch_answers_as_one_request_at_a_time_would(
    template: Template, clock: Any, tmp_path: Path, batch: list[Asked], split: int
) -> None:
    batch = [dataclasses.replace(a, token=template.tokens[int(a.token)]) for a in batch]
    alone_db, batched_db = tmp_path / "alone.db", tmp_path / "batched.db"
    shutil.copy(template.path, alone_db)
    shutil.copy(template.path, batched_db)
    alone, batched = (
        _runtime(f"sqlite:///{alone_db}", clock),
        _runtime(f"sqlite:///{batched_db}", clock),
    )
    try:
        expected = [seen(one_by_one(alone, a)) for a in batch]
        # Two batches, so that the second meets requests the first committed.
        got = [seen(a.answer) for part in (batch[:split], batch[split:]) if part
               for a in answer_batch(batched, part)]  # fmt: skip
        assert got == expected
        assert _rows(batched) == _rows(alone)
    finally:
        alone.engine.dispose()
        batched.engine.dispose()


def _rows(rt: Runtime) -> list[tuple[Any, ...]]:
    r = AppointmentRequest
    with rt.uow() as uow:
        query = select(r.id, r.group_id, r.account_id, r.window, r.port_1, r.port_2, r.standing,
                       r.idempotency_key, r.geofence_state).order_by(r.id)  # fmt: skip
        return [tuple(row) for row in uow.session.execute(query)]


def test_two_writers_racing_over_the_same_groups_enter_each_once(
    runtime: Runtime, settings: Settings, clock: Any
) -> None:
    """Two processes' writers (two engines) answer overlapping batches at the same instant:
    the loser of each unique index answers each request again on its own."""
    families = [family_account(runtime) for _ in range(12)]
    tokens = [_token(runtime, account) for account in families]
    other = build_runtime(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(8))
    try:
        for round_ in range(3):
            key = f"round-{round_ % 2}"  # round 2 asks again with round 0's key: replays
            batches = []
            for seed in (1, 2):
                order = list(zip(tokens, families, strict=True))
                random.Random(seed + round_).shuffle(order)
                batches.append([Asked(t, key, ["san-ysidro"], standing=False, **TIJUANA)
                                for t, _ in order])  # fmt: skip
            results: list[list[Any]] = [[], []]
            start = threading.Barrier(2)

            pool = [threading.Thread(target=_run, args=(start, rt, batches[i], results[i]))
                    for i, rt in enumerate((runtime, other))]  # fmt: skip
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join(timeout=120)
            answers = [a for part in results for a in part]
            assert len(answers) == 24
            views = [a for a in answers if isinstance(a, service.RequestView)]
            refused = {a.code for a in answers if isinstance(a, DomainError)}
            if round_ == 1:  # another key for groups that already asked: refused, every one
                assert not views and refused == {"already_requested"}
            else:
                assert not refused
                assert len({v.id for v in views}) == 12
        with runtime.uow() as uow:
            per_group = uow.session.execute(
                select(AppointmentRequest.group_id, func.count()).group_by(
                    AppointmentRequest.group_id
                )
            ).all()
        assert sorted(n for _, n in per_group) == [1] * 12
    finally:
        other.engine.dispose()


def _run(start: threading.Barrier, rt: Runtime, batch: list[Asked], into: list[Any]) -> None:
    start.wait()
    into.extend(a.answer for a in answer_batch(rt, batch))


def _posted(app: Any, headers: list[dict[str, str]]) -> list[httpx.Response]:
    """``_post_all`` on an event loop of its own, in a thread of its own (the test process
    may already run a loop on this one: the browser tests' Playwright does)."""
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.extend(asyncio.run(_post_all(app, headers))))
    thread.start()
    thread.join(timeout=120)
    return answers


async def _post_all(app: Any, headers: list[dict[str, str]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://puerta.test") as client:
        body = {"ports": ["san-ysidro"], "location": TIJUANA}
        return await asyncio.gather(*[
            client.post("/api/v1/requests", json=body, headers={**h, "Idempotency-Key": "once"})
            for h in headers
        ])  # fmt: skip


def _app_with_families(settings: Settings, clock: Any, n: int) -> tuple[Any, list[dict[str, str]]]:
    app = create_app(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    rt: Runtime = app.state.runtime
    tokens = [_token(rt, family_account(rt)) for _ in range(n)]
    return app, [{"Authorization": f"Bearer {t}"} for t in tokens]


def test_concurrent_requests_share_commits_and_each_201_is_stored(
    settings: Settings, clock: Any
) -> None:
    app, headers = _app_with_families(settings, clock, 40)
    rt: Runtime = app.state.runtime
    commits = []
    event.listen(rt.engine, "commit", lambda conn: commits.append(1))
    answers = _posted(app, headers)
    assert [a.status_code for a in answers] == [201] * 40
    with rt.uow() as uow:
        stored = set(uow.session.scalars(select(AppointmentRequest.id)))
    assert {a.json()["id"] for a in answers} == stored
    assert len(stored) == 40
    # Forty requests, fewer commits: they were answered in batches.
    assert len(commits) < 40
    rt.engine.dispose()


def test_no_request_is_answered_before_its_commit(
    settings: Settings, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that fails answers every request of its batch with a server error (to retry
    with the same key), and nothing is stored; the next batch is answered normally."""
    app, headers = _app_with_families(settings, clock, 8)
    rt: Runtime = app.state.runtime

    def refuse(self: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    original = UnitOfWork.commit
    monkeypatch.setattr(UnitOfWork, "commit", refuse)
    failed = _posted(app, headers)
    assert [a.status_code for a in failed] == [500] * 8
    with rt.uow() as uow:
        assert uow.session.scalar(select(func.count(AppointmentRequest.id))) == 0
    monkeypatch.setattr(UnitOfWork, "commit", original)
    again = _posted(app, headers)
    assert [a.status_code for a in again] == [201] * 8
    assert not any(a.headers.get("Idempotent-Replayed") for a in again)
    rt.engine.dispose()
