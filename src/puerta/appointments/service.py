"""Use cases for ports, capacity plans and appointment requests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puerta.accounts.service import GroupNotFound
from puerta.accounts.tables import Group
from puerta.appointments import domain
from puerta.appointments.commitments import ensure_commitment
from puerta.appointments.domain import PORTS, Port, RequestStatus, WindowSchedule
from puerta.appointments.groups import check_group_location
from puerta.appointments.rules import LIVE, AlreadyScheduled
from puerta.appointments.tables import Appointment, AppointmentRequest, CapacityPlan
from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.config import DEFAULT_CAPACITY_HORIZON_DAYS
from puerta.db import UnitOfWork
from puerta.errors import Conflict, Invalid
from puerta.geo.domain import GeofenceVerdict


class DateInPast(Invalid):
    code = "date_in_past"
    message = "Capacity can only be planned for today or a later date."


class DateTooFar(Invalid):
    code = "date_too_far"
    message = "Capacity can be planned at most {days} days ahead, until {last_date}."


class WithdrawAfterClose(Conflict):
    code = "window_closed"
    message = "The window of this request has closed, so it can no longer be withdrawn."


@dataclass(frozen=True)
class PortView(Port):
    """A port with its default daily seats and, for ``service_date``, the seats planned."""

    default_seats: int
    seats: int
    service_date: dt.date | None


@dataclass(frozen=True)
class CapacityView:
    port: str
    service_date: dt.date
    seats: int
    set_at: dt.datetime


@dataclass(frozen=True)
class RequestRecord:
    """A request as its group sees it, and as the API answers it."""

    id: int
    window: dt.date
    ports: list[str]
    status: RequestStatus
    standing: bool
    geofence_state: str | None
    geofence_policy: str | None
    created_at: dt.datetime
    window_closes_at: dt.datetime


@dataclass(frozen=True)
class RequestView(RequestRecord):
    """The record, and whether it is the first answer given again to a retried request."""

    # Not part of the record (the API says it in a header): its class keeps it off the wire.
    replayed: bool = False


def list_ports(
    *, uow: UnitOfWork, default_seats: Mapping[str, int], service_date: dt.date | None
) -> list[PortView]:
    """The 8 ports with their default seats and, for a date, the seats planned that day."""
    planned: dict[str, int] = {}
    if service_date is not None:
        with uow:
            rows = uow.session.execute(
                select(CapacityPlan.port, CapacityPlan.seats).where(
                    CapacityPlan.service_date == service_date
                )
            )
            planned = {port: seats for port, seats in rows}
    return [
        PortView(
            **dataclasses.asdict(p),
            default_seats=default_seats.get(p.slug, 0),
            seats=planned.get(p.slug, default_seats.get(p.slug, 0)),
            service_date=service_date,
        )
        for p in PORTS
    ]


def set_capacity(
    *,
    uow: UnitOfWork,
    clock: Clock,
    slug: str,
    service_date: dt.date,
    seats: int,
    actor_id: int | None,
    horizon_days: int = DEFAULT_CAPACITY_HORIZON_DAYS,
) -> CapacityView:
    """Plan the seats of one port on one service date, up to ``horizon_days`` ahead (admins)."""
    port = domain.check_port_slug(slug)
    domain.check_seats(seats)
    now = clock.now()
    today = now.astimezone(domain.WindowSchedule(port.timezone).tz).date()
    if service_date < today:
        raise DateInPast()
    last_date = today + dt.timedelta(days=horizon_days)
    if service_date > last_date:
        raise DateTooFar(days=horizon_days, last_date=last_date.isoformat())
    with uow:
        plan = uow.session.scalar(
            select(CapacityPlan).where(
                CapacityPlan.port == slug, CapacityPlan.service_date == service_date
            )
        )
        if plan is None:
            plan = CapacityPlan(port=slug, service_date=service_date)
            uow.session.add(plan)
        plan.seats, plan.set_by, plan.set_at = seats, actor_id, now
        record(
            uow.session, at=now, kind=EventKind.CAPACITY_SET, actor_id=actor_id,
            subject=f"port:{slug}", data={"date": service_date.isoformat(), "seats": seats},
        )  # fmt: skip
        uow.commit()
    return CapacityView(port=slug, service_date=service_date, seats=seats, set_at=now)


def _request_view(
    row: AppointmentRequest, schedule: WindowSchedule, *, replayed: bool = False
) -> RequestView:
    return RequestView(
        id=row.id,
        window=row.window,
        ports=row.ports,
        status=RequestStatus(row.status),
        standing=row.standing,
        geofence_state=row.geofence_state,
        geofence_policy=row.geofence_policy,
        # In UTC as stored, so a replay read back from the database answers the same.
        created_at=row.created_at.astimezone(dt.UTC),
        window_closes_at=schedule.closes_at(row.window),
        replayed=replayed,
    )


@dataclass(frozen=True)
class _Asked:
    """What a request asks for, as far as it is stored: a retry must ask for the same."""

    account_id: int
    key: str
    ports: tuple[str, ...]
    standing: bool


def _first_answer(
    row: AppointmentRequest, schedule: WindowSchedule, *, replayed: bool
) -> RequestView:
    """The answer the request got when it was made, rebuilt from what is stored of it."""
    view = _request_view(row, schedule, replayed=replayed)
    # Every request is made pending; what became of it since is not part of that answer.
    return dataclasses.replace(view, status=RequestStatus.PENDING)


def _stored_answer(session: Session, schedule: WindowSchedule, asked: _Asked) -> RequestView | None:
    """The first answer to this key, if a request was stored with it."""
    row = session.scalar(
        select(AppointmentRequest).where(
            AppointmentRequest.account_id == asked.account_id,
            AppointmentRequest.idempotency_key == asked.key,
        )
    )
    if row is None:
        return None
    if (tuple(row.ports), row.standing) != (asked.ports, asked.standing):
        raise domain.IdempotencyKeyReused()
    return _first_answer(row, schedule, replayed=True)


def _replay(uow: UnitOfWork, schedule: WindowSchedule, asked: _Asked) -> RequestView | None:
    """The first answer to this key, read in a transaction of its own (so it sees commits)."""
    with uow:
        return _stored_answer(uow.session, schedule, asked)


def _check_can_request(uow: UnitOfWork, group_id: int, window: dt.date) -> None:
    """One request per window; any request still pending counts as one, standing or not:
    a window whose draw has not run yet enters its requests in the next draw, so a second
    request then would give the group two entries (and two offers)."""
    req = AppointmentRequest
    live = select(req.id).where(
        req.group_id == group_id,
        or_(
            and_(req.window == window, req.status != RequestStatus.WITHDRAWN.value),
            req.status == RequestStatus.PENDING.value,
        ),
    )
    if uow.session.scalar(live.limit(1)) is not None:
        raise domain.AlreadyRequested()


def _check_not_scheduled(uow: UnitOfWork, group_id: int) -> None:
    held = select(Appointment.id).where(
        Appointment.group_id == group_id, Appointment.status.in_([s.value for s in LIVE])
    )
    if uow.session.scalar(held.limit(1)) is not None:
        raise AlreadyScheduled()


def make_request(
    *,
    uow: UnitOfWork,
    clock: Clock,
    schedule: WindowSchedule,
    account_id: int,
    ports: list[str],
    lat: float,
    lon: float,
    idempotency_key: str,
    standing: bool,
    rng: random.Random,
) -> RequestView:
    """Enter the group in the open window; a retry with the same key returns the first result."""
    key = domain.check_idempotency_key(idempotency_key)
    asked = _Asked(account_id, key, domain.check_port_choices(ports), standing)
    try:
        return _enter(uow, clock=clock, schedule=schedule, asked=asked, lat=lat, lon=lon, rng=rng)
    except domain.AlreadyRequested:
        # A retry racing the first one loses to it once the first commits; it answers as the
        # first did, read afresh (after a failed insert, PostgreSQL's transaction is void).
        first = _replay(uow, schedule, asked)
        if first is None:
            raise
        return first


def _new_request(
    asked: _Asked, *, group_id: int, window: dt.date, verdict: GeofenceVerdict, now: dt.datetime
) -> AppointmentRequest:
    choices = asked.ports
    return AppointmentRequest(
        group_id=group_id,
        account_id=asked.account_id,
        window=window,
        port_1=choices[0],
        port_2=choices[1] if len(choices) > 1 else None,
        port_3=choices[2] if len(choices) > 2 else None,
        status=RequestStatus.PENDING.value,
        geofence_eligible=verdict.eligible,
        geofence_state=verdict.state,
        geofence_policy=verdict.policy,
        standing=asked.standing,
        idempotency_key=asked.key,
        created_at=now,
    )


def _enter(
    uow: UnitOfWork,
    *,
    clock: Clock,
    schedule: WindowSchedule,
    asked: _Asked,
    lat: float,
    lon: float,
    rng: random.Random,
) -> RequestView:
    now = clock.now()
    with uow:
        # A retry, even after the window closed, gets the first answer (one transaction:
        # the common case, a first request, pays for no extra session).
        first = _stored_answer(uow.session, schedule, asked)
        if first is not None:
            return first
        group = uow.session.scalar(select(Group).where(Group.account_id == asked.account_id))
        if group is None:
            raise GroupNotFound()
        _check_not_scheduled(uow, group.id)
        window = schedule.open_window(now)
        if window is None:
            raise domain.WindowClosed(
                opens_at=schedule.next_opening(now).isoformat(), timezone=schedule.timezone
            )
        _check_can_request(uow, group.id, window)
        on = now.astimezone(schedule.tz).date()
        verdict = check_group_location(uow.session, group.id, lat=lat, lon=lon, on=on)
        row = _new_request(asked, group_id=group.id, window=window, verdict=verdict, now=now)
        ensure_commitment(uow.session, window=window, clock=clock, rng=rng)
        uow.session.add(row)
        try:
            uow.session.flush()
        except IntegrityError:
            # The unique indexes: this group's window or this key was taken meanwhile.
            raise domain.AlreadyRequested() from None
        record(
            uow.session, at=now, kind=EventKind.REQUEST_MADE, actor_id=asked.account_id,
            subject=f"request:{row.id}",
            data={"window": window.isoformat(), "ports": list(asked.ports),
                  "standing": asked.standing, "state": verdict.state, "policy": verdict.policy},
        )  # fmt: skip
        view = _first_answer(row, schedule, replayed=False)
        uow.commit()
    return view


def _current(uow: UnitOfWork, account_id: int) -> AppointmentRequest:
    row = uow.session.scalar(
        select(AppointmentRequest)
        .where(
            AppointmentRequest.account_id == account_id,
            AppointmentRequest.status == RequestStatus.PENDING.value,
        )
        .order_by(AppointmentRequest.window.desc())
        .limit(1)
    )
    if row is None:
        raise domain.NoCurrentRequest()
    return row


def current_request(*, uow: UnitOfWork, schedule: WindowSchedule, account_id: int) -> RequestView:
    """The group's latest pending request."""
    with uow:
        return _request_view(_current(uow, account_id), schedule)


# Whether a window's draw has run, in the caller's transaction. The draws sit a floor above
# the requests and answer it; the runtime passes their answer in (Runtime.window_drawn).
WindowDrawn = Callable[[Session, dt.date], bool]


def withdraw_request(
    *,
    uow: UnitOfWork,
    clock: Clock,
    schedule: WindowSchedule,
    account_id: int,
    drawn: WindowDrawn,
) -> RequestView:
    """Withdraw the pending request while its window is still open."""
    now = clock.now()
    with uow:
        row = _current(uow, account_id)
        # A draw may be running between windows; a standing request waits in every window,
        # but once a window has closed it is one of that draw's entries until the draw runs.
        open_now = schedule.open_window(now)
        if open_now is None or (not row.standing and open_now != row.window):
            raise WithdrawAfterClose()
        last_closed = schedule.last_closed(now)
        if row.standing and row.window <= last_closed and not drawn(uow.session, last_closed):
            raise WithdrawAfterClose()
        row.status = RequestStatus.WITHDRAWN.value
        row.withdrawn_at = now
        record(
            uow.session, at=now, kind=EventKind.REQUEST_WITHDRAWN, actor_id=account_id,
            subject=f"request:{row.id}", data={"window": row.window.isoformat()},
        )  # fmt: skip
        view = _request_view(row, schedule)
        uow.commit()
    return view
