"""A group's offer and appointment, cancellations and appeals."""

from __future__ import annotations

from fastapi import APIRouter

from puerta.accounts.domain import Role
from puerta.appointments import booking
from puerta.appointments.booking import AppealView, AppointmentView
from puerta.appointments.rules import AppealStatus
from puerta.appointments.schemas import (
    AppealDecisionBody,
    AppealRead,
    AppointmentRead,
    CancelBody,
    ConfirmBody,
)
from puerta.web.deps import Admin, CurrentAccount, Registrant, RowId, RuntimeDep, requires

router = APIRouter(tags=["appointments"])


def _read(view: AppointmentView) -> AppointmentRead:
    return AppointmentRead.model_validate(view, from_attributes=True)


def _appeal(view: AppealView) -> AppealRead:
    return AppealRead.model_validate(view, from_attributes=True)


@router.get("/me/appointment", response_model=AppointmentRead)
def my_appointment(account: Registrant, runtime: RuntimeDep) -> AppointmentRead:
    """The group's latest offer or appointment."""
    return _read(
        booking.my_appointment(uow=runtime.uow(), clock=runtime.clock, account_id=account.id)
    )


@router.post("/me/appointment/confirm", response_model=AppointmentRead)
def confirm(body: ConfirmBody, account: Registrant, runtime: RuntimeDep) -> AppointmentRead:
    """Confirm the open offer from inside the geofence; assigns a slot and a number."""
    view = booking.confirm_offer(
        uow=runtime.uow(), clock=runtime.clock, rng=runtime.rng, schedule=runtime.schedule,
        slots=runtime.slots, account_id=account.id, lat=body.location.lat,
        lon=body.location.lon,
    )  # fmt: skip
    return _read(view)


@router.post("/me/appointment/cancel", response_model=AppointmentRead)
def cancel_mine(account: Registrant, runtime: RuntimeDep) -> AppointmentRead:
    """Give up the offer or appointment; the seats go to the next draw."""
    view = booking.cancel_by_person(uow=runtime.uow(), clock=runtime.clock, account_id=account.id)
    return _read(view)


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentRead)
def cancel(
    appointment_id: RowId, body: CancelBody, account: Admin, runtime: RuntimeDep
) -> AppointmentRead:
    """Cancel an appointment with a reason; the group is told and an appeal opens."""
    view = booking.cancel_by_admin(
        uow=runtime.uow(), clock=runtime.clock, appointment_id=appointment_id,
        reason=body.reason, actor_id=account.id,
    )  # fmt: skip
    return _read(view)


@router.get("/appeals", response_model=list[AppealRead])
def appeals(
    account: CurrentAccount, runtime: RuntimeDep, status: AppealStatus | None = None
) -> list[AppealRead]:
    """All appeals for admins; a registrant's own appeals otherwise."""
    requires(Role.ADMIN, Role.REGISTRANT)(account)
    own = None if account.role is Role.ADMIN else account.id
    views = booking.list_appeals(uow=runtime.uow(), account_id=own, status=status)
    return [_appeal(v) for v in views]


@router.post("/appeals/{appeal_id}/decision", response_model=AppealRead)
def decide(
    appeal_id: RowId, body: AppealDecisionBody, account: Admin, runtime: RuntimeDep
) -> AppealRead:
    """Reinstate the appointment or uphold its cancellation, with a note."""
    view = booking.decide_appeal(
        uow=runtime.uow(), clock=runtime.clock, appeal_id=appeal_id, decision=body.decision,
        note=body.note, actor_id=account.id, offer_hours=runtime.settings.offer_hours,
    )  # fmt: skip
    return _appeal(view)
