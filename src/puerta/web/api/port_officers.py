"""What officers do at a port: the manifest, check-in and no-shows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends

from puerta.accounts.domain import Role
from puerta.accounts.service import AccountView
from puerta.appointments import checkin
from puerta.appointments.booking import AppointmentView
from puerta.appointments.checkin import ManifestEntry
from puerta.appointments.schemas import CheckinBody
from puerta.web.deps import RowId, RuntimeDep, requires

router = APIRouter(tags=["ports"])
Officer = Annotated[AccountView, Depends(requires(Role.OFFICER))]
OfficerOrAdmin = Annotated[AccountView, Depends(requires(Role.OFFICER, Role.ADMIN))]


@router.get("/ports/{slug}/manifest/{date}", response_model=list[ManifestEntry])
def manifest(
    slug: str, date: dt.date, account: OfficerOrAdmin, runtime: RuntimeDep
) -> list[ManifestEntry]:
    """The confirmed groups of a port on a date, by time slot."""
    return checkin.manifest(
        uow=runtime.uow(), port=slug, service_date=date, officer_port=account.port
    )


@router.post("/checkins", response_model=AppointmentView)
def check_in(body: CheckinBody, account: Officer, runtime: RuntimeDep) -> AppointmentView:
    """Check a group in by confirmation number and any member's birth date."""
    return checkin.check_in(
        uow=runtime.uow(), clock=runtime.clock, officer_id=account.id, officer_port=account.port,
        confirmation_number=body.confirmation_number, birth_date=body.birth_date,
    )  # fmt: skip


@router.post("/appointments/{appointment_id}/no-show", response_model=AppointmentView)
def no_show(appointment_id: RowId, account: Officer, runtime: RuntimeDep) -> AppointmentView:
    """Record that a confirmed group did not come; it may request again."""
    return checkin.mark_no_show(
        uow=runtime.uow(), clock=runtime.clock, officer_id=account.id, officer_port=account.port,
        appointment_id=appointment_id,
    )  # fmt: skip
