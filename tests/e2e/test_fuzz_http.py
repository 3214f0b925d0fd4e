"""The parsers of outside input as the server meets them: headers, query strings, bodies.

Whatever arrives, the answer is a documented one: a success, or a problem (RFC 9457) with
the project's code, never a 500 and never a stored half-record. On SQLite and, when
``PUERTA_TEST_DATABASE_URL`` is set, on PostgreSQL (which refuses NUL characters in text
that SQLite stores). See tests/unit/test_fuzz_parsers.py for the parsers themselves.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import example, given, settings
from hypothesis import strategies as st

from puerta.appointments import domain as appointments
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.i18n import available_languages
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER, OPEN_INSTANT, PG_URL, _postgres_url
from tests.e2e.access_world import ALLOW, Route, World, open_world
from tests.e2e.test_access_matrix import ACCESS, CALLS, ROLES
from tests.factories import TIJUANA, member, registrant_with_group

# Header values as bytes: Starlette reads them as Latin-1, so any byte but CR and LF arrives.
HEADER_BYTES = st.binary(max_size=200).filter(lambda b: b"\r" not in b and b"\n" not in b)
HEADER_TEXT = HEADER_BYTES.map(lambda b: b.decode("latin-1"))
NUL_AND_FRIENDS = st.sampled_from(["\x00", "a\x00b", "\ud7ff", "\ufeff", "²", "9" * 5000, ""])
TEXT = st.text() | NUL_AND_FRIENDS
FEW = settings(max_examples=60, derandomize=True, database=None)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[TestClient]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'puerta.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
    elif not PG_URL:
        pytest.skip("PostgreSQL: set PUERTA_TEST_DATABASE_URL (CI does) to run this on it")
    else:
        url = _postgres_url(worker_id)
    app = create_app(Settings(env="test", database_url=url), clock=FixedClock(OPEN_INSTANT),
                     hasher=FAST_HASHER, rng=random.Random(7))  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.runtime.engine.dispose()


@pytest.fixture(scope="module")
def registrant(client: TestClient) -> dict[str, str]:
    return registrant_with_group(client, members=[member()])


def documented(response: Response, *allowed: int) -> dict[str, Any]:
    """The answer's JSON, once it is one of ``allowed`` or a problem with a code."""
    assert response.status_code < 500, response.text
    body: dict[str, Any] = response.json()
    if response.status_code not in allowed:
        assert response.headers["content-type"] == "application/problem+json", response.text
        assert body["status"] == response.status_code and body["code"], body
    return body


class TestIdempotencyKeyHeader:
    @FEW
    @given(st.lists(HEADER_BYTES, max_size=2))
    @example([b"\x00"])
    @example([b"\xff" * 3])
    def test_any_header_is_a_request_or_a_problem(
        self, client: TestClient, registrant: dict[str, str], keys: list[bytes]
    ) -> None:
        headers = [(b"authorization", registrant["Authorization"].encode())]
        headers += [(b"idempotency-key", key) for key in keys]
        body = {"ports": ["san-ysidro"], "location": TIJUANA, "standing": False}
        response = client.post("/api/v1/requests", json=body, headers=headers)
        answer = documented(response, 201)
        if response.status_code == 201:
            key = keys[-1].decode("latin-1")
            assert appointments.check_idempotency_key(key) == key, answer
        mine = client.get("/api/v1/requests/current", headers=registrant)
        assert mine.status_code in (200, 404), mine.text


class TestGeofenceQuery:
    @FEW
    @given(st.dictionaries(st.sampled_from(["lat", "lon", "date", "nationality", "x"]), TEXT))
    @example({"lat": "nan", "lon": "0"})
    @example({"lat": "1e999", "lon": "-inf"})
    @example({"lat": "32.5", "lon": "-117", "date": "9999-12-31", "nationality": "mex"})
    def test_any_query_is_a_verdict_or_a_problem(
        self, client: TestClient, query: dict[str, str]
    ) -> None:
        body = documented(client.get("/api/v1/geofence/check", params=query), 200)
        if "eligible" in body:
            assert isinstance(body["eligible"], bool) and body["reason"]


class TestTextThatReachesTheDatabase:
    @FEW
    @given(TEXT, TEXT)
    @example("\x00", "1990-03-14")
    def test_an_online_check_of_anything_is_not_found_or_a_problem(
        self, client: TestClient, number: str, birth_date: str
    ) -> None:
        body = {"confirmation_number": number, "birth_date": birth_date}
        documented(client.post("/api/v1/verify", json=body), 200)

    @FEW
    @given(TEXT)
    @example("0123-4567-8901-2345-678\x00")
    def test_a_receipt_of_anything_is_not_found_or_a_problem(
        self, client: TestClient, receipt: str
    ) -> None:
        answer = documented(client.post("/api/v1/incidents/lookup", json={"receipt": receipt}))
        assert answer["code"] in ("receipt_not_found", "invalid_request", "rate_limited")

    @FEW
    @given(TEXT, TEXT)
    @example("ABCD-EFGH-JK\x00N", "+52 664 123 4567")
    def test_a_claim_of_anything_is_refused_with_a_problem(
        self, client: TestClient, code: str, username: str
    ) -> None:
        body = {"claim_code": code, "username": username, "password": "correct horse battery"}
        documented(client.post("/api/v1/accounts/claim", json=body))

    @FEW
    @given(TEXT, TEXT)
    @example("a\x00@example.org", "correct horse battery")
    @example("+52 664 123 4567", "correct\x00horse battery")
    def test_an_account_or_a_login_of_anything_is_made_or_refused(
        self, client: TestClient, username: str, password: str
    ) -> None:
        fields = {"username": username, "password": password}
        documented(client.post("/api/v1/accounts", json=fields | {"language": "es"}), 201)
        documented(client.post("/api/v1/auth/token", data=fields), 200)


class TestHeadersEveryRequestHas:
    @FEW
    @given(HEADER_TEXT)
    @example("es;q=nan, ht;q=inf")
    @example("*;q=1, " * 30)
    def test_any_accept_language_gets_a_page_in_a_language_puerta_has(
        self, client: TestClient, header: str
    ) -> None:
        page = client.get("/", headers=[(b"accept-language", header.encode("latin-1"))])
        assert page.status_code == 200, page.text
        lang = page.text.split('<html lang="', 1)[1].split('"', 1)[0]
        assert lang.replace("-", "_") in available_languages() | {"zh_Hans"}, lang

    @FEW
    @given(HEADER_TEXT)
    @example("Bearer \x00")
    @example("bearer    ")
    def test_any_authorization_is_a_401(self, client: TestClient, header: str) -> None:
        me = client.get("/api/v1/me", headers=[(b"authorization", header.encode("latin-1"))])
        assert me.status_code == 401 and documented(me)["code"], me.text

    @FEW
    @given(HEADER_TEXT)
    @example("puerta_session=\x00")
    def test_any_cookie_gets_the_page(self, client: TestClient, cookie: str) -> None:
        page = client.get("/", headers=[(b"cookie", cookie.encode("latin-1"))])
        assert page.status_code == 200, page.text


# What PostgreSQL refuses in any text (NUL) and what no UTF-8 answer can carry (an unpaired
# surrogate, which JSON writes "\\ud800"): spliced into each text the access matrix sends.
SPLICED = ("\x00", "\ud800")


def _spliced(value: Any) -> Iterator[Any]:
    """``value`` once for each of its texts, that text replaced or lengthened by SPLICED."""
    if isinstance(value, str):
        for odd in SPLICED:
            yield odd
            yield value + odd
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from ({**value, key: changed} for changed in _spliced(inner))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from (
                value[:index] + [changed] + value[index + 1 :] for changed in _spliced(inner)
            )


def _odd_paths(path: str) -> Iterator[str]:
    base, _, query = path.partition("?")
    segments = base.split("/")
    for index in range(4, len(segments)):  # after /api/v1/<collection>
        yield "/".join([*segments[:index], segments[index] + "%00", *segments[index + 1 :]])
    if query:
        yield f"{base}?{query.replace('&', '%00&')}%00"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[World]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL: set PUERTA_TEST_DATABASE_URL (CI does) to run this on it")
    url = _postgres_url(worker_id) if request.param == "postgresql" else None
    with open_world(tmp_path_factory.mktemp("spliced"), url) as built:
        yield built


@pytest.mark.parametrize("route", list(ACCESS), ids=" ".join)
def test_a_nul_or_a_lone_surrogate_in_any_text_is_answered_not_a_500(
    world: World, route: Route
) -> None:
    row = dict(zip(ROLES, ACCESS[route], strict=True))
    role = next((name for name in ROLES if row[name] == ALLOW), "admin")
    call = CALLS[route](world, role)
    headers = world.auth(call.actor or role) | call.headers
    sent: list[dict[str, Any]] = [
        {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}
        for body in (_spliced(call.json) if call.json is not None else ())
    ]
    # A form is bytes: an unpaired surrogate cannot be in it.
    forms = _spliced(call.data) if call.data else ()
    sent += [{"data": form} for form in forms if not any("\ud800" in v for v in form.values())]
    sent += [{"path": path, "json": call.json, "data": call.data} for path in _odd_paths(call.path)]
    for request in sent:
        world.clock.set(call.at)
        extra = request.pop("headers", {})
        path = request.pop("path", call.path)
        response = world.client.request(route[0], path, headers=headers | extra, **request)
        assert response.status_code < 500, (path, request, response.text)
