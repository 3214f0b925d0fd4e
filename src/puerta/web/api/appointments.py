"""A group's offer and appointment, cancellations and appeals."""

from __future__ import annotations

from fastapi import APIRouter

from puerta.accounts.domain import Role, require_role
from puerta.appointments import booking
from puerta.appointments.booking import AppealView, AppointmentView
from puerta.appointments.rules import AppealStatus
from puerta.appointments.schemas import (
    AppealDecisionBody,
    CancelBody,
    ConfirmBody,
)
from puerta.web.deps import Admin, CurrentAccount, Registrant, RowId, RuntimeDep

router = APIRouter(tags=["appointments"])


@router.get("/me/appointment", response_model=AppointmentView)
def my_appointment(account: Registrant, runtime: RuntimeDep) -> AppointmentView:
    """The group's latest offer or appointment."""
    return booking.my_appointment(uow=runtime.uow(), clock=runtime.clock, account_id=account.id)


@router.post("/me/appointment/confirm", response_model=AppointmentView)
def confirm(body: ConfirmBody, account: Registrant, runtime: RuntimeDep) -> AppointmentView:
    """Confirm the open offer from inside the geofence; assigns a slot and a number."""
    return booking.confirm_offer(
        uow=runtime.uow(), clock=runtime.clock, rng=runtime.rng, schedule=runtime.schedule,
        slots=runtime.slots, account_id=account.id, lat=body.location.lat,
        lon=body.location.lon,
    )  # fmt: skip


@router.post("/me/appointment/cancel", response_model=AppointmentView)
def cancel_mine(account: Registrant, runtime: RuntimeDep) -> AppointmentView:
    """Give up the offer or appointment; the seats go to the next draw."""
    return booking.cancel_by_person(uow=runtime.uow(), clock=runtime.clock, account_id=account.id)


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentView)
def cancel(
    appointment_id: RowId, body: CancelBody, account: Admin, runtime: RuntimeDep
) -> AppointmentView:
    """Cancel an appointment with a reason; the group is told and an appeal opens."""
    return booking.cancel_by_admin(
        uow=runtime.uow(), clock=runtime.clock, appointment_id=appointment_id,
        reason=body.reason, actor_id=account.id,
    )  # fmt: skip


@router.get("/appeals", response_model=list[AppealView])
def appeals(
    account: CurrentAccount, runtime: RuntimeDep, status: AppealStatus | None = None
) -> list[AppealView]:
    """All appeals for admins; a registrant's own appeals otherwise."""
    require_role(account.role, frozenset({Role.ADMIN, Role.REGISTRANT}))
    own = None if account.role is Role.ADMIN else account.id
    return booking.list_appeals(uow=runtime.uow(), account_id=own, status=status)


@router.post("/appeals/{appeal_id}/decision", response_model=AppealView)
def decide(
    appeal_id: RowId, body: AppealDecisionBody, account: Admin, runtime: RuntimeDep
) -> AppealView:
    """Reinstate the appointment or uphold its cancellation, with a note."""
    return booking.decide_appeal(
        uow=runtime.uow(), clock=runtime.clock, appeal_id=appeal_id, decision=body.decision,
        note=body.note, actor_id=account.id, offer_hours=runtime.settings.offer_hours,
    )  # fmt: skip
