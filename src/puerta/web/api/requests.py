"""Appointment requests in the daily window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from puerta.appointments import service
from puerta.appointments.schemas import RequestCreate, RequestRead
from puerta.appointments.service import RequestView
from puerta.web.deps import Registrant, RuntimeDep

router = APIRouter(tags=["requests"])
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


def _read(view: RequestView) -> RequestRead:
    return RequestRead.model_validate(view, from_attributes=True)


@router.post("/requests", status_code=201, response_model=RequestRead)
def make_request(
    body: RequestCreate,
    account: Registrant,
    runtime: RuntimeDep,
    response: Response,
    idempotency_key: IdempotencyKey,
) -> RequestRead:
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
    return _read(view)


@router.get("/requests/current", response_model=RequestRead)
def current_request(account: Registrant, runtime: RuntimeDep) -> RequestRead:
    """The group's pending request."""
    return _read(
        service.current_request(uow=runtime.uow(), schedule=runtime.schedule, account_id=account.id)
    )


@router.delete("/requests/current", response_model=RequestRead)
def withdraw_request(account: Registrant, runtime: RuntimeDep) -> RequestRead:
    """Withdraw the pending request while its window is open."""
    view = service.withdraw_request(
        uow=runtime.uow(), clock=runtime.clock, schedule=runtime.schedule, account_id=account.id
    )
    return _read(view)
