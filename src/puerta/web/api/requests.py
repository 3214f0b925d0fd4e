"""Appointment requests in the daily window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from puerta.appointments import service
from puerta.appointments.schemas import RequestCreate
from puerta.appointments.service import RequestRecord, RequestView
from puerta.web.deps import Registrant, RuntimeDep

router = APIRouter(tags=["requests"])
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


@router.post("/requests", status_code=201, response_model=RequestRecord)
def make_request(
    body: RequestCreate,
    account: Registrant,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> RequestView:
    """Request an appointment in the open window; the location is checked, never stored."""
    view = service.make_request(
        uow=runtime.uow(),
        clock=runtime.clock,
        schedule=runtime.schedule,
        account_id=account.id,
        ports=body.ports,
        lat=body.location.lat,
        lon=body.location.lon,
        idempotency_key=idempotency_key,
        standing=runtime.settings.standing_requests if body.standing is None else body.standing,
        rng=runtime.rng,
    )
    if view.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return view


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
