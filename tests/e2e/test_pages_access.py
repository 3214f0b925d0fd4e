"""Every page, opened or posted as every role, against a table of who may do what.

A page without a row in ``PAGES`` fails the build, as API routes do in test_access_matrix
(which has every route under /api/v1; the API docs and their files are pages here).
Forms are sent with a valid CSRF token, so a 403 here is the role's refusal, told apart from
other errors by its code; "login" means the page sent the visitor to the login page.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import Literal

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER, OPEN_INSTANT
from tests.e2e.pages_helpers import csrf, register, staff_login

Outcome = Literal["allow", "login", 403]
ROLES = ("anonymous", "registrant", "officer", "caseworker", "admin", "incidents")
A, L, F = "allow", "login", 403
PERSON: tuple[Outcome, ...] = (L, A, F, F, F, F)
ADMIN: tuple[Outcome, ...] = (L, F, F, F, A, F)
EVERYONE: tuple[Outcome, ...] = (A, A, A, A, A, A)
CASEWORKER: tuple[Outcome, ...] = (L, F, F, A, F, F)
INCIDENTS: tuple[Outcome, ...] = (L, F, F, F, F, A)
# fmt: off
PAGES: dict[tuple[str, str], tuple[Outcome, ...]] = {
    #                                   anon reg off case admin inc
    ("GET", "/"): EVERYONE,
    ("GET", "/translations"): EVERYONE,
    ("GET", "/api/docs"): EVERYONE,
    ("GET", "/api/docs/assets/swagger-ui-bundle.js"): EVERYONE,
    ("GET", "/api/docs/assets/swagger-ui.css"): EVERYONE,
    ("POST", "/language"): EVERYONE,
    ("GET", "/register"): EVERYONE,
    ("POST", "/register"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/logout"): (L, A, A, A, A, A),
    ("GET", "/status"): PERSON,
    ("GET", "/group"): PERSON,
    ("POST", "/group"): PERSON,
    ("GET", "/request"): PERSON,
    ("POST", "/request"): PERSON,
    ("POST", "/request/withdraw"): PERSON,
    ("GET", "/appointment"): PERSON,
    ("POST", "/appointment/confirm"): PERSON,
    ("GET", "/appointment/cancel"): PERSON,
    ("POST", "/appointment/cancel"): PERSON,
    ("GET", "/officer"): (L, F, A, F, A, F),
    ("POST", "/officer/checkin"): (L, F, A, F, F, F),
    ("POST", "/officer/no-show"): (L, F, A, F, F, F),
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/capacity"): ADMIN,
    ("POST", "/admin/capacity"): ADMIN,
    ("GET", "/admin/geofence"): ADMIN,
    ("GET", "/admin/draws"): ADMIN,
    ("POST", "/admin/draws"): ADMIN,
    ("POST", "/admin/draws/verify"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users/role"): ADMIN,
    ("POST", "/admin/users/unlock"): ADMIN,
    ("GET", "/admin/appeals"): ADMIN,
    ("POST", "/admin/appeals/{appeal_id}"): ADMIN,
    ("POST", "/admin/appointments/{appointment_id}/cancel"): ADMIN,
    ("GET", "/caseworker"): CASEWORKER,
    ("GET", "/caseworker/people/new"): CASEWORKER,
    ("POST", "/caseworker/people/new"): CASEWORKER,
    ("POST", "/caseworker/people/{account_id}/act"): CASEWORKER,
    ("POST", "/caseworker/unlock"): CASEWORKER,
    # Anyone may end a delegated session: without one it only sends the visitor to log in.
    ("POST", "/caseworker/stop"): EVERYONE,
    ("GET", "/claim"): EVERYONE,
    ("POST", "/claim"): EVERYONE,
    ("GET", "/shelters"): EVERYONE,
    ("GET", "/.well-known/puerta-keys.json"): EVERYONE,
    ("GET", "/.well-known/puerta-status.json"): EVERYONE,
    ("GET", "/proof"): PERSON,
    ("GET", "/proof/appointment"): PERSON,
    ("GET", "/verify"): EVERYONE,
    ("GET", "/verify-sw.js"): EVERYONE,
    ("GET", "/verify/online"): EVERYONE,
    ("POST", "/verify/online"): EVERYONE,
    ("GET", "/report"): EVERYONE,
    ("POST", "/report"): EVERYONE,
    ("GET", "/report/follow-up"): EVERYONE,
    ("POST", "/report/follow-up"): EVERYONE,
    ("GET", "/incidents/stats"): EVERYONE,
    ("GET", "/triage"): INCIDENTS,
    ("POST", "/triage/unlock"): INCIDENTS,
    ("POST", "/triage/lock"): INCIDENTS,
    ("GET", "/triage/export.huridocs.json"): INCIDENTS,
    ("GET", "/triage/{report_id}"): INCIDENTS,
    ("POST", "/triage/{report_id}/note"): INCIDENTS,
    ("POST", "/triage/{report_id}/message"): INCIDENTS,
    ("POST", "/triage/{report_id}/status"): INCIDENTS,
    ("GET", "/caseworker/shelters"): (L, F, F, A, A, F),
    ("POST", "/caseworker/shelters/{slug}/occupancy"): (L, F, F, A, A, F),
    ("GET", "/me/data"): PERSON,
    ("GET", "/me/data/export.json"): PERSON,
    ("POST", "/me/data/erase"): PERSON,
    ("GET", "/documents"): PERSON,
    ("POST", "/documents"): PERSON,
    ("POST", "/documents/{document_id}"): PERSON,
    ("GET", "/screening"): PERSON,
    ("POST", "/screening"): PERSON,
    ("GET", "/exception"): PERSON,
    ("POST", "/exception"): PERSON,
    ("POST", "/exception/review"): PERSON,
    ("GET", "/caseworker/cases"): (L, F, F, A, A, F),
    ("GET", "/caseworker/cases/{exception_id}"): (L, F, F, A, A, F),
    ("POST", "/caseworker/cases/{exception_id}/assign"): (L, F, F, A, A, F),
    ("POST", "/caseworker/cases/{exception_id}/decision"): (L, F, F, A, A, F),
    ("POST", "/caseworker/cases/{exception_id}/urgent"): CASEWORKER,
    ("POST", "/caseworker/cases/{exception_id}/urgent/approve"): ADMIN,
}
# fmt: on
PATHS = {
    "/admin/appeals/{appeal_id}": "/admin/appeals/1",
    "/admin/appointments/{appointment_id}/cancel": "/admin/appointments/1/cancel",
    "/caseworker/people/{account_id}/act": "/caseworker/people/1/act",
    "/caseworker/shelters/{slug}/occupancy": "/caseworker/shelters/no-such-shelter/occupancy",
    "/documents/{document_id}": "/documents/1",
    **{
        f"/triage/{{report_id}}{end}": f"/triage/1{end}"
        for end in ("", "/note", "/message", "/status")
    },
    **{
        f"/caseworker/cases/{{exception_id}}{end}": f"/caseworker/cases/1{end}"
        for end in ("", "/assign", "/decision", "/urgent", "/urgent/approve")
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'puerta.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app(Settings(env="test", database_url=url), clock=FixedClock(OPEN_INSTANT),
                     hasher=FAST_HASHER, rng=random.Random(7))  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.runtime.engine.dispose()


def page_routes(client: TestClient) -> set[tuple[str, str]]:
    routes = set()
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if isinstance(route, APIRoute) and not context.path.startswith("/api/v1/"):
            routes.update((method, context.path) for method in context.methods or ())
    return routes


def as_role(app_client: TestClient, role: str) -> TestClient:
    client = TestClient(app_client.app, raise_server_exceptions=False)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    if role == "registrant":
        register(client)
    elif role != "anonymous":
        port = "san-ysidro" if role == "officer" else None
        staff_login(client, runtime, Role(role), port)
    return client


def outcome(client: TestClient, method: str, path: str) -> Outcome:
    if method == "GET":
        answer = client.get(path, follow_redirects=False)
    else:
        token = csrf(client.get("/").text)
        answer = client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code < 500, answer.text
    if answer.status_code == 303 and answer.headers["location"].startswith("/login?next="):
        return "login"
    if answer.status_code == 403:
        if "json" in answer.headers.get("content-type", ""):
            code = answer.json()["code"]  # a file the page serves (the HURIDOCS export)
        elif 'id="error-code">' not in answer.text and 'action="/triage/unlock"' in answer.text:
            code = "incidents_locked"  # the triage page asks for the team's passphrase
        else:
            code = answer.text.split('id="error-code">', 1)[1].split("<", 1)[0]
        if code == "incidents_locked":
            return "allow"  # past the role's check: locked until the team's passphrase opens it
        assert code in ("role_required", "wrong_port"), f"refused for another reason: {code}"
        return 403
    return "allow"


class TestPageAccess:
    def test_the_table_names_every_page_and_only_pages_that_exist(
        self, app_client: TestClient
    ) -> None:
        served = page_routes(app_client)
        assert sorted(served - PAGES.keys()) == [], "pages without an access decision"
        assert sorted(PAGES.keys() - served) == [], "rows for pages that do not exist"

    @pytest.mark.parametrize(
        ("route", "role"),
        [pytest.param(r, role, id=f"{r[0]} {r[1]} as {role}") for r in PAGES for role in ROLES],
    )
    def test_each_role_gets_exactly_the_access_the_table_gives(
        self, app_client: TestClient, route: tuple[str, str], role: str
    ) -> None:
        method, template = route
        expected = PAGES[route][ROLES.index(role)]
        client = as_role(app_client, role)
        assert outcome(client, method, PATHS.get(template, template)) == expected

    def test_a_session_from_before_a_clock_jump_still_sees_the_start_page(
        self, app_client: TestClient
    ) -> None:
        clock = app_client.app.state.runtime.clock  # type: ignore[attr-defined]
        client = as_role(app_client, "registrant")
        clock.advance(dt.timedelta(days=30))
        try:
            assert client.get("/").status_code == 200
            assert client.get("/status", follow_redirects=False).status_code == 303
        finally:
            clock.set(OPEN_INSTANT)
