"""Use cases of an offer once made: see it, confirm it, cancel it, appeal a cancellation."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from puerta.accounts.tables import Account
from puerta.appointments import rules
from puerta.appointments.domain import (
    PORTS_BY_SLUG,
    RequestStatus,
    WindowSchedule,
)
from puerta.appointments.groups import check_group_location
from puerta.appointments.lifecycle import AppealState, Canceller
from puerta.appointments.rules import LIVE, AppealStatus, AppointmentStatus
from puerta.appointments.tables import Appeal, Appointment, AppointmentRequest
from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.notifications.domain import NotificationKind
from puerta.notifications.service import enqueue


@dataclass(frozen=True)
class AppealView:
    id: int
    appointment_id: int
    status: AppealStatus
    opened_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str | None


@dataclass(frozen=True)
class AppointmentView:
    id: int
    port: str
    port_name: str
    service_date: dt.date
    status: AppointmentStatus
    persons: int
    share: str
    offered_at: dt.datetime
    expires_at: dt.datetime
    confirmed_at: dt.datetime | None
    slot_starts_at: dt.datetime | None
    confirmation_number: str | None
    cancelled_at: dt.datetime | None
    cancelled_by: str | None
    cancel_reason: str | None
    appeal: AppealView | None


def effective_status(row: Appointment, now: dt.datetime) -> AppointmentStatus:
    """An offer past its deadline is expired, even before the expiry job has run."""
    return row.state.effective_status(now)


def appeal_view(appeal: Appeal) -> AppealView:
    return AppealView(
        id=appeal.id, appointment_id=appeal.appointment_id, status=AppealStatus(appeal.status),
        opened_at=appeal.opened_at, decided_at=appeal.decided_at,
        decision_note=appeal.decision_note,
    )  # fmt: skip


def appointment_view(session: Session, row: Appointment, now: dt.datetime) -> AppointmentView:
    appeal = session.scalar(select(Appeal).where(Appeal.appointment_id == row.id))
    number = row.confirmation_number
    return AppointmentView(
        id=row.id, port=row.port, port_name=PORTS_BY_SLUG[row.port].name,
        service_date=row.service_date, status=effective_status(row, now), persons=row.persons,
        share=row.share, offered_at=row.offered_at, expires_at=row.expires_at,
        confirmed_at=row.confirmed_at, slot_starts_at=row.slot_starts_at,
        confirmation_number=rules.format_confirmation_number(number) if number else None,
        cancelled_at=row.cancelled_at, cancelled_by=row.cancelled_by,
        cancel_reason=row.cancel_reason, appeal=appeal_view(appeal) if appeal else None,
    )  # fmt: skip


def _latest(session: Session, account_id: int) -> Appointment:
    row = session.scalar(
        select(Appointment)
        .where(Appointment.account_id == account_id)
        .order_by(Appointment.id.desc())
        .limit(1)
    )
    if row is None:
        raise rules.NoAppointment()
    return row


def language_of(session: Session, account_id: int) -> str:
    return session.scalar(select(Account.language).where(Account.id == account_id)) or "es"


def my_appointment(*, uow: UnitOfWork, clock: Clock, account_id: int) -> AppointmentView:
    """The group's latest offer or appointment, whatever became of it."""
    with uow:
        return appointment_view(uow.session, _latest(uow.session, account_id), clock.now())


@dataclass(frozen=True)
class Slots:
    first: dt.time
    last: dt.time


def _slot_for(session: Session, row: Appointment, slots: Slots) -> dt.datetime:
    tz = ZoneInfo(PORTS_BY_SLUG[row.port].timezone)
    taken = session.execute(
        select(Appointment.slot_starts_at, func.sum(Appointment.persons))
        .where(Appointment.port == row.port, Appointment.service_date == row.service_date)
        .where(Appointment.slot_starts_at.is_not(None), Appointment.freed_at.is_(None))
        .group_by(Appointment.slot_starts_at)
    ).all()
    persons = {at.astimezone(tz).time(): int(n) for at, n in taken if at is not None}
    start = rules.choose_slot(rules.slot_starts(slots.first, slots.last), persons)
    return dt.datetime.combine(row.service_date, start, tzinfo=tz).astimezone(dt.UTC)


def _new_number(session: Session, rng: random.Random) -> str:
    while True:
        number = rules.new_confirmation_number(rng)
        taken = select(Appointment.id).where(Appointment.confirmation_number == number)
        if session.scalar(taken) is None:
            return number


def confirm_offer(
    *, uow: UnitOfWork, clock: Clock, rng: random.Random, schedule: WindowSchedule,
    slots: Slots, account_id: int, lat: float, lon: float,
) -> AppointmentView:  # fmt: skip
    """Confirm an open offer from inside the geofence: a time slot and a confirmation number."""
    now = clock.now()
    with uow:
        row = _latest(uow.session, account_id)
        row.state.check_confirmable(now, timezone=schedule.timezone)
        on = now.astimezone(schedule.tz).date()
        check_group_location(uow.session, row.group_id, lat=lat, lon=lon, on=on)
        slot, number = _slot_for(uow.session, row, slots), _new_number(uow.session, rng)
        row.store(row.state.confirm(now, slot=slot, number=number, timezone=schedule.timezone))
        _log(uow.session, row, EventKind.APPOINTMENT_CONFIRMED, now, None, {"port": row.port})
        notify_group(uow.session, row, NotificationKind.APPOINTMENT_CONFIRMED, now, {
            "confirmation_number": rules.format_confirmation_number(number),
            "slot": slot.astimezone(dt.UTC).isoformat(),
        })  # fmt: skip
        view = appointment_view(uow.session, row, now)
        uow.commit()
    return view


def _log(
    session: Session, row: Appointment, kind: EventKind, now: dt.datetime, actor: int | None,
    data: dict[str, object],
) -> None:  # fmt: skip
    record(session, at=now, kind=kind, actor_id=actor, subject=f"appointment:{row.id}", data=data)


def notify_group(
    session: Session,
    row: Appointment,
    kind: NotificationKind,
    now: dt.datetime,
    extra: dict[str, object],
) -> None:
    # Machine values: the outbox formats them in the reader's language when it sends.
    params = {"port": row.port, "service_date": row.service_date.isoformat()}
    enqueue(
        session, account_id=row.account_id, kind=kind, at=now,
        language=language_of(session, row.account_id), params=params | extra,
    )  # fmt: skip


def cancel_by_person(*, uow: UnitOfWork, clock: Clock, account_id: int) -> AppointmentView:
    """The person gives up an offer or appointment; the seats go to the next draw."""
    now = clock.now()
    with uow:
        row = _latest(uow.session, account_id)
        give_up(uow.session, row, now, account_id)
        view = appointment_view(uow.session, row, now)
        uow.commit()
    return view


def give_up(session: Session, row: Appointment, now: dt.datetime, actor_id: int) -> None:
    """The person's cancellation, in the caller's transaction (also before their data is
    erased): the lifecycle refuses anything but a live offer or appointment."""
    row.store(row.state.cancel_by_person(now))
    by: dict[str, object] = {"by": Canceller.PERSON.value}
    _log(session, row, EventKind.APPOINTMENT_CANCELLED, now, actor_id, by)


def cancel_by_admin(
    *, uow: UnitOfWork, clock: Clock, appointment_id: int, reason: str, actor_id: int
) -> AppointmentView:
    """Cancel with a reason, tell the group, and open an appeal; seats wait for the decision."""
    text = rules.check_reason(reason)
    now = clock.now()
    with uow:
        row = uow.session.get(Appointment, appointment_id)
        if row is None:
            raise rules.NoSuchAppointment()
        row.store(row.state.cancel_by_admin(now, text))
        appeal = _open_appeal(uow.session, row, now)
        by: dict[str, object] = {"by": Canceller.SYSTEM.value}
        _log(uow.session, row, EventKind.APPOINTMENT_CANCELLED, now, actor_id, by)
        _log(uow.session, row, EventKind.APPEAL_OPENED, now, actor_id, {"appeal": appeal.id})
        notify_group(
            uow.session, row, NotificationKind.APPOINTMENT_CANCELLED, now, {"reason": text}
        )
        notify_group(uow.session, row, NotificationKind.APPEAL_OPENED, now, {"appeal": appeal.id})
        view = appointment_view(uow.session, row, now)
        uow.commit()
    return view


def _open_appeal(session: Session, row: Appointment, now: dt.datetime) -> Appeal:
    appeal = session.scalar(select(Appeal).where(Appeal.appointment_id == row.id))
    if appeal is None:
        appeal = Appeal(appointment_id=row.id, account_id=row.account_id)
        appeal.store(AppealState(opened_at=now))
        session.add(appeal)
    else:
        appeal.store(appeal.state.reopen(now))
    session.flush()
    return appeal


def list_appeals(
    *, uow: UnitOfWork, account_id: int | None, status: AppealStatus | None
) -> list[AppealView]:
    """Appeals, newest first: all of them for admins, a person's own otherwise."""
    query = select(Appeal).order_by(Appeal.id.desc()).limit(500)
    if account_id is not None:
        query = query.where(Appeal.account_id == account_id)
    if status is not None:
        query = query.where(Appeal.status == status.value)
    with uow:
        return [appeal_view(a) for a in uow.session.scalars(query)]


def decide_appeal(
    *, uow: UnitOfWork, clock: Clock, appeal_id: int, decision: rules.AppealDecision,
    note: str, actor_id: int, offer_hours: int,
) -> AppealView:  # fmt: skip
    """Reinstate the appointment as it was, or uphold the cancellation and free the seats."""
    text = rules.check_note(note)
    now = clock.now()
    with uow:
        appeal = uow.session.get(Appeal, appeal_id)
        if appeal is None:
            raise rules.NoSuchAppeal()
        decided = appeal.state.decide(decision, now, actor=actor_id, note=text)
        row = uow.session.get(Appointment, appeal.appointment_id)
        assert row is not None
        if decided.status is AppealStatus.REINSTATED:
            _reinstate(uow.session, row, now, offer_hours, actor_id)
        else:
            row.store(row.state.uphold(now))
        appeal.store(decided)
        _log(uow.session, row, EventKind.APPEAL_DECIDED, now, actor_id, {"decision": appeal.status})
        notify_group(
            uow.session, row, NotificationKind.APPEAL_DECIDED, now, {"decision": appeal.status}
        )
        view = appeal_view(appeal)
        uow.commit()
    return view


def _reinstate(
    session: Session, row: Appointment, now: dt.datetime, offer_hours: int, actor_id: int
) -> None:
    today = now.astimezone(ZoneInfo(PORTS_BY_SLUG[row.port].timezone)).date()
    other = select(Appointment.id).where(
        Appointment.group_id == row.group_id,
        Appointment.id != row.id,
        Appointment.status.in_([s.value for s in LIVE]),
    )
    holds_another = session.scalar(other.limit(1)) is not None
    row.store(row.state.reinstate(
        now, today=today, offer_for=dt.timedelta(hours=offer_hours), holds_another=holds_another,
    ))  # fmt: skip
    withdraw_pending(session, row.group_id, now, actor_id)


def withdraw_pending(session: Session, group_id: int, now: dt.datetime, actor_id: int) -> None:
    """Withdraw the group's requests still waiting for a draw, as it is given seats another
    way (a reinstated appointment, an urgent placement): each would give a second offer."""
    pending = session.scalars(
        select(AppointmentRequest).where(
            AppointmentRequest.group_id == group_id,
            AppointmentRequest.status == RequestStatus.PENDING.value,
        )
    ).all()
    for request in pending:
        request.status, request.withdrawn_at = RequestStatus.WITHDRAWN.value, now
        record(
            session, at=now, kind=EventKind.REQUEST_WITHDRAWN, actor_id=actor_id,
            subject=f"request:{request.id}", data={"window": request.window.isoformat()},
        )  # fmt: skip
