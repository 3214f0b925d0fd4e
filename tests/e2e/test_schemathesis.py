"""Schemathesis checks the JSON API against its own OpenAPI schema, in-process.

No response may be a server error, and every response must be documented: its status, its
content type and its body's schema. Two sources of requests:

- generated ones (valid and invalid, up to 100 per operation and role), sent as each
  signed-in role the access table (``test_access_matrix.ACCESS``) lets through, so that
  registrant-only, officer-only, caseworker-only and admin-only operations are exercised
  past 401 and 403. The caseworker is the world's caseworker of every case, so its
  generated requests can reach the cases' own answers. The shelters import takes
  ``text/csv``: its generated bodies are arbitrary text, so they test that a file that is
  not the documented CSV is refused with a documented problem, never a 500; a valid file is
  the access matrix's request;
- the access matrix's own requests, whose answers are mostly successes that generated data
  rarely reaches (a check-in, a manifest with its groups, a draw run again, an exception
  decided, a shelter imported), also sent with the world's delegated token.

The requests act on the access matrix's world, on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from puerta.config import Settings
from puerta.web.app import create_app
from tests.e2e.access_world import AFTER_DRAW, ALLOW, DELEGATED, V1, Route, World, open_world
from tests.e2e.test_access_matrix import ACCESS, ROLES, send

# The schema as the app serves it; requests go to the apps of the worlds built below.
schema = schemathesis.openapi.from_asgi(
    f"{V1}/openapi.json", create_app(Settings(env="test", database_url="sqlite://"))
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
SIGNED_IN = ("registrant", "officer", "caseworker", "admin", "incidents")
REVOKES_ITS_TOKEN = {("POST", f"{V1}/auth/logout")}


def actors(route: Route) -> list[str]:
    """Anonymous where anyone may call, else each signed-in role the access table allows."""
    row = dict(zip(ROLES, ACCESS.get(route, (ALLOW,) * len(ROLES)), strict=True))
    if route in ACCESS and row["anonymous"] == ALLOW:
        return ["anonymous"]
    return [actor for actor in SIGNED_IN if row[actor] == ALLOW]


@pytest.fixture(scope="module")
def fuzzed_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(tmp_path_factory.mktemp("fuzzed")) as built:
        built.clock.set(AFTER_DRAW)
        yield built


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(tmp_path_factory.mktemp("documented")) as built:
        yield built


@schema.parametrize()
@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_no_generated_request_gets_a_server_error_or_an_undocumented_response(
    case: schemathesis.Case, fuzzed_world: World
) -> None:
    route = (case.operation.method.upper(), case.operation.path)
    for actor in actors(route):
        fresh = route in REVOKES_ITS_TOKEN
        headers = fuzzed_world.fresh_auth(actor) if fresh else fuzzed_world.auth(actor)
        case.call_and_validate(app=fuzzed_world.client.app, headers=headers, checks=CHECKS)


@pytest.mark.parametrize("route", list(ACCESS), ids=" ".join)
def test_the_access_matrix_requests_get_documented_responses(world: World, route: Route) -> None:
    operation = schema[route[1]][route[0].lower()]
    for role in (*ROLES, DELEGATED):
        response = send(world, route, role)
        try:
            operation.Case().validate_response(response, checks=CHECKS)
        except BaseExceptionGroup as failures:
            sent = response.request
            failures.add_note(f"Sent as {role}: {sent.method} {sent.url} {sent.content!r}")
            raise
