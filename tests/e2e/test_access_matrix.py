"""Every route of the JSON API, called as every role, against a table of who may do what.

A route without a row in ``ACCESS`` fails the build: each new endpoint is born with an
explicit access decision. The cases act on one world (accounts, requests, a draw, confirmed
appointments, an appeal), built once per module and per xdist worker on SQLite only: what is
checked here is the routes' authorization, which does not depend on the database; the use
cases themselves run on PostgreSQL too in tests/integration and the other e2e tests.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response

from puerta.accounts import service as accounts
from puerta.accounts.domain import Member, Role
from puerta.appointments import booking
from puerta.appointments import service as appointments
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.draws import service as draws
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER
from tests.factories import PASSWORD, TIJUANA, member, phone

ALLOW: Literal["allow"] = "allow"
"""Past authorization: a 2xx, or a domain error other than 401 and 403."""
Outcome = Literal["allow", 401, 403]
Route = tuple[str, str]
ROLES = (
    "anonymous",
    "registrant",
    "other_registrant",
    "officer",
    "officer_other_port",
    "caseworker",
    "admin",
)

# One column per role, in the order of ROLES (anon, reg, other, off, off2, case, admin).
# "registrant" owns the resource a path names; "other_registrant" is a second registrant acting
# on it (on their own account for /me). "officer" works at the port concerned (san-ysidro),
# "officer_other_port" at another (laredo).
# fmt: off
ACCESS: dict[Route, tuple[Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome]] = {
        #anon   reg    other  off    off2   case   admin
    ("POST", "/api/v1/accounts"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("POST", "/api/v1/auth/token"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("POST", "/api/v1/auth/logout"):
        (401,   ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/me"):
        (401,   ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("PUT", "/api/v1/me/group"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("GET", "/api/v1/me/group"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("GET", "/api/v1/ports"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("PUT", "/api/v1/ports/{slug}/capacity/{date}"):
        (401,   403,   403,   403,   403,   403,   ALLOW),
    ("POST", "/api/v1/requests"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("GET", "/api/v1/requests/current"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("DELETE", "/api/v1/requests/current"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("POST", "/api/v1/draws"):
        (401,   403,   403,   403,   403,   403,   ALLOW),
    ("GET", "/api/v1/draws/{window}"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/windows/current"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/me/appointment"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("POST", "/api/v1/me/appointment/confirm"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("POST", "/api/v1/me/appointment/cancel"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"):
        (401,   403,   403,   403,   403,   403,   ALLOW),
    ("GET", "/api/v1/appeals"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   ALLOW),
    ("POST", "/api/v1/appeals/{appeal_id}/decision"):
        (401,   403,   403,   403,   403,   403,   ALLOW),
    ("GET", "/api/v1/ports/{slug}/manifest/{date}"):
        (401,   403,   403,   ALLOW, 403,   403,   ALLOW),
    # Another port's officer is let through, to be told there is no such appointment at their
    # port (404), exactly as for a wrong number: a 403 would confirm the number is real.
    ("POST", "/api/v1/checkins"):
        (401,   403,   403,   ALLOW, ALLOW, 403,   403),
    ("POST", "/api/v1/appointments/{appointment_id}/no-show"):
        (401,   403,   403,   ALLOW, 403,   403,   403),
    ("GET", "/api/v1/geofence/check"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
}
# fmt: on

V1 = "/api/v1"
CDT = dt.timezone(dt.timedelta(hours=-5))
PDT = dt.timezone(dt.timedelta(hours=-7))
WINDOW = dt.date(2024, 9, 2)
SERVICE_DATE = dt.date(2024, 9, 16)
PORT, OTHER_PORT = "san-ysidro", "laredo"
REQUESTS_OPEN = dt.datetime(2024, 9, 2, 13, 0, tzinfo=CDT)
DRAW_TIME = dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT)
# The next window is open and the draw's offers have not expired yet.
AFTER_DRAW = dt.datetime(2024, 9, 3, 13, 0, tzinfo=CDT)
SERVICE_MORNING = dt.datetime(2024, 9, 16, 8, 0, tzinfo=PDT)
SERVICE_EVENING = dt.datetime(2024, 9, 16, 16, 0, tzinfo=PDT)
BIRTH_DATE = dt.date(1990, 3, 14)


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    auth: dict[str, str]


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

    def auth(self, name: str) -> dict[str, str]:
        return {} if name == "anonymous" else self.accounts[name].auth

    def fresh_auth(self, name: str) -> dict[str, str]:
        """A new token of the account, for calls that revoke the one they are made with."""
        return {} if name == "anonymous" else _token(self.runtime, self.accounts[name].username)


def _token(rt: Runtime, username: str) -> dict[str, str]:
    token, _ = accounts.log_in(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=username, password=PASSWORD,
        ttl=dt.timedelta(days=365),
    )  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


def _account(rt: Runtime, role: Role = Role.REGISTRANT, port: str | None = None) -> Account:
    view = accounts.create_account(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=phone(), password=PASSWORD,
        language="en", languages=available_languages(), role=role, port=port,
    )  # fmt: skip
    if role is Role.REGISTRANT:
        accounts.set_group(
            uow=rt.uow(), clock=rt.clock, account_id=view.id,
            members=[Member("Marie", "Joseph", BIRTH_DATE, "HTI", ("ht",))],
            lock=rt.group_lock,
        )  # fmt: skip
    return Account(view.id, view.username, _token(rt, view.username))


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


def _build(rt: Runtime, clock: FixedClock, world: World) -> None:
    for name, role, port in (
        ("admin", Role.ADMIN, None),
        ("caseworker", Role.CASEWORKER, None),
        ("officer", Role.OFFICER, PORT),
        ("officer_other_port", Role.OFFICER, OTHER_PORT),
        ("other_registrant", Role.REGISTRANT, None),
    ):
        world.accounts[name] = _account(rt, role, port)
    admin_id = world.accounts["admin"].id
    appointments.set_capacity(
        uow=rt.uow(), clock=clock, slug=PORT, service_date=SERVICE_DATE, seats=50,
        actor_id=admin_id,
    )  # fmt: skip
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


@contextmanager
def open_world(directory: Path) -> Iterator[World]:
    """The app on a fresh SQLite file in ``directory``, with the world built in it."""
    url = f"sqlite:///{directory / 'puerta.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    clock = FixedClock(REQUESTS_OPEN)
    settings = Settings(env="test", database_url=url)
    app = create_app(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    with TestClient(app, raise_server_exceptions=False) as client:
        world = World(client, clock, app.state.runtime)
        _build(app.state.runtime, clock, world)
        yield world
    app.state.runtime.engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(tmp_path_factory.mktemp("access")) as built:
        yield built


@dataclass(frozen=True)
class Call:
    """One request: a concrete path, a valid body, and when (the clock is set to ``at``)."""

    path: str
    json: Any = None
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    actor: str | None = None
    """Whose token to send instead of the role's own: a fresh resource the call uses up."""
    at: dt.datetime = AFTER_DRAW


def _own_holder(role: str, holder: str) -> str | None:
    # The registrant's case acts as a holder of its own, so it uses up nothing others need.
    return holder if role == "registrant" else None


def _checkin(w: World, role: str) -> Call:
    number = w.held["checkin_target"].confirmation_number
    body = {"confirmation_number": number, "birth_date": BIRTH_DATE.isoformat()}
    return Call(f"{V1}/checkins", json=body, at=SERVICE_MORNING)


CALLS: dict[Route, Callable[[World, str], Call]] = {
    ("POST", "/api/v1/accounts"): lambda w, role: Call(
        f"{V1}/accounts", json={"username": phone(), "password": PASSWORD, "language": "es"}
    ),
    ("POST", "/api/v1/auth/token"): lambda w, role: Call(
        f"{V1}/auth/token",
        data={
            "username": w.accounts["registrant" if role == "anonymous" else role].username,
            "password": PASSWORD,
        },
    ),
    ("POST", "/api/v1/auth/logout"): lambda w, role: Call(
        f"{V1}/auth/logout", headers=w.fresh_auth(role)
    ),
    ("GET", "/api/v1/me"): lambda w, role: Call(f"{V1}/me"),
    ("PUT", "/api/v1/me/group"): lambda w, role: Call(
        f"{V1}/me/group", json={"members": [member()]}
    ),
    ("GET", "/api/v1/me/group"): lambda w, role: Call(f"{V1}/me/group"),
    ("GET", "/api/v1/ports"): lambda w, role: Call(f"{V1}/ports"),
    ("PUT", "/api/v1/ports/{slug}/capacity/{date}"): lambda w, role: Call(
        f"{V1}/ports/{PORT}/capacity/2024-09-20", json={"seats": 40}
    ),
    ("POST", "/api/v1/requests"): lambda w, role: Call(
        f"{V1}/requests",
        json={"ports": [PORT], "location": TIJUANA, "standing": False},
        headers={"Idempotency-Key": f"matrix-{role}"},
    ),
    ("GET", "/api/v1/requests/current"): lambda w, role: Call(f"{V1}/requests/current"),
    ("DELETE", "/api/v1/requests/current"): lambda w, role: Call(f"{V1}/requests/current"),
    ("POST", "/api/v1/draws"): lambda w, role: Call(
        f"{V1}/draws", json={"window": WINDOW.isoformat()}
    ),
    ("GET", "/api/v1/draws/{window}"): lambda w, role: Call(f"{V1}/draws/{WINDOW}"),
    ("GET", "/api/v1/windows/current"): lambda w, role: Call(f"{V1}/windows/current"),
    ("GET", "/api/v1/me/appointment"): lambda w, role: Call(f"{V1}/me/appointment"),
    ("POST", "/api/v1/me/appointment/confirm"): lambda w, role: Call(
        f"{V1}/me/appointment/confirm",
        json={"location": TIJUANA},
        actor=_own_holder(role, "offer_holder"),
    ),
    ("POST", "/api/v1/me/appointment/cancel"): lambda w, role: Call(
        f"{V1}/me/appointment/cancel", actor=_own_holder(role, "own_canceller")
    ),
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): lambda w, role: Call(
        f"{V1}/appointments/{w.held['cancel_target'].id}/cancel",
        json={"reason": "The group was registered twice."},
    ),
    ("GET", "/api/v1/appeals"): lambda w, role: Call(f"{V1}/appeals"),
    ("POST", "/api/v1/appeals/{appeal_id}/decision"): lambda w, role: Call(
        f"{V1}/appeals/{w.appeal_id}/decision",
        json={"decision": "uphold", "note": "Confirmed: a duplicate registration."},
    ),
    ("GET", "/api/v1/ports/{slug}/manifest/{date}"): lambda w, role: Call(
        f"{V1}/ports/{PORT}/manifest/{SERVICE_DATE}"
    ),
    ("POST", "/api/v1/checkins"): _checkin,
    ("POST", "/api/v1/appointments/{appointment_id}/no-show"): lambda w, role: Call(
        f"{V1}/appointments/{w.held['no_show_target'].id}/no-show", at=SERVICE_EVENING
    ),
    ("GET", "/api/v1/geofence/check"): lambda w, role: Call(
        f"{V1}/geofence/check?lat={TIJUANA['lat']}&lon={TIJUANA['lon']}"
    ),
}


def registered_routes(app: FastAPI) -> set[Route]:
    """(method, path template) of every JSON API route the app serves."""
    routes = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.path.startswith(V1 + "/"):
            routes.update((method, context.path) for method in context.methods or ())
    return routes


def send(world: World, route: Route, role: str) -> Response:
    """Make the route's call as ``role``, with the clock where the call wants it."""
    call = CALLS[route](world, role)
    world.clock.set(call.at)
    headers = world.auth(call.actor or role) | call.headers
    return world.client.request(
        route[0], call.path, json=call.json, data=call.data, headers=headers
    )


def outcome(response: Response) -> Outcome:
    """What the response says about authorization; anything else than that fails the case."""
    status = response.status_code
    body = response.json() if response.content else {}
    code = body.get("code") if isinstance(body, dict) else None
    assert status < 500, f"server error: {response.text}"
    assert code != "invalid_request", f"the case sent an invalid request: {response.text}"
    assert code not in ("not_found", "method_not_allowed"), f"no such route: {response.text}"
    if status in (401, 403):
        assert response.headers["content-type"] == "application/problem+json", response.text
        assert body["status"] == status, response.text
        return 401 if status == 401 else 403
    return ALLOW


CASES = [
    pytest.param(route, role, id=f"{route[0]} {route[1]} as {role}")
    for route in ACCESS
    for role in ROLES
]


class TestAccessMatrix:
    def test_the_table_names_every_route_and_only_routes_that_exist(self) -> None:
        app = create_app(Settings(env="test", database_url="sqlite://"))
        served = registered_routes(app)
        assert sorted(served - ACCESS.keys()) == [], "routes without an access decision"
        assert sorted(ACCESS.keys() - served) == [], "rows for routes that do not exist"
        assert ACCESS.keys() == CALLS.keys(), "every row needs a request to send"

    @pytest.mark.parametrize(("route", "role"), CASES)
    def test_each_role_gets_exactly_the_access_the_table_gives(
        self, world: World, route: Route, role: str
    ) -> None:
        response = send(world, route, role)
        expected = ACCESS[route][ROLES.index(role)]
        assert outcome(response) == expected, f"{response.status_code} {response.text}"


class TestScoping:
    def test_a_registrant_sees_their_own_appeals_and_no_one_elses(self, world: World) -> None:
        world.clock.set(AFTER_DRAW)
        own = world.client.get(f"{V1}/appeals", headers=world.auth("registrant"))
        other = world.client.get(f"{V1}/appeals", headers=world.auth("other_registrant"))
        assert [a["id"] for a in own.json()] == [world.appeal_id]
        assert other.status_code == 200 and other.json() == []

    def test_a_registrant_sees_only_their_own_appointment(self, world: World) -> None:
        world.clock.set(AFTER_DRAW)
        mine = world.client.get(f"{V1}/me/appointment", headers=world.auth("registrant"))
        theirs = world.client.get(f"{V1}/me/appointment", headers=world.auth("other_registrant"))
        assert mine.json()["id"] == world.held["registrant"].id
        assert theirs.status_code == 404 and theirs.json()["code"] == "no_appointment"
