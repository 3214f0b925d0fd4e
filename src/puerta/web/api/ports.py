"""Ports of entry and their capacity plans."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from puerta.appointments import service
from puerta.appointments.schemas import CapacityWrite
from puerta.appointments.service import CapacityView, PortView
from puerta.web.deps import Admin, RuntimeDep

router = APIRouter(tags=["ports"])


@router.get("/ports", response_model=list[PortView])
def list_ports(runtime: RuntimeDep, date: dt.date | None = None) -> list[PortView]:
    """The 8 ports, their default daily seats and, with ``date``, the seats planned that day."""
    return service.list_ports(
        uow=runtime.uow(), default_seats=runtime.settings.port_seats, service_date=date
    )


@router.put("/ports/{slug}/capacity/{date}", response_model=CapacityView)
def set_capacity(
    slug: str, date: dt.date, body: CapacityWrite, account: Admin, runtime: RuntimeDep
) -> CapacityView:
    """Plan the seats (persons) of one port on one service date."""
    return service.set_capacity(
        uow=runtime.uow(),
        clock=runtime.clock,
        slug=slug,
        service_date=date,
        seats=body.seats,
        actor_id=account.id,
        horizon_days=runtime.settings.capacity_horizon_days,
    )
