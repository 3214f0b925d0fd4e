"""Appointment requests in the daily window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import TypeAdapter

from puerta.appointments import service
from puerta.appointments.schemas import RequestCreate
from puerta.appointments.service import RequestRecord, RequestView
from puerta.errors import DomainError
from puerta.web.deps import Registrant, RuntimeDep, bearer_present, bearer_token
from puerta.web.intake import Asked, Intake
from puerta.web.limits import RATE_LIMITED, client_address

router = APIRouter(tags=["requests"])
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=128)]
# The answer's JSON, as FastAPI would write it for response_model=RequestRecord.
_RECORD = TypeAdapter(RequestRecord)


@router.post(
    "/requests", status_code=201, response_model=RequestRecord, responses=RATE_LIMITED,
    dependencies=[Depends(bearer_present)],
)  # fmt: skip
async def make_request(
    body: RequestCreate,
    request: Request,
    runtime: RuntimeDep,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Request an appointment in the open window; the location is checked, never stored.

    Answered by the process's intake writer, which commits many requests at once
    (puerta.web.intake); the 201 comes once this request is committed. A bearer token that is
    not live is refused (401) after the body's shape is checked, not before."""
    intake: Intake = request.app.state.intake
    standing = runtime.settings.standing_requests if body.standing is None else body.standing
    answered = await intake.ask(
        Asked(
            token=bearer_token(request) or "", key=idempotency_key, ports=body.ports,
            lat=body.location.lat, lon=body.location.lon, standing=standing,
            address=client_address(request),
        )
    )  # fmt: skip
    if answered.language is not None:
        request.state.language = answered.language
    view = answered.answer
    if isinstance(view, DomainError):
        raise view
    headers = {"Idempotent-Replayed": "true"} if view.replayed else None
    return Response(
        _RECORD.dump_json(view), status_code=201, media_type="application/json", headers=headers
    )


@router.get("/requests/current", response_model=RequestRecord)
def current_request(account: Registrant, runtime: RuntimeDep) -> RequestView:
    """The group's pending request."""
    return service.current_request(
        uow=runtime.uow(), schedule=runtime.schedule, account_id=account.id
    )


@router.delete("/requests/current", response_model=RequestRecord)
def withdraw_request(account: Registrant, runtime: RuntimeDep) -> RequestView:
    """Withdraw the pending request while its window is open."""
    return service.withdraw_request(
        uow=runtime.uow(),
        clock=runtime.clock,
        schedule=runtime.schedule,
        account_id=account.id,
        drawn=runtime.window_drawn,
    )
