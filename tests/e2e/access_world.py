"""The world the access matrix (and schemathesis) call the JSON API in.

Built once per module and per xdist worker on SQLite only, through the services: accounts of
every role, requests, a draw, confirmed appointments, an appeal; two organizations with a
caseworker each and a shelter of the first; exception cases assigned to the first caseworker
in every state a route acts on; assisted accounts of that caseworker, one with a delegated
token; an immigration document. What the access matrix checks is the routes' authorization,
which does not depend on the database; the use cases themselves run on PostgreSQL too in
tests/integration and the other e2e tests.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi.testclient import TestClient
from httpx import Response

from puerta.accounts import assisted
from puerta.accounts import service as accounts
from puerta.accounts.domain import Member, Role
from puerta.appointments import booking
from puerta.appointments import service as appointments
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.documents import service as documents
from puerta.draws import service as draws
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from puerta.shelters import service as shelters
from puerta.shelters.domain import ShelterInput
from puerta.vulnerability import placement
from puerta.vulnerability import service as vulnerability
from puerta.vulnerability.domain import Decision, Reviewer
from puerta.web.api.vulnerability import deadlines, rules
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER
from tests.factories import PASSWORD, TIJUANA, organization, phone
from tests.incidents_helpers import PASSPHRASE, key_file
from tests.incidents_helpers import body as incident_body

ALLOW: Literal["allow"] = "allow"
"""Past authorization: a 2xx, or a domain error other than 401 and 403."""
Outcome = Literal["allow", 401, 403]
Route = tuple[str, str]

V1 = "/api/v1"
CDT = dt.timezone(dt.timedelta(hours=-5))
PDT = dt.timezone(dt.timedelta(hours=-7))
WINDOW = dt.date(2024, 9, 2)
SERVICE_DATE = dt.date(2024, 9, 16)
# The date the urgent cases are placed on, with seats of its own (the reserve: 10% of 50).
URGENT_DATE = dt.date(2024, 9, 19)
PORT, OTHER_PORT = "san-ysidro", "laredo"
# The caseworker of the cases works for ORG, which runs the shelter; the other for OTHER_ORG.
# A third caseworker, not a column, works for ORG too (tests/e2e/test_access_matrix.py).
ORG, OTHER_ORG = "casa-matriz", "otra-organizacion"
SHELTER = "casa-matriz-tijuana"
REQUESTS_OPEN = dt.datetime(2024, 9, 2, 13, 0, tzinfo=CDT)
DRAW_TIME = dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT)
# The next window is open and the draw's offers have not expired yet.
AFTER_DRAW = dt.datetime(2024, 9, 3, 13, 0, tzinfo=CDT)
SERVICE_MORNING = dt.datetime(2024, 9, 16, 8, 0, tzinfo=PDT)
SERVICE_EVENING = dt.datetime(2024, 9, 16, 16, 0, tzinfo=PDT)
BIRTH_DATE = dt.date(1990, 3, 14)
UNLOCK = "X-Puerta-Unlock"
DELEGATED = "delegated"
"""Not a column: the token a caseworker got to act as the assisted person ``delegated``."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    auth: dict[str, str]
    view: accounts.AccountView


@dataclass(frozen=True)
class Held:
    """A group's appointment: its id and what an officer checks it in with."""

    id: int
    confirmation_number: str | None


@dataclass
class World:
    client: TestClient
    clock: FixedClock
    runtime: Runtime
    accounts: dict[str, Account] = field(default_factory=dict)
    held: dict[str, Held] = field(default_factory=dict)
    appeal_id: int = 0
    cases: dict[str, int] = field(default_factory=dict)
    """Exception request ids, by the name of the registrant whose group it is."""
    queued_case: int = 0
    """An exception request in the queue: assigned to no one."""
    assisted: dict[str, int] = field(default_factory=dict)
    document_id: int = 0
    receipt: str = ""
    """The receipt of a crime report in the world (received, not yet triaged)."""
    report_id: int = 0
    unlock: str = ""
    """The incidents caseworker's unlock value, for the token in their ``auth``."""

    def auth(self, name: str) -> dict[str, str]:
        if name == DELEGATED:
            # A delegated token lasts a working shift: one made at the clock's time.
            return self.fresh_auth(name)
        return {} if name == "anonymous" else self.accounts[name].auth

    def fresh_auth(self, name: str) -> dict[str, str]:
        """A new token of the account, for calls that revoke the one they are made with."""
        if name == "anonymous":
            return {}
        if name == DELEGATED:
            return _delegated_token(
                self.runtime, self.accounts["caseworker"].view, self.accounts[name].id
            )
        return _token(self.runtime, self.accounts[name].username)

    def new_registrant(self) -> Account:
        """A new registrant with a family group of one, for calls that need a clean slate."""
        return _account(self.runtime)

    def throwaway(self, role: str) -> str:
        """The name of a new account for a call that uses its account up (an erasure): a
        registrant with a family for either registrant, an assisted person with a new
        delegated token for ``delegated``; any other role's call is refused before it
        uses anything up, and goes as the role itself."""
        self.clock.set(AFTER_DRAW)
        if role in ("registrant", "other_registrant"):
            account = self.new_registrant()
        elif role == DELEGATED:
            caseworker = self.accounts["caseworker"].view
            person = _assisted(self.runtime, caseworker).account_id
            _set_group(self.runtime, person)
            auth = _delegated_token(self.runtime, caseworker, person)
            token = auth["Authorization"].removeprefix("Bearer ")
            view = accounts.account_for_token(uow=self.runtime.uow(), clock=self.clock, token=token)
            account = Account(person, view.username, auth, view)
        else:
            return role
        name = f"throwaway-{account.id}"
        self.accounts[name] = account
        return name

    def new_claim_code(self) -> str:
        """The claim code of a new assisted account of the caseworker, for one claim."""
        return _assisted(self.runtime, self.accounts["caseworker"].view).claim_code


def _token(rt: Runtime, username: str) -> dict[str, str]:
    token, _ = accounts.log_in(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=username, password=PASSWORD,
        ttl=dt.timedelta(days=365),
    )  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


def _delegated_token(
    rt: Runtime, caseworker: accounts.AccountView, account_id: int
) -> dict[str, str]:
    token, _ = assisted.delegated_token(
        uow=rt.uow(), clock=rt.clock, caseworker=caseworker, account_id=account_id
    )
    return {"Authorization": f"Bearer {token}"}


def _set_group(rt: Runtime, account_id: int) -> None:
    accounts.set_group(
        uow=rt.uow(), clock=rt.clock, account_id=account_id,
        members=[Member("Marie", "Joseph", BIRTH_DATE, "HTI", ("ht",))], lock=rt.group_lock,
    )  # fmt: skip


def _account(
    rt: Runtime, role: Role = Role.REGISTRANT, port: str | None = None, org: str | None = None
) -> Account:
    view = accounts.create_account(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=phone(), password=PASSWORD,
        language="en", languages=available_languages(), role=role, port=port, organization=org,
    )  # fmt: skip
    if role is Role.REGISTRANT:
        _set_group(rt, view.id)
    return Account(view.id, view.username, _token(rt, view.username), view)


def _assisted(rt: Runtime, caseworker: accounts.AccountView) -> assisted.Assisted:
    return assisted.create_assisted(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, caseworker=caseworker, language="ht",
        languages=available_languages(), consent_given=True, consent_how="spoken", phone=None,
    )  # fmt: skip


# Registrants who hold an appointment in the world; all but "offer_holder" confirm it.
# "registrant" has theirs cancelled by an admin, which opens the world's appeal; the others
# are fresh resources for the cases that use one up (cancel, check in, no-show, confirm).
HOLDERS = (
    "registrant",
    "offer_holder",
    "own_canceller",
    "checkin_target",
    "no_show_target",
    "cancel_target",
)
# Registrants whose exception cases are assigned to "caseworker", besides "registrant"'s own
# (pending): one pending for the caseworker's decision, one approved and urgent for a
# placement to be proposed, one with a placement the caseworker proposed for an admin.
# ("queued"'s case is assigned to no one.)
CASE_OWNERS = ("decision_target", "urgent_case", "proposed_case")


def _build(rt: Runtime, clock: FixedClock, world: World) -> None:
    for slug in (ORG, OTHER_ORG):
        organization(rt, slug)
    for name, role, port, org in (
        ("admin", Role.ADMIN, None, None),
        ("caseworker", Role.CASEWORKER, None, ORG),
        ("other_caseworker", Role.CASEWORKER, None, OTHER_ORG),
        ("same_org_caseworker", Role.CASEWORKER, None, ORG),
        ("officer", Role.OFFICER, PORT, None),
        ("officer_other_port", Role.OFFICER, OTHER_PORT, None),
        ("other_registrant", Role.REGISTRANT, None, None),
        ("incidents", Role.INCIDENTS, None, None),
    ):
        world.accounts[name] = _account(rt, role, port, org)
    _build_appointments(rt, clock, world)
    _build_cases(rt, world)
    _build_assisted(rt, world)
    _build_shelter_and_document(rt, world)


def _build_appointments(rt: Runtime, clock: FixedClock, world: World) -> None:
    admin_id = world.accounts["admin"].id
    for day in (SERVICE_DATE, URGENT_DATE):
        appointments.set_capacity(
            uow=rt.uow(), clock=clock, slug=PORT, service_date=day, seats=50, actor_id=admin_id
        )
    for name in HOLDERS:
        world.accounts[name] = holder = _account(rt)
        appointments.make_request(
            uow=rt.uow(), clock=clock, schedule=rt.schedule, account_id=holder.id, ports=[PORT],
            lat=TIJUANA["lat"], lon=TIJUANA["lon"], idempotency_key=f"world-{name}",
            standing=False, rng=rt.rng,
        )  # fmt: skip
    clock.set(DRAW_TIME)
    draws.run_draw(uow=rt.uow(), clock=clock, config=rt.draw_config, window=WINDOW, actor_id=None)
    for name in HOLDERS:
        world.held[name] = _confirm(rt, clock, world.accounts[name].id, name != "offer_holder")
    cancelled = booking.cancel_by_admin(
        uow=rt.uow(), clock=clock, appointment_id=world.held["registrant"].id,
        reason="The group was registered twice.", actor_id=admin_id,
    )  # fmt: skip
    assert cancelled.appeal is not None
    world.appeal_id = cancelled.appeal.id


def _confirm(rt: Runtime, clock: FixedClock, account_id: int, confirm: bool) -> Held:
    if not confirm:
        view = booking.my_appointment(uow=rt.uow(), clock=clock, account_id=account_id)
        return Held(view.id, None)
    view = booking.confirm_offer(
        uow=rt.uow(), clock=clock, rng=rt.rng, schedule=rt.schedule, slots=rt.slots,
        account_id=account_id, lat=TIJUANA["lat"], lon=TIJUANA["lon"],
    )  # fmt: skip
    return Held(view.id, view.confirmation_number)


def _case(rt: Runtime, account_id: int, need: str, caseworker: Reviewer | None) -> int:
    """The group's exception request on ``need``, taken by ``caseworker`` (None: queued)."""
    vulnerability.set_screening(
        uow=rt.uow(), clock=rt.clock, vault=rt.vault, account_id=account_id, answers=[(0, [need])]
    )
    case = vulnerability.request_exception(
        uow=rt.uow(), clock=rt.clock, vault=rt.vault, deadlines=deadlines(rt),
        account_id=account_id,
    ).id  # fmt: skip
    if caseworker is None:
        return case
    vulnerability.assign_case(
        uow=rt.uow(), clock=rt.clock, vault=rt.vault, exception_id=case, reviewer=caseworker
    )
    return case


def _build_cases(rt: Runtime, world: World) -> None:
    caseworker = Reviewer(world.accounts["caseworker"].id, admin=False)
    for name in (*CASE_OWNERS, "queued"):
        world.accounts[name] = _account(rt)
    world.queued_case = _case(rt, world.accounts["queued"].id, "gbv_survivor", None)
    needs = {"registrant": "pregnant", "decision_target": "disability",
             "urgent_case": "medical_emergency", "proposed_case": "imminent_threat"}  # fmt: skip
    for name, need in needs.items():
        world.cases[name] = _case(rt, world.accounts[name].id, need, caseworker)
    for name in ("urgent_case", "proposed_case"):
        vulnerability.decide_case(
            uow=rt.uow(), clock=rt.clock, vault=rt.vault, exception_id=world.cases[name],
            reviewer=caseworker, decision=Decision.APPROVE, reason=None,
        )  # fmt: skip
    placement.propose_urgent(
        uow=rt.uow(), clock=rt.clock, vault=rt.vault, exception_id=world.cases["proposed_case"],
        reviewer=caseworker, port=PORT, day=URGENT_DATE, rules=rules(rt),
    )  # fmt: skip


def _build_assisted(rt: Runtime, world: World) -> None:
    """``delegated``: an assisted person with a group, acted for by the caseworker's token;
    ``assign_target``: another of the caseworker's, for an admin to reassign (to them again:
    reassigning ends the account's delegated tokens, so it must not be ``delegated``)."""
    caseworker = world.accounts["caseworker"].view
    for name in (DELEGATED, "assign_target"):
        world.assisted[name] = _assisted(rt, caseworker).account_id
    _set_group(rt, world.assisted[DELEGATED])
    auth = _delegated_token(rt, caseworker, world.assisted[DELEGATED])
    token = auth["Authorization"].removeprefix("Bearer ")
    view = accounts.account_for_token(uow=rt.uow(), clock=rt.clock, token=token)
    assert view.acting_id == caseworker.id
    world.accounts[DELEGATED] = Account(view.id, view.username, auth, view)


def _build_shelter_and_document(rt: Runtime, world: World) -> None:
    shelters.create_shelter(
        uow=rt.uow(), clock=rt.clock,
        shelter=ShelterInput(
            slug=SHELTER, name="Casa Matriz", organization=ORG, address="Calle Uno 1",
            municipality="Tijuana", lat=TIJUANA["lat"], lon=TIJUANA["lon"], beds=30,
        ),
    )  # fmt: skip
    world.document_id = documents.record_document(
        uow=rt.uow(), clock=rt.clock, account_id=world.accounts["registrant"].id, member=0,
        kind="fmm", status="requested", requested_on=dt.date(2024, 8, 20), office="INM Tijuana",
    ).id  # fmt: skip


def _report(world: World) -> None:
    """A crime report, sent over HTTP, and the incidents caseworker's unlocked session."""
    sent = world.client.post(f"{V1}/incidents", json=incident_body())
    assert sent.status_code == 201, sent.text
    world.receipt = sent.json()["receipt"]
    team = world.accounts["incidents"].auth
    unlocked = world.client.post(
        f"{V1}/incidents/unlock", json={"passphrase": PASSPHRASE}, headers=team
    )
    assert unlocked.status_code == 200, unlocked.text
    world.unlock = unlocked.json()["unlock"]
    listed = world.client.get(f"{V1}/incidents", headers=team | {UNLOCK: world.unlock})
    assert listed.status_code == 200, listed.text
    world.report_id = listed.json()[0]["id"]


@contextmanager
def open_world(directory: Path, url: str | None = None) -> Iterator[World]:
    """The app on a fresh SQLite file in ``directory`` (or on the empty database ``url``),
    with the world built in it."""
    url = url or f"sqlite:///{directory / 'puerta.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    clock = FixedClock(REQUESTS_OPEN)
    settings = Settings(env="test", database_url=url, incidents_key_file=str(key_file(directory)))
    app = create_app(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    with TestClient(app, raise_server_exceptions=False) as client:
        world = World(client, clock, app.state.runtime)
        _build(app.state.runtime, clock, world)
        _report(world)
        yield world
    app.state.runtime.engine.dispose()


@dataclass(frozen=True)
class Call:
    """One request: a concrete path, a valid body, and when (the clock is set to ``at``)."""

    path: str
    json: Any = None
    data: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    actor: str | None = None
    """Whose token to send instead of the role's own: a fresh resource the call uses up."""
    at: dt.datetime = AFTER_DRAW


def request(world: World, method: str, call: Call, role: str) -> Response:
    """Make ``call`` as ``role``, with the clock where the call wants it."""
    world.clock.set(call.at)
    headers = world.auth(call.actor or role) | call.headers
    response: Response = world.client.request(
        method, call.path, json=call.json, data=call.data, content=call.content, headers=headers
    )
    return response


def outcome(response: Response) -> Outcome:
    """What the response says about authorization; anything else than that fails the case."""
    status = response.status_code
    is_json = "json" in response.headers.get("content-type", "")
    body = response.json() if response.content and is_json else {}
    code = body.get("code") if isinstance(body, dict) else None
    assert status < 500, f"server error: {response.text}"
    assert code != "invalid_request", f"the case sent an invalid request: {response.text}"
    assert code not in ("not_found", "method_not_allowed"), f"no such route: {response.text}"
    if status in (401, 403):
        assert response.headers["content-type"] == "application/problem+json", response.text
        assert body["status"] == status, response.text
        return 401 if status == 401 else 403
    return ALLOW
