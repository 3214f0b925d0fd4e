"""Schemathesis checks the JSON API against its own OpenAPI schema, in-process.

No response may be a server error, and every response must be documented: its status, its
content type and its body's schema. Three sources of requests:

- generated ones (valid and invalid, up to 100 per operation and role), sent as each
  signed-in role the access table (``test_access_matrix.ACCESS``) lets through, so that
  registrant-only, officer-only, caseworker-only and admin-only operations are exercised
  past 401 and 403. The caseworker is the world's caseworker of every case, so its
  generated requests can reach the cases' own answers. The shelters import takes
  ``text/csv``: its generated bodies are arbitrary text, so they test that a file that is
  not the documented CSV is refused with a documented problem, never a 500; a valid file is
  the access matrix's request;
- chains of generated requests that follow the description's links (puerta.web.api_links,
  and those schemathesis infers): a request made, then read, then withdrawn; a document
  recorded, then changed; a shelter created, then its occupancy set; an exception request
  made, then assigned and decided; an assisted account made, then claimed; a crime report
  sent, then followed up. Each chain starts with a new registrant, and each call goes as
  the first role the access table lets through;
- the access matrix's own requests, whose answers are mostly successes that generated data
  rarely reaches (a check-in, a manifest with its groups, a draw run again, an exception
  decided, a shelter imported), also sent with the world's delegated token.

The requests are counted as they are sent; the file's last test holds the count to its
floor. The requests act on the access matrix's world, on SQLite only; the whole file runs
on one xdist worker, so the worlds are built once and the count sees every request.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from hypothesis.stateful import get_state_machine_test
from schemathesis.config._phases import InferenceConfig
from schemathesis.core.transport import Response as SchemathesisResponse
from schemathesis.generation import GenerationMode
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.hooks import HookContext

from puerta.config import Settings
from puerta.geo.domain import PORT_SLUGS
from puerta.i18n import available_languages
from puerta.shelters.domain import POPULATIONS, SERVICES
from puerta.vulnerability import service as vulnerability
from puerta.vulnerability.domain import Need
from puerta.web.app import create_app
from tests.e2e.access_world import (
    AFTER_DRAW,
    ALLOW,
    DELEGATED,
    ORG,
    V1,
    Route,
    World,
    open_world,
)
from tests.e2e.test_access_matrix import ACCESS, ROLES, send
from tests.factories import TIJUANA

pytestmark = pytest.mark.xdist_group("schemathesis")

# The schema as the app serves it; requests go to the apps of the worlds built below.
schema = schemathesis.openapi.from_asgi(
    f"{V1}/openapi.json", create_app(Settings(env="test", database_url="sqlite://"))
)
# The chains follow the description's own links only (schemathesis also guesses some, such
# as GET /me's id into an assisted account's), with valid requests: the one-off requests
# above are where invalid ones go.
schema.config.phases.stateful.inference = InferenceConfig(algorithms=[])
schema.config.phases.stateful.generation.modes = [GenerationMode.POSITIVE]
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
SIGNED_IN = ("registrant", "officer", "caseworker", "admin", "incidents")
REVOKES_ITS_TOKEN = {("POST", f"{V1}/auth/logout")}
# Erases the account it is sent with: each generated request goes as a throwaway registrant.
ERASES_ITS_ACCOUNT = {("DELETE", f"{V1}/me")}
GENERATED_REQUESTS = 5_000
"""At least this many generated requests in all (one-off and in chains)."""
LINKS_FOLLOWED = 150
"""At least this many calls made with values an earlier answer gave, through puerta's links."""
SENT: Counter[str] = Counter()
"""Generated requests sent, by operation ("METHOD /path"); chained ones under "chained"."""
FOLLOWED: Counter[str] = Counter()
"""Calls made through one of puerta's own links, by link (source, status, name, target)."""


# Values that pass the domain's own checks, which no schema spells (a port's slug, a point
# inside the geofence, a need's code, an organization that exists): generated bodies get
# them half the time, so that a request, a document, a shelter, a screening, an assisted
# account or a crime report is made, and the chains that start there run. The rest of each
# body stays generated.
PLACES = st.sampled_from(
    [TIJUANA, {"lat": 31.6904, "lon": -106.4245}, {"lat": 25.6866, "lon": -100.3161}]
)
TODAY = AFTER_DRAW.date()
REALISTIC: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    f"POST {V1}/requests": st.fixed_dictionaries(
        {"ports": st.lists(st.sampled_from(PORT_SLUGS), min_size=1, max_size=3, unique=True),
         "location": PLACES}
    ),
    f"PUT {V1}/me/screening": st.fixed_dictionaries(
        {"answers": st.tuples(
            st.fixed_dictionaries({"member": st.just(0), "needs": st.lists(
                st.sampled_from([need.value for need in Need]), min_size=1, max_size=3, unique=True
            )})
        ).map(list)}
    ),
    f"POST {V1}/me/documents": st.fixed_dictionaries(
        {"member": st.just(0), "status": st.just("requested"), "decided_on": st.none(),
         "expires_on": st.none(), "office": st.sampled_from(["INM Tijuana", "COMAR Tapachula"]),
         "requested_on": st.dates(TODAY - dt.timedelta(days=365), TODAY).map(str)}
    ),
    f"POST {V1}/shelters": st.fixed_dictionaries(
        {"slug": st.from_regex(r"\Acasa-[a-z0-9]{4,12}\Z"), "organization": st.just(ORG),
         "name": st.sampled_from(["Casa Nueva", "Albergue Esperanza"]), "address": st.just(""),
         "contact": st.just(""),
         "municipality": st.just("Tijuana"), "lat": st.just(TIJUANA["lat"]),
         "lon": st.just(TIJUANA["lon"]), "beds": st.integers(1, 300),
         "services": st.lists(st.sampled_from(SERVICES), unique=True),
         "populations": st.lists(st.sampled_from(POPULATIONS), unique=True),
         "languages": st.just(["es"])}
    ),
    f"POST {V1}/assisted": st.fixed_dictionaries(
        {"language": st.sampled_from(sorted(available_languages())), "phone": st.none(),
         "consent": st.just({"given": True, "how": "spoken"})}
    ),
    f"POST {V1}/incidents": st.fixed_dictionaries(
        {"state": st.just("MX-CHP"), "municipality": st.just("07089"),
         "month": st.just("2024-04"), "day": st.none() | st.integers(1, 30),
         "text": st.text(min_size=1, max_size=200), "contact": st.none()}
    ),
}  # fmt: skip


@schema.hook
def flatmap_body(context: HookContext, body: Any) -> st.SearchStrategy[Any]:
    valid = REALISTIC.get(context.operation.label) if context.operation else None
    if valid is None or not isinstance(body, dict):
        return st.just(body)
    return st.just(body) | valid.map(lambda fields: body | fields)


def actors(route: Route) -> list[str]:
    """Anonymous where anyone may call, else each signed-in role the access table allows."""
    row = dict(zip(ROLES, ACCESS.get(route, (ALLOW,) * len(ROLES)), strict=True))
    if route in ACCESS and row["anonymous"] == ALLOW:
        return ["anonymous"]
    return [actor for actor in SIGNED_IN if row[actor] == ALLOW]


def label(route: Route) -> str:
    return " ".join(route)


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
        if route in ERASES_ITS_ACCOUNT:
            headers = fuzzed_world.new_registrant().auth
        SENT[label(route)] += 1
        case.call_and_validate(app=fuzzed_world.client.app, headers=headers, checks=CHECKS)


class Chains(schema.as_state_machine()):  # type: ignore[misc]
    """Scenarios of calls along the links, each starting with a new registrant."""

    world: ClassVar[World]
    started: ClassVar[int] = 0
    registrant: dict[str, str]

    def setup(self) -> None:
        Chains.started += 1
        # A new family that has answered the screening, so that its exception request is
        # made and the case's chain runs.
        account = self.world.new_registrant()
        rt = self.world.runtime
        vulnerability.set_screening(
            uow=rt.uow(), clock=rt.clock, vault=rt.vault, account_id=account.id,
            answers=[(0, ["pregnant"])],
        )  # fmt: skip
        self.registrant = account.auth

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        route = (case.operation.method.upper(), case.operation.path)
        actor = actors(route)[0]
        headers = self.registrant if actor == "registrant" else self.world.auth(actor)
        return {"app": self.world.client.app, "headers": headers}

    def step(self, input: StepInput) -> StepOutput:
        output: StepOutput = super().step(input)
        SENT["chained"] += 1
        transition = input.transition
        if transition is not None and not transition.is_inferred and input.is_applied:
            FOLLOWED[transition.id] += 1
        return output

    def validate_response(
        self,
        response: SchemathesisResponse,
        case: schemathesis.Case,
        additional_checks: Any = None,
        **kwargs: Any,
    ) -> None:
        case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)


SCENARIOS = 300
# Links whose call changes what the first one made: each must have been followed.
CHANGES = {"WithdrawRequest", "UpdateDocument", "UpdateOccupancy", "DecideCase", "AddToReport"}
CHAIN_SETTINGS = settings(
    stateful_step_count=10,
    # A scenario replayed on a world its first run changed is not the same scenario: no
    # shrinking; a failure is reported as it was found.
    phases=[Phase.generate],
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_chains_of_calls_along_the_links_get_documented_responses(fuzzed_world: World) -> None:
    Chains.world = fuzzed_world
    fuzzed_world.clock.set(AFTER_DRAW)
    # Which rules can run depends on the world's answers, which Hypothesis cannot replay:
    # when it notices (FlakyStrategyDefinition), as schemathesis's own runner does, another
    # run starts, with the next seed, until the scenarios are made. A failing check is
    # raised as it is found.
    for attempt in range(20):
        left = SCENARIOS - Chains.started
        if left <= 0:
            break
        run = get_state_machine_test(
            Chains, settings=settings(CHAIN_SETTINGS, max_examples=left), _min_steps=2
        )
        try:
            seed(attempt)(run)()
        except FlakyStrategyDefinition:
            continue
    assert Chains.started >= SCENARIOS
    assert FOLLOWED.total() >= LINKS_FOLLOWED, FOLLOWED
    followed = {link.split("] ")[1].split(" ->")[0] for link in FOLLOWED}
    assert CHANGES <= followed, f"never followed: {CHANGES - followed}"


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


def test_at_least_5000_generated_requests_were_sent() -> None:
    served = {label((op.method.upper(), op.path)) for op in _operations()}
    if not served <= SENT.keys() or not FOLLOWED:
        why = (
            f"counts the requests of the whole file: run it all "
            f"(not sent: {sorted(served - SENT.keys())}, links followed: {len(FOLLOWED)})"
        )
        # `make test` runs the whole file on its own and says so: there, this is a failure.
        if os.environ.get("PUERTA_SCHEMATHESIS_WHOLE"):
            pytest.fail(why)
        pytest.skip(why)
    assert SENT.total() >= GENERATED_REQUESTS, SENT


def _operations() -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]
