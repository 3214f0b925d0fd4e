"""The online check over HTTP: confirmation number and a member's birth date, for anyone, with
the minimal facts only, a 404 that tells nothing, and a limit per client address."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from puerta.accounts.domain import Role
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.ratelimits.tables import RateCounter
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER
from tests.e2e.test_api_accounts import assert_problem
from tests.e2e.test_cycle import CDT, WINDOW, request
from tests.factories import TIJUANA, member, registrant_with_group, staff

ADDRESS = "203.0.113.77"
FAMILY = [
    member(given_names="Marie Carmen", family_names="Joseph Louis", birth_date="1990-03-14"),
    member(given_names="Jean", family_names="Joseph", birth_date="2016-07-02"),
]


@pytest.fixture
def checker(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    """A client from one documentation address, with a small limit: 3 a minute, 5 a day."""
    limited = settings.model_copy(
        update={"rate_verify_per_address": "3/minute;5/day", "rate_limit_address_scale": 1}
    )
    app = create_app(limited, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    with TestClient(app, raise_server_exceptions=False, client=(ADDRESS, 50000)) as client:
        yield client
    app.state.runtime.engine.dispose()


def confirmed_appointment(client: TestClient, clock: FixedClock) -> dict[str, Any]:
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    admin = staff(rt, Role.ADMIN)
    family = registrant_with_group(client, members=FAMILY)
    request(client, family, ["el-paso"], "k1")
    clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
    assert client.post("/api/v1/draws", json={"window": WINDOW}, headers=admin).is_success
    confirmed = client.post(
        "/api/v1/me/appointment/confirm", json={"location": TIJUANA}, headers=family
    )
    assert confirmed.status_code == 200, confirmed.text
    return dict(confirmed.json())


def check(client: TestClient, number: str, born: str) -> Any:
    return client.post("/api/v1/verify", json={"confirmation_number": number, "birth_date": born})


class TestOnlineCheck:
    def test_answers_the_minimal_facts_to_anyone_with_the_number_and_a_birth_date(
        self, checker: TestClient, clock: FixedClock
    ) -> None:
        appointment = confirmed_appointment(checker, clock)
        answer = check(checker, appointment["confirmation_number"].lower(), "2016-07-02")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "status": "confirmed",
            "port": "el-paso",
            "port_name": appointment["port_name"],
            "service_date": "2024-09-16",
            "slot_starts_at": appointment["slot_starts_at"].replace("+00:00", "Z"),
            "persons": 2,
            "members": [
                {"initials": "MJ", "birth_year": 1990},
                {"initials": "JJ", "birth_year": 2016},
            ],
        }
        assert "Marie" not in answer.text and "HTI" not in answer.text

    def test_a_wrong_birth_date_answers_as_an_unknown_number_does(
        self, checker: TestClient, clock: FixedClock
    ) -> None:
        appointment = confirmed_appointment(checker, clock)
        wrong_date = check(checker, appointment["confirmation_number"], "1990-03-15")
        unknown = check(checker, "ZZZZ-ZZZZ", "1990-03-14")
        assert_problem(wrong_date, 404, "no_matching_appointment")
        assert wrong_date.json() == unknown.json() | {"instance": "/api/v1/verify"}
        assert wrong_date.content == unknown.content

    def test_refuses_a_malformed_body_with_a_problem(self, checker: TestClient) -> None:
        for i, body in enumerate((
            {"confirmation_number": "K7MX-4Q2P"},
            {"confirmation_number": "K7MX-4Q2P", "birth_date": "14/03/1990"},
            {"confirmation_number": "x" * 33, "birth_date": "1990-03-14"},
            {"confirmation_number": "K7MX-4Q2P", "birth_date": "1990-03-14", "name": "Marie"},
        )):  # fmt: skip
            # A malformed check counts too: each from its own address, under the limit of 3.
            sender = TestClient(
                checker.app, raise_server_exceptions=False, client=(f"192.0.2.{i}", 1)
            )
            assert_problem(sender.post("/api/v1/verify", json=body), 422, "invalid_request")

    def test_refuses_an_address_over_its_limit_with_retry_after(self, checker: TestClient) -> None:
        for _ in range(3):
            assert check(checker, "ZZZZ-ZZZZ", "1990-03-14").status_code == 404
        refused = check(checker, "ZZZZ-ZZZZ", "1990-03-14")
        assert_problem(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60

    def test_counts_each_address_apart(
        self, checker: TestClient, settings: Settings, clock: FixedClock
    ) -> None:
        for _ in range(3):
            check(checker, "ZZZZ-ZZZZ", "1990-03-14")
        assert check(checker, "ZZZZ-ZZZZ", "1990-03-14").status_code == 429
        other = TestClient(checker.app, raise_server_exceptions=False, client=("198.51.100.9", 1))
        assert check(other, "ZZZZ-ZZZZ", "1990-03-14").status_code == 404

    def test_keeps_no_address_and_logs_nothing_of_the_check(
        self, checker: TestClient, clock: FixedClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        appointment = confirmed_appointment(checker, clock)
        number = appointment["confirmation_number"]
        caplog.set_level(logging.DEBUG)
        check(checker, number, "1990-03-14")
        check(checker, number, "1991-01-01")
        for _ in range(3):
            check(checker, "ZZZZ-ZZZZ", "1990-03-14")
        logged = caplog.text + "".join(str(r.args) for r in caplog.records)
        for secret in (ADDRESS, number, number.replace("-", ""), "1990-03-14", "1991-01-01"):
            assert secret not in logged
        engine = checker.app.state.runtime.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            stored = repr(conn.execute(select(RateCounter.key)).all())
        assert "verify" in stored  # the counts are there...
        assert ADDRESS not in stored  # ...under a keyed hash of the address only
