"""OpenAPI links in the API's description: what to call next with what an answer made.

FastAPI writes no links of its own. These name, for each answer that makes or changes
something, the operations that read or change it and where their parameters come from
(OpenAPI 3.1, "Link Object"), so that a client generated from the description can follow
them, and schemathesis's stateful phase (tests/e2e/test_schemathesis.py) chains its calls:
create, then read, then change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

V1 = "/api/v1"
Answer = tuple[str, str, str]
"""(method, path, status) of the answer a link starts from."""


@dataclass(frozen=True)
class Link:
    """The operation to call next; ``parameters`` and ``body`` hold runtime expressions."""

    method: str
    path: str
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] | None = None

    def definition(self) -> dict[str, Any]:
        pointer = self.path.replace("~", "~0").replace("/", "~1")
        defined: dict[str, Any] = {"operationRef": f"#/paths/{pointer}/{self.method.lower()}"}
        if self.parameters:
            defined["parameters"] = dict(self.parameters)
        if self.body is not None:
            defined["requestBody"] = dict(self.body)
        return defined


def _id(name: str) -> dict[str, str]:
    return {name: "$response.body#/id"}


EXCEPTION_ID = _id("exception_id")
ACCOUNT_ID = {"account_id": "$response.body#/account_id"}
LINKS: dict[Answer, dict[str, Link]] = {
    ("PUT", f"{V1}/me/group", "200"): {"ReadGroup": Link("GET", f"{V1}/me/group")},
    ("POST", f"{V1}/requests", "201"): {
        "ReadRequest": Link("GET", f"{V1}/requests/current"),
        "WithdrawRequest": Link("DELETE", f"{V1}/requests/current"),
    },
    ("POST", f"{V1}/draws", "201"): {
        "ReadDraw": Link("GET", f"{V1}/draws/{{window}}", {"window": "$response.body#/window"})
    },
    ("POST", f"{V1}/me/appointment/confirm", "200"): {
        "ReadAppointment": Link("GET", f"{V1}/me/appointment"),
        "CancelAppointment": Link("POST", f"{V1}/me/appointment/cancel"),
    },
    ("POST", f"{V1}/checkins", "200"): {
        "MarkNoShow": Link(
            "POST", f"{V1}/appointments/{{appointment_id}}/no-show", _id("appointment_id")
        )
    },
    ("POST", f"{V1}/assisted", "201"): {
        "ReadAssisted": Link("GET", f"{V1}/assisted/{{account_id}}", ACCOUNT_ID),
        "ActForAssisted": Link("POST", f"{V1}/assisted/{{account_id}}/token", ACCOUNT_ID),
        "ReassignAssisted": Link("POST", f"{V1}/assisted/{{account_id}}/assign", ACCOUNT_ID),
        "ClaimAssisted": Link(
            "POST", f"{V1}/accounts/claim", body={"claim_code": "$response.body#/claim_code"}
        ),
    },
    ("PUT", f"{V1}/me/screening", "200"): {
        "ReadScreening": Link("GET", f"{V1}/me/screening"),
        "RequestException": Link("POST", f"{V1}/me/exception"),
    },
    ("POST", f"{V1}/me/exception", "201"): {
        "ReadException": Link("GET", f"{V1}/me/exception"),
        "AskForReview": Link("POST", f"{V1}/me/exception/review"),
        "ReadCase": Link("GET", f"{V1}/exceptions/{{exception_id}}", EXCEPTION_ID),
        "AssignCase": Link("POST", f"{V1}/exceptions/{{exception_id}}/assign", EXCEPTION_ID),
    },
    ("POST", f"{V1}/exceptions/{{exception_id}}/assign", "200"): {
        "ReadAssignedCase": Link("GET", f"{V1}/exceptions/{{exception_id}}", EXCEPTION_ID),
        "DecideCase": Link("POST", f"{V1}/exceptions/{{exception_id}}/decision", EXCEPTION_ID),
    },
    ("POST", f"{V1}/exceptions/{{exception_id}}/decision", "200"): {
        "PlaceUrgently": Link("POST", f"{V1}/exceptions/{{exception_id}}/urgent", EXCEPTION_ID)
    },
    ("POST", f"{V1}/shelters", "201"): {
        "UpdateOccupancy": Link(
            "PUT", f"{V1}/shelters/{{slug}}/occupancy", {"slug": "$response.body#/slug"}
        ),
        "FindNearby": Link(
            "GET", f"{V1}/shelters", {"lat": "$response.body#/lat", "lon": "$response.body#/lon"}
        ),
    },
    ("POST", f"{V1}/me/documents", "201"): {
        "UpdateDocument": Link("PATCH", f"{V1}/me/documents/{{document_id}}", _id("document_id")),
        "ListDocuments": Link("GET", f"{V1}/me/documents"),
    },
    ("POST", f"{V1}/incidents", "201"): {
        "FollowReport": Link(
            "POST", f"{V1}/incidents/lookup", body={"receipt": "$response.body#/receipt"}
        ),
        "AddToReport": Link(
            "POST", f"{V1}/incidents/follow-up", body={"receipt": "$response.body#/receipt"}
        ),
    },
}


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (FastAPI's OpenAPI description) with the links of ``LINKS`` added."""
    for (method, path, status), links in LINKS.items():
        response = schema["paths"][path][method.lower()]["responses"][status]
        response["links"] = {name: link.definition() for name, link in links.items()}
    return schema


def install(app: FastAPI) -> None:
    """Serve the app's OpenAPI description with its links, built once on first use."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(build())
        return app.openapi_schema

    # FastAPI's documented way to change the description it serves.
    app.openapi = openapi  # type: ignore[method-assign]
