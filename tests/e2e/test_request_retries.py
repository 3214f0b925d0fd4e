"""Retries of one request sent at once to the served app, over real HTTP connections."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from puerta.appointments.tables import AppointmentRequest
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.runtime import Runtime
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER
from tests.e2e.pages_helpers import csrf, family, submit
from tests.e2e.pages_helpers import register as register_on_pages
from tests.factories import TIJUANA, registrant_with_group

RETRIES = 20
ROUNDS = 3
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


class Served:
    """The app on a free 127.0.0.1 port, served by uvicorn in a thread."""

    def __init__(self, settings: Settings, clock: FixedClock) -> None:
        app = create_app(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
        self.runtime: Runtime = app.state.runtime
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "no server"
            time.sleep(0.01)

    def client(self, cookies: httpx.Cookies | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=120)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
        self.runtime.engine.dispose()


@pytest.fixture
def served(database_url: str, clock: FixedClock) -> Iterator[Served]:
    settings = Settings(
        env="test", database_url=database_url, cookie_secure=False, jobs_interval_seconds=0
    )
    server = Served(settings, clock)
    yield server
    server.stop()


Send = Callable[[httpx.Client], httpx.Response]


def at_once(sends: list[tuple[httpx.Client, Send]]) -> list[httpx.Response | BaseException]:
    """Each send from its own client and thread, all released at once by one barrier."""
    start = threading.Barrier(len(sends))
    answers: list[httpx.Response | BaseException] = [RuntimeError("not run")] * len(sends)

    def run(i: int) -> None:
        client, send = sends[i]
        start.wait()
        try:
            answers[i] = send(client)
        except BaseException as error:  # compared below, so a failure is reported, not lost
            answers[i] = error

    pool = [threading.Thread(target=run, args=(i,)) for i in range(len(sends))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    for client, _ in sends:
        client.close()
    return answers


def seen(answer: httpx.Response | BaseException) -> Any:
    """What the sender saw: the status code with the parsed body, or where it went next."""
    if isinstance(answer, BaseException):
        return repr(answer)
    if answer.is_redirect:
        return answer.status_code, answer.headers["location"]
    return answer.status_code, answer.json()


def stored(rt: Runtime) -> list[list[str]]:
    with rt.uow() as uow:
        return [r.ports for r in uow.session.scalars(select(AppointmentRequest))]


def count(rt: Runtime) -> int:
    with rt.uow() as uow:
        return uow.session.scalar(select(func.count(AppointmentRequest.id))) or 0


def post(headers: dict[str, str], ports: list[str]) -> Send:
    body = {"ports": ports, "location": TIJUANA, "standing": False}
    return lambda client: client.post(
        "/api/v1/requests", json=body, headers=headers | {"Idempotency-Key": "same-key"}
    )


def send_form(data: dict[str, Any]) -> Send:
    return lambda client: client.post("/request", data=data)


class TestRetriesAtOnce:
    def test_every_retry_with_one_key_gets_the_first_status_and_body(self, served: Served) -> None:
        for round_ in range(ROUNDS):
            with served.client() as setup:
                headers = registrant_with_group(setup)  # type: ignore[arg-type]
            send = post(headers, ["san-ysidro"])
            answers = at_once([(served.client(), send) for _ in range(RETRIES)])
            outcomes = [seen(a) for a in answers]
            assert outcomes == [outcomes[0]] * RETRIES
            assert outcomes[0][0] == 201
            replayed = [a.headers.get("Idempotent-Replayed") for a in answers]  # type: ignore[union-attr]
            assert replayed.count(None) == 1
            assert count(served.runtime) == round_ + 1

    def test_a_retry_with_one_key_and_another_body_is_told_the_key_was_reused(
        self, served: Served
    ) -> None:
        for round_ in range(ROUNDS):
            with served.client() as setup:
                headers = registrant_with_group(setup)  # type: ignore[arg-type]
            sends = [post(headers, ["san-ysidro"]), post(headers, ["nogales"])]
            answers = at_once([(served.client(), sends[i % 2]) for i in range(RETRIES)])
            outcomes = [seen(a) for a in answers]
            made = {o[1]["ports"][0] for o in outcomes if o[0] == 201}
            assert len(made) == 1, outcomes
            refused = [o for o in outcomes if o[0] != 201]
            assert refused and {(o[0], o[1]["code"]) for o in refused} == {
                (409, "idempotency_key_reused")
            }, outcomes
            assert count(served.runtime) == round_ + 1


class TestFormSentTwice:
    def test_a_request_form_sent_many_times_at_once_always_goes_to_the_status_page(
        self, served: Served
    ) -> None:
        for round_ in range(ROUNDS):
            with served.client() as person:
                register_on_pages(person)  # type: ignore[arg-type]
                submit(person, "/group", "/group", family())  # type: ignore[arg-type]
                shown = person.get("/request").text
                cookies = person.cookies
            key = _KEY.search(shown)
            assert key, shown
            data = {"csrf_token": csrf(shown), "idempotency_key": key.group(1),
                    "ports": ["san-ysidro"], "lat": str(TIJUANA["lat"]),
                    "lon": str(TIJUANA["lon"]), "standing": "on", "action": "send"}  # fmt: skip
            answers = at_once([(served.client(cookies), send_form(data)) for _ in range(RETRIES)])
            assert [seen(a) for a in answers] == [(303, "/status?done=requested")] * RETRIES
            assert count(served.runtime) == round_ + 1
