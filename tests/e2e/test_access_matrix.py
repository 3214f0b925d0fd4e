"""Every route of the JSON API, called as every role, against a table of who may do what.

A route without a row in ``ACCESS`` fails the build: each new endpoint is born with an
explicit access decision. The cases act on one world (tests/e2e/access_world.py), built once
per module and per xdist worker. Two callers are checked apart, against a column: a
delegated token (a caseworker acting as the person they registered) must be let through
exactly where a registrant is, and a caseworker of the case's caseworker's own organization
gets another caseworker's access (but to the organization's shelter).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import Response

from puerta.config import Settings
from puerta.web.app import create_app
from tests.e2e.access_world import (
    AFTER_DRAW,
    ALLOW,
    BIRTH_DATE,
    DELEGATED,
    ORG,
    PORT,
    SERVICE_DATE,
    SERVICE_EVENING,
    SERVICE_MORNING,
    SHELTER,
    UNLOCK,
    URGENT_DATE,
    V1,
    WINDOW,
    Call,
    Outcome,
    Route,
    World,
    open_world,
    outcome,
    request,
)
from tests.factories import PASSWORD, TIJUANA, member, phone
from tests.incidents_helpers import PASSPHRASE
from tests.incidents_helpers import body as incident_body

ROLES = (
    "anonymous",
    "registrant",
    "other_registrant",
    "officer",
    "officer_other_port",
    "caseworker",
    "other_caseworker",
    "admin",
    "incidents",
)
Row = tuple[Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome]

# One column per role, in the order of ROLES (anon, reg, other, off, off2, case, case2, admin,
# inc).
# "registrant" owns the resource a path names; "other_registrant" is a second registrant acting
# on it (on their own account for /me). "officer" works at the port concerned (san-ysidro),
# "officer_other_port" at another (laredo). "caseworker" is the caseworker of the case: the
# assisted account and the exception request are assigned to them, the shelter is their
# organization's; "other_caseworker" works for another organization. "incidents" is a
# caseworker of the incidents team, who triages crime reports.
# fmt: off
ACCESS: dict[Route, Row] = {
        #anon   reg    other  off    off2   case   case2  admin  inc
    ("POST", "/api/v1/accounts"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("POST", "/api/v1/auth/token"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("POST", "/api/v1/auth/logout"):
        (401,   ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/me"):
        (401,   ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("PUT", "/api/v1/me/group"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/me/group"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    # A person's data: the export, and the erasure (each call erases a throwaway account).
    ("GET", "/api/v1/me/export"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("DELETE", "/api/v1/me"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/health"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/ports"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("PUT", "/api/v1/ports/{slug}/capacity/{date}"):
        (401,   403,   403,   403,   403,   403,   403,   ALLOW, 403),
    ("POST", "/api/v1/requests"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/requests/current"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("DELETE", "/api/v1/requests/current"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("POST", "/api/v1/draws"):
        (401,   403,   403,   403,   403,   403,   403,   ALLOW, 403),
    ("GET", "/api/v1/draws/{window}"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/windows/current"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/me/appointment"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("POST", "/api/v1/me/appointment/confirm"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("POST", "/api/v1/me/appointment/cancel"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"):
        (401,   403,   403,   403,   403,   403,   403,   ALLOW, 403),
    ("GET", "/api/v1/appeals"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   ALLOW, 403),
    ("POST", "/api/v1/appeals/{appeal_id}/decision"):
        (401,   403,   403,   403,   403,   403,   403,   ALLOW, 403),
    ("GET", "/api/v1/ports/{slug}/manifest/{date}"):
        (401,   403,   403,   ALLOW, 403,   403,   403,   ALLOW, 403),
    # Another port's officer is let through, to be told there is no such appointment at their
    # port (404), exactly as for a wrong number: a 403 would confirm the number is real.
    ("POST", "/api/v1/checkins"):
        (401,   403,   403,   ALLOW, ALLOW, 403,   403,   403,   403),
    ("POST", "/api/v1/appointments/{appointment_id}/no-show"):
        (401,   403,   403,   ALLOW, 403,   403,   403,   403,   403),
    ("GET", "/api/v1/geofence/check"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    # Assisted registration. The person of an assisted account has no password until they
    # claim it; what their delegated token may do is checked apart (TestDelegatedToken).
    ("POST", "/api/v1/assisted"):
        (401,   403,   403,   403,   403,   ALLOW, ALLOW, 403,   403),
    # Another caseworker is answered an empty list (TestScoping).
    ("GET", "/api/v1/assisted"):
        (401,   403,   403,   403,   403,   ALLOW, ALLOW, ALLOW, 403),
    ("GET", "/api/v1/assisted/{account_id}"):
        (401,   403,   403,   403,   403,   ALLOW, 403,   ALLOW, 403),
    ("POST", "/api/v1/assisted/{account_id}/token"):
        (401,   403,   403,   403,   403,   ALLOW, 403,   403,   403),
    ("POST", "/api/v1/assisted/{account_id}/assign"):
        (401,   403,   403,   403,   403,   403,   403,   ALLOW, 403),
    ("POST", "/api/v1/accounts/claim"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    # Lifting a login lockout: an admin, or the caseworker of the (assisted) account.
    ("POST", "/api/v1/accounts/{account_id}/unlock"):
        (401,   403,   403,   403,   403,   ALLOW, 403,   ALLOW, 403),
    # Vulnerability screening and the exception lane.
    ("GET", "/api/v1/screening/needs"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("PUT", "/api/v1/me/screening"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/me/screening"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("POST", "/api/v1/me/exception"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/me/exception"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("POST", "/api/v1/me/exception/review"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    # Another caseworker sees the unassigned queue and their own cases only (TestScoping).
    ("GET", "/api/v1/exceptions"):
        (401,   403,   403,   403,   403,   ALLOW, ALLOW, ALLOW, 403),
    ("GET", "/api/v1/exceptions/{exception_id}"):
        (401,   403,   403,   403,   403,   ALLOW, 403,   ALLOW, 403),
    # Assigning the case to its own caseworker: they may (it is theirs already), an admin
    # may; another caseworker may assign a case to no one but themself, and not this one.
    ("POST", "/api/v1/exceptions/{exception_id}/assign"):
        (401,   403,   403,   403,   403,   ALLOW, 403,   ALLOW, 403),
    # A pending case is decided by its caseworker alone; an admin decides a denial under
    # review, or revokes an approval, not a pending case of a caseworker.
    ("POST", "/api/v1/exceptions/{exception_id}/decision"):
        (401,   403,   403,   403,   403,   ALLOW, 403,   403,   403),
    ("POST", "/api/v1/exceptions/{exception_id}/urgent"):
        (401,   403,   403,   403,   403,   ALLOW, 403,   403,   403),
    ("POST", "/api/v1/exceptions/{exception_id}/urgent/approve"):
        (401,   403,   403,   403,   403,   403,   403,   ALLOW, 403),
    # Shelters.
    ("GET", "/api/v1/shelters"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/shelters/export.hsds.json"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/shelters/export.hxl.csv"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("POST", "/api/v1/shelters"):
        (401,   403,   403,   403,   403,   403,   403,   ALLOW, 403),
    ("POST", "/api/v1/shelters/import"):
        (401,   403,   403,   403,   403,   403,   403,   ALLOW, 403),
    ("PUT", "/api/v1/shelters/{slug}/occupancy"):
        (401,   403,   403,   403,   403,   ALLOW, 403,   ALLOW, 403),
    # Immigration documents. Another family's document is not found (404), as a wrong id is:
    # a 403 would confirm the id is real.
    ("POST", "/api/v1/me/documents"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("PATCH", "/api/v1/me/documents/{document_id}"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/me/documents"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/stats/documents"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/me/proofs"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/me/proofs/{kind}.svg"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    ("GET", "/api/v1/me/proofs/{kind}.png"):
        (401,   ALLOW, ALLOW, 403,   403,   403,   403,   403,   403),
    # The online check officials use: anyone, no account (rate-limited per address).
    ("POST", "/api/v1/verify"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    # Crime reports: anyone reports and follows up with the receipt; only the incidents team
    # triages, with the unlock value of its own session.
    ("POST", "/api/v1/incidents"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("POST", "/api/v1/incidents/lookup"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("POST", "/api/v1/incidents/follow-up"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("GET", "/api/v1/stats/incidents"):
        (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    ("POST", "/api/v1/incidents/unlock"):
        (401,   403,   403,   403,   403,   403,   403,   403,   ALLOW),
    ("GET", "/api/v1/incidents"):
        (401,   403,   403,   403,   403,   403,   403,   403,   ALLOW),
    ("GET", "/api/v1/incidents/export.huridocs.json"):
        (401,   403,   403,   403,   403,   403,   403,   403,   ALLOW),
    ("GET", "/api/v1/incidents/{report_id}"):
        (401,   403,   403,   403,   403,   403,   403,   403,   ALLOW),
    ("POST", "/api/v1/incidents/{report_id}/notes"):
        (401,   403,   403,   403,   403,   403,   403,   403,   ALLOW),
    ("POST", "/api/v1/incidents/{report_id}/messages"):
        (401,   403,   403,   403,   403,   403,   403,   403,   ALLOW),
    ("POST", "/api/v1/incidents/{report_id}/status"):
        (401,   403,   403,   403,   403,   403,   403,   403,   ALLOW),
}
# fmt: on


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(tmp_path_factory.mktemp("access")) as built:
        yield built


def _own_holder(role: str, holder: str) -> str | None:
    # The registrant's case acts as a holder of its own, so it uses up nothing others need.
    return holder if role == "registrant" else None


def _checkin(w: World, role: str) -> Call:
    number = w.held["checkin_target"].confirmation_number
    body = {"confirmation_number": number, "birth_date": BIRTH_DATE.isoformat()}
    return Call(f"{V1}/checkins", json=body, at=SERVICE_MORNING)


def _login(w: World, role: str) -> Call:
    # Who has no password of their own (anonymous, the assisted person) logs in as registrant.
    name = "registrant" if role in ("anonymous", DELEGATED) else role
    return Call(
        f"{V1}/auth/token", data={"username": w.accounts[name].username, "password": PASSWORD}
    )


def _decision(w: World, role: str) -> Call:
    # The caseworker decides a pending case of their own, so the others find the
    # registrant's case still pending, whichever order the cases run in.
    case = w.cases["decision_target" if role == "caseworker" else "registrant"]
    body = {"decision": "more_info", "reason": "Please bring the clinic's letter."}
    return Call(f"{V1}/exceptions/{case}/decision", json=body)


def _new_shelter(w: World, role: str) -> Call:
    body = {
        "slug": f"matriz-{role}", "name": "Casa Nueva", "organization": ORG,
        "municipality": "Tijuana", "lat": TIJUANA["lat"], "lon": TIJUANA["lon"], "beds": 12,
        "services": ["food"], "populations": ["families"], "languages": ["es"],
    }  # fmt: skip
    return Call(f"{V1}/shelters", json=body)


SHELTERS_CSV = (
    "slug,name,organization,municipality,lat,lon,beds,services\n"
    f"matriz-importada,Casa Importada,{ORG},Tijuana,{TIJUANA['lat']},{TIJUANA['lon']},8,food\n"
).encode()


def _triage(w: World, path: str, json: Any = None) -> Call:
    """A triage call, with the unlock value of the incidents caseworker's session."""
    return Call(path, json=json, headers={UNLOCK: w.unlock})


CALLS: dict[Route, Callable[[World, str], Call]] = {
    ("POST", "/api/v1/accounts"): lambda w, role: Call(
        f"{V1}/accounts", json={"username": phone(), "password": PASSWORD, "language": "es"}
    ),
    ("POST", "/api/v1/auth/token"): _login,
    ("POST", "/api/v1/auth/logout"): lambda w, role: Call(
        f"{V1}/auth/logout", headers=w.fresh_auth(role)
    ),
    ("GET", "/api/v1/me"): lambda w, role: Call(f"{V1}/me"),
    ("PUT", "/api/v1/me/group"): lambda w, role: Call(
        f"{V1}/me/group", json={"members": [member()]}
    ),
    ("GET", "/api/v1/me/group"): lambda w, role: Call(f"{V1}/me/group"),
    ("GET", "/api/v1/me/export"): lambda w, role: Call(f"{V1}/me/export"),
    ("DELETE", "/api/v1/me"): lambda w, role: Call(
        f"{V1}/me", json={"password": PASSWORD, "consent": "signed"}, actor=w.throwaway(role)
    ),
    ("GET", "/api/v1/health"): lambda w, role: Call(f"{V1}/health"),
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
    ("POST", "/api/v1/assisted"): lambda w, role: Call(
        f"{V1}/assisted", json={"language": "es", "consent": {"given": True, "how": "signed"}}
    ),
    ("GET", "/api/v1/assisted"): lambda w, role: Call(f"{V1}/assisted"),
    ("GET", "/api/v1/assisted/{account_id}"): lambda w, role: Call(
        f"{V1}/assisted/{w.assisted[DELEGATED]}"
    ),
    ("POST", "/api/v1/assisted/{account_id}/token"): lambda w, role: Call(
        f"{V1}/assisted/{w.assisted[DELEGATED]}/token"
    ),
    ("POST", "/api/v1/assisted/{account_id}/assign"): lambda w, role: Call(
        f"{V1}/assisted/{w.assisted['assign_target']}/assign",
        json={"caseworker": w.accounts["caseworker"].id},
    ),
    ("POST", "/api/v1/accounts/{account_id}/unlock"): lambda w, role: Call(
        f"{V1}/accounts/{w.assisted[DELEGATED]}/unlock"
    ),
    ("POST", "/api/v1/accounts/claim"): lambda w, role: Call(
        f"{V1}/accounts/claim",
        json={"claim_code": w.new_claim_code(), "username": phone(), "password": PASSWORD},
    ),
    ("GET", "/api/v1/screening/needs"): lambda w, role: Call(f"{V1}/screening/needs"),
    ("PUT", "/api/v1/me/screening"): lambda w, role: Call(
        f"{V1}/me/screening", json={"answers": [{"member": 0, "needs": ["pregnant"]}]}
    ),
    ("GET", "/api/v1/me/screening"): lambda w, role: Call(f"{V1}/me/screening"),
    ("POST", "/api/v1/me/exception"): lambda w, role: Call(f"{V1}/me/exception"),
    ("GET", "/api/v1/me/exception"): lambda w, role: Call(f"{V1}/me/exception"),
    ("POST", "/api/v1/me/exception/review"): lambda w, role: Call(f"{V1}/me/exception/review"),
    ("GET", "/api/v1/exceptions"): lambda w, role: Call(f"{V1}/exceptions?status=pending"),
    ("GET", "/api/v1/exceptions/{exception_id}"): lambda w, role: Call(
        f"{V1}/exceptions/{w.cases['registrant']}"
    ),
    ("POST", "/api/v1/exceptions/{exception_id}/assign"): lambda w, role: Call(
        f"{V1}/exceptions/{w.cases['registrant']}/assign",
        json={"caseworker": w.accounts["caseworker"].id},
    ),
    ("POST", "/api/v1/exceptions/{exception_id}/decision"): _decision,
    ("POST", "/api/v1/exceptions/{exception_id}/urgent"): lambda w, role: Call(
        f"{V1}/exceptions/{w.cases['urgent_case']}/urgent",
        json={"port": PORT, "date": URGENT_DATE.isoformat()},
    ),
    ("POST", "/api/v1/exceptions/{exception_id}/urgent/approve"): lambda w, role: Call(
        f"{V1}/exceptions/{w.cases['proposed_case']}/urgent/approve"
    ),
    ("GET", "/api/v1/shelters"): lambda w, role: Call(
        f"{V1}/shelters?lat={TIJUANA['lat']}&lon={TIJUANA['lon']}&service=food&has_room=true"
    ),
    ("GET", "/api/v1/shelters/export.hsds.json"): lambda w, role: Call(
        f"{V1}/shelters/export.hsds.json"
    ),
    ("GET", "/api/v1/shelters/export.hxl.csv"): lambda w, role: Call(
        f"{V1}/shelters/export.hxl.csv"
    ),
    ("POST", "/api/v1/shelters"): _new_shelter,
    ("POST", "/api/v1/shelters/import"): lambda w, role: Call(
        f"{V1}/shelters/import", content=SHELTERS_CSV, headers={"Content-Type": "text/csv"}
    ),
    ("PUT", "/api/v1/shelters/{slug}/occupancy"): lambda w, role: Call(
        f"{V1}/shelters/{SHELTER}/occupancy", json={"occupied": 12}
    ),
    ("POST", "/api/v1/me/documents"): lambda w, role: Call(
        f"{V1}/me/documents",
        json={"member": 0, "kind": "tvrh", "requested_on": "2024-08-28", "office": "INM Tijuana"},
    ),
    ("PATCH", "/api/v1/me/documents/{document_id}"): lambda w, role: Call(
        f"{V1}/me/documents/{w.document_id}", json={"office": "INM Tijuana Centro"}
    ),
    ("GET", "/api/v1/me/documents"): lambda w, role: Call(f"{V1}/me/documents"),
    ("GET", "/api/v1/stats/documents"): lambda w, role: Call(f"{V1}/stats/documents"),
    ("GET", "/api/v1/me/proofs"): lambda w, role: Call(f"{V1}/me/proofs"),
    ("GET", "/api/v1/me/proofs/{kind}.svg"): lambda w, role: Call(
        f"{V1}/me/proofs/registration.svg"
    ),
    ("GET", "/api/v1/me/proofs/{kind}.png"): lambda w, role: Call(
        f"{V1}/me/proofs/registration.png"
    ),
    ("POST", "/api/v1/verify"): lambda w, role: Call(
        f"{V1}/verify",
        json={
            "confirmation_number": w.held["checkin_target"].confirmation_number,
            "birth_date": BIRTH_DATE.isoformat(),
        },
    ),
    ("POST", "/api/v1/incidents"): lambda w, role: Call(f"{V1}/incidents", json=incident_body()),
    ("POST", "/api/v1/incidents/lookup"): lambda w, role: Call(
        f"{V1}/incidents/lookup", json={"receipt": w.receipt}
    ),
    ("POST", "/api/v1/incidents/follow-up"): lambda w, role: Call(
        f"{V1}/incidents/follow-up", json={"receipt": w.receipt, "text": "They came back."}
    ),
    ("GET", "/api/v1/stats/incidents"): lambda w, role: Call(f"{V1}/stats/incidents"),
    ("POST", "/api/v1/incidents/unlock"): lambda w, role: Call(
        f"{V1}/incidents/unlock", json={"passphrase": PASSPHRASE}
    ),
    ("GET", "/api/v1/incidents"): lambda w, role: _triage(w, f"{V1}/incidents"),
    ("GET", "/api/v1/incidents/export.huridocs.json"): lambda w, role: _triage(
        w, f"{V1}/incidents/export.huridocs.json"
    ),
    ("GET", "/api/v1/incidents/{report_id}"): lambda w, role: _triage(
        w, f"{V1}/incidents/{w.report_id}"
    ),
    ("POST", "/api/v1/incidents/{report_id}/notes"): lambda w, role: _triage(
        w, f"{V1}/incidents/{w.report_id}/notes", {"text": "Called legal aid."}
    ),
    ("POST", "/api/v1/incidents/{report_id}/messages"): lambda w, role: _triage(
        w, f"{V1}/incidents/{w.report_id}/messages", {"text": "We are working on it."}
    ),
    ("POST", "/api/v1/incidents/{report_id}/status"): lambda w, role: _triage(
        w, f"{V1}/incidents/{w.report_id}/status", {"status": "in_review"}
    ),
}


def registered_routes(app: FastAPI) -> set[Route]:
    """(method, path template) of every JSON API route the app serves."""
    routes: set[Route] = set()
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if isinstance(context.original_route, APIRoute) and path.startswith(V1 + "/"):
            routes.update((method, path) for method in context.methods or ())
    return routes


def send(world: World, route: Route, role: str) -> Response:
    """Make the route's call as ``role``, with the clock where the call wants it."""
    return request(world, route[0], CALLS[route](world, role), role)


CASES = [
    pytest.param(route, role, id=f"{route[0]} {route[1]} as {role}")
    for route in ACCESS
    for role in ROLES
]
REGISTRANT = ROLES.index("registrant")


class TestAccessMatrix:
    def test_the_table_names_every_route_and_only_routes_that_exist(self) -> None:
        app = create_app(Settings(env="test", database_url="sqlite://"))
        served = registered_routes(app)
        assert sorted(served - ACCESS.keys()) == [], "routes without an access decision"
        assert sorted(ACCESS.keys() - served) == [], "rows for routes that do not exist"
        assert ACCESS.keys() == CALLS.keys(), "every row needs a request to send"

    def test_a_new_route_without_a_row_is_found(self) -> None:
        # As the context routers are added: an APIRouter under the /api/v1 prefix.
        app = create_app(Settings(env="test", database_url="sqlite://"))
        router = APIRouter()
        router.add_api_route("/matrix-probe/{probe_id}", lambda probe_id: {}, methods=["PATCH"])
        app.include_router(router, prefix=V1)
        missing = registered_routes(app) - ACCESS.keys()
        assert missing == {("PATCH", f"{V1}/matrix-probe/{{probe_id}}")}

    @pytest.mark.parametrize(("route", "role"), CASES)
    def test_each_role_gets_exactly_the_access_the_table_gives(
        self, world: World, route: Route, role: str
    ) -> None:
        response = send(world, route, role)
        expected = ACCESS[route][ROLES.index(role)]
        assert outcome(response) == expected, f"{response.status_code} {response.text}"


class TestDelegatedToken:
    @pytest.mark.parametrize("route", list(ACCESS), ids=" ".join)
    def test_is_let_through_exactly_where_a_registrant_is(self, world: World, route: Route) -> None:
        response = send(world, route, DELEGATED)
        expected = ACCESS[route][REGISTRANT]
        assert outcome(response) == expected, f"{response.status_code} {response.text}"

    def test_acts_as_the_person_and_names_the_caseworker(self, world: World) -> None:
        world.clock.set(AFTER_DRAW)
        me = world.client.get(f"{V1}/me", headers=world.auth(DELEGATED)).json()
        assert me["id"] == world.assisted[DELEGATED]
        assert me["acting_id"] == world.accounts["caseworker"].id


# Where a caseworker of the same organization as the case's has the case's caseworker's access.
ORGANIZATIONS_OWN = {("PUT", "/api/v1/shelters/{slug}/occupancy")}


class TestSameOrganization:
    @pytest.mark.parametrize("route", list(ACCESS), ids=" ".join)
    def test_a_colleague_of_the_cases_caseworker_has_another_caseworkers_access(
        self, world: World, route: Route
    ) -> None:
        # Cases are assigned to one caseworker, not to their organization; its shelter is
        # the organization's.
        column = "caseworker" if route in ORGANIZATIONS_OWN else "other_caseworker"
        response = send(world, route, "same_org_caseworker")
        expected = ACCESS[route][ROLES.index(column)]
        assert outcome(response) == expected, f"{response.status_code} {response.text}"


NEED_CODES = ("pregnant", "disability", "medical_emergency", "imminent_threat", "gbv_survivor")
# Every case of the world is past its review deadline (72 hours; 24 when urgent).
OVERDUE = AFTER_DRAW + dt.timedelta(days=5)


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

    def test_another_caseworker_lists_none_of_the_cases_assisted_accounts(
        self, world: World
    ) -> None:
        world.clock.set(AFTER_DRAW)
        cases = {world.assisted[DELEGATED], world.assisted["assign_target"]}
        own = world.client.get(f"{V1}/assisted", headers=world.auth("caseworker")).json()
        other = world.client.get(f"{V1}/assisted", headers=world.auth("other_caseworker"))
        assert cases <= {a["account_id"] for a in own}
        # Only what they registered themself (the matrix's POST /assisted, when it ran first).
        assert other.status_code == 200, other.text
        assert not cases & {a["account_id"] for a in other.json()}
        other_id = world.accounts["other_caseworker"].id
        assert all(a["assigned_to"] == other_id for a in other.json())

    @pytest.mark.parametrize("status", ["pending", "overdue", "mine"])
    def test_another_caseworker_lists_none_of_the_cases_exception_requests(
        self, world: World, status: str
    ) -> None:
        world.clock.set(OVERDUE)
        own = world.client.get(f"{V1}/exceptions?status=overdue", headers=world.auth("caseworker"))
        assert world.cases["registrant"] in {c["id"] for c in own.json()}, "past its deadline"
        response = world.client.get(
            f"{V1}/exceptions?status={status}", headers=world.auth("other_caseworker")
        )
        assert response.status_code == 200, response.text
        assert not {c["id"] for c in response.json()} & set(world.cases.values())
        assert not any(code in response.text for code in NEED_CODES)

    def test_the_unassigned_queue_shows_no_needs(self, world: World) -> None:
        world.clock.set(AFTER_DRAW)
        for name in ("caseworker", "other_caseworker"):
            response = world.client.get(f"{V1}/exceptions?status=pending", headers=world.auth(name))
            queued = [c for c in response.json() if c["id"] == world.queued_case]
            assert len(queued) == 1 and queued[0]["needs"] is None, response.text
            assert not any(code in response.text for code in NEED_CODES)

    def test_the_cases_caseworker_sees_the_needs_of_their_own_cases(self, world: World) -> None:
        world.clock.set(AFTER_DRAW)
        response = world.client.get(
            f"{V1}/exceptions?status=mine", headers=world.auth("caseworker")
        )
        listed = {c["id"]: c["needs"] for c in response.json()}
        assert set(world.cases.values()) <= listed.keys()
        assert "pregnant" in str(listed[world.cases["registrant"]])

    def test_another_caseworker_cannot_take_an_assigned_case(self, world: World) -> None:
        world.clock.set(AFTER_DRAW)
        case = world.cases["registrant"]
        taken = world.client.post(
            f"{V1}/exceptions/{case}/assign", headers=world.auth("other_caseworker")
        )
        assert taken.status_code == 409 and taken.json()["code"] == "already_assigned"
        assert "pregnant" not in taken.text
        still = world.client.get(f"{V1}/exceptions/{case}", headers=world.auth("caseworker"))
        assert still.json()["assigned_to"] == world.accounts["caseworker"].id
