"""Use cases for ports, capacity plans and appointment requests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puerta.accounts.service import GroupNotFound
from puerta.accounts.tables import Group, GroupMember
from puerta.appointments import domain
from puerta.appointments.commitments import ensure_commitment
from puerta.appointments.domain import PORTS, OutsideGeofence, Port, RequestStatus, WindowSchedule
from puerta.appointments.rules import LIVE, AlreadyScheduled
from puerta.appointments.tables import Appointment, AppointmentRequest, CapacityPlan
from puerta.audit.domain import EventKind, NewEvent, OnBehalf, acting_for
from puerta.audit.service import record, record_many
from puerta.clock import Clock
from puerta.config import DEFAULT_CAPACITY_HORIZON_DAYS
from puerta.db import UnitOfWork
from puerta.errors import Conflict, DomainError, Invalid
from puerta.geo import service as geo
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


@dataclass(frozen=True)
class Ask:
    """One request to enter, as the use case takes it: who asks, for what, from where.

    ``on_behalf`` is set when a caseworker asks with a delegated token, in a batch whose
    transaction acts for several people (a single request's unit of work says it instead)."""

    account_id: int
    ports: tuple[str, ...]
    lat: float
    lon: float
    key: str
    standing: bool
    on_behalf: OnBehalf | None = None


# What ``enter_many`` answers for each ask: the request's view, or why it was refused.
Answer = RequestView | DomainError


def _first_answer(
    row: Mapping[str, Any], schedule: WindowSchedule, *, replayed: bool
) -> RequestView:
    """The answer the request got when it was made, rebuilt from what is stored of it.
    Every request is made pending; what became of it since is not part of that answer."""
    ports = [p for p in (row["port_1"], row["port_2"], row["port_3"]) if p]
    return RequestView(
        id=row["id"], window=row["window"], ports=ports, status=RequestStatus.PENDING,
        standing=row["standing"], geofence_state=row["geofence_state"],
        geofence_policy=row["geofence_policy"],
        # In UTC as stored, so a replay read back from the database answers the same.
        created_at=row["created_at"].astimezone(dt.UTC),
        window_closes_at=schedule.closes_at(row["window"]), replayed=replayed,
    )  # fmt: skip


def _same_ask(row: Mapping[str, Any], ask: Ask) -> bool:
    ports = tuple(p for p in (row["port_1"], row["port_2"], row["port_3"]) if p)
    return (ports, row["standing"]) == (ask.ports, ask.standing)


_REQUESTS = cast(Table, AppointmentRequest.__table__)


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
    ask = Ask(account_id, domain.check_port_choices(ports), lat, lon, key, standing)
    try:
        with uow:
            # A retry, even after the window closed, gets the first answer (one transaction:
            # the common case, a first request, pays for no extra session).
            [answer] = enter_many(uow.session, clock=clock, schedule=schedule, rng=rng, asks=[ask])
            if isinstance(answer, DomainError):
                raise answer
            uow.commit()
        return answer
    except IntegrityError:
        # The unique indexes: this group's window or this key was taken meanwhile.
        first = _replay(uow, schedule, ask)
        if first is None:
            raise domain.AlreadyRequested() from None
        return first
    except domain.AlreadyRequested:
        # A retry racing the first one loses to it once the first commits; it answers as the
        # first did, read afresh (after a failed insert, PostgreSQL's transaction is void).
        first = _replay(uow, schedule, ask)
        if first is None:
            raise
        return first


def _replay(uow: UnitOfWork, schedule: WindowSchedule, ask: Ask) -> RequestView | None:
    """The first answer to this key, read in a transaction of its own (so it sees commits)."""
    with uow:
        found = _stored(uow.session, [ask]).get((ask.account_id, ask.key))
    if found is None:
        return None
    if not _same_ask(found, ask):
        raise domain.IdempotencyKeyReused()
    return _first_answer(found, schedule, replayed=True)


def _stored(session: Session, asks: Sequence[Ask]) -> dict[tuple[int, str], Mapping[str, Any]]:
    """The requests already stored under these asks' (account, key) pairs."""
    accounts = {a.account_id for a in asks}
    keys = {a.key for a in asks}
    rows = session.execute(
        select(_REQUESTS).where(
            _REQUESTS.c.account_id.in_(accounts), _REQUESTS.c.idempotency_key.in_(keys)
        )
    ).mappings()
    wanted = {(a.account_id, a.key) for a in asks}
    return {
        pair: dict(row)
        for row in rows
        if (pair := (row["account_id"], row["idempotency_key"])) in wanted
    }


@dataclass
class _Facts:
    """What the checks of a batch of asks read, in one statement each."""

    stored: dict[tuple[int, str], Mapping[str, Any]]
    group_of: dict[int, int]  # account id -> group id
    scheduled: set[int]  # groups holding an offer or an appointment
    requested: set[int]  # groups with a live request this window, or one still pending
    nationalities: dict[int, list[str]]


def _facts(session: Session, asks: Sequence[Ask], window: dt.date | None) -> _Facts:
    stored = _stored(session, asks)
    fresh = {a.account_id for a in asks if (a.account_id, a.key) not in stored}
    group_of: dict[int, int] = {}
    if fresh:
        rows = session.execute(
            select(Group.account_id, Group.id).where(Group.account_id.in_(fresh))
        )
        group_of = {account: group for account, group in rows}
    groups = set(group_of.values())
    scheduled: set[int] = set()
    requested: set[int] = set()
    nationalities: dict[int, list[str]] = {}
    if groups:
        scheduled = set(session.scalars(
            select(Appointment.group_id).where(
                Appointment.group_id.in_(groups), Appointment.status.in_([s.value for s in LIVE])
            )
        ))  # fmt: skip
    if groups and window is not None:
        # Live this window, or still pending from an earlier one (pending is not withdrawn).
        # The "not withdrawn" term comes first and stands alone so that both databases use
        # the partial index of live requests by group; written as an OR of the two cases, it
        # scanned every pending request in the table (hundreds of thousands on day one).
        requested = set(session.scalars(select(_REQUESTS.c.group_id).where(
            _REQUESTS.c.group_id.in_(groups - scheduled),
            _REQUESTS.c.status != RequestStatus.WITHDRAWN.value,
            or_(_REQUESTS.c.window == window, _REQUESTS.c.status == RequestStatus.PENDING.value),
        )))  # fmt: skip
        for group, nationality in session.execute(
            select(GroupMember.group_id, GroupMember.nationality).where(
                GroupMember.group_id.in_(groups - scheduled - requested)
            )
        ):
            nationalities.setdefault(group, []).append(nationality)
    return _Facts(stored, group_of, scheduled, requested, nationalities)


def enter_many(
    session: Session,
    *,
    clock: Clock,
    schedule: WindowSchedule,
    rng: random.Random,
    asks: Sequence[Ask],
) -> list[Answer]:
    """Enter several groups in the open window, in the caller's transaction (never commits).

    Each ask is answered as ``make_request`` answers one, in order: the first answer again to
    a retried key, else the checks (a group, no seats held, the window open, one request per
    window, the geofence), else a new request. The reads are one statement each for the whole
    batch, the new requests one INSERT and their audit events one append: the intake commits
    hundreds of requests in the time one took (web/intake.py). A unique index violated by a
    concurrent writer raises IntegrityError; the caller then answers each ask on its own.
    """
    now = clock.now()
    window = schedule.open_window(now)
    facts = _facts(session, asks, window)
    on = now.astimezone(schedule.tz).date()
    answers: list[Answer | None] = [None] * len(asks)
    new: list[tuple[int, Ask, dict[str, Any]]] = []
    taken: dict[int, tuple[int, Ask]] = {}  # group -> the place of its new request's ask
    repeats: list[tuple[int, int]] = []  # an ask sent twice in the batch, and the first's place
    for place, ask in enumerate(asks):
        answers[place] = _check(ask, facts, window, schedule, now)
    open_ = [place for place, answer in enumerate(answers) if answer is None]
    verdicts = dict(zip(open_, _verdicts(facts, [asks[p] for p in open_], on), strict=True))
    for place in open_:
        ask = asks[place]
        group = facts.group_of[ask.account_id]
        if group in taken:
            first_place, first = taken[group]
            if first.key != ask.key:
                answers[place] = domain.AlreadyRequested()
            elif (first.ports, first.standing) != (ask.ports, ask.standing):
                answers[place] = domain.IdempotencyKeyReused()
            else:
                repeats.append((place, first_place))
            continue
        verdict = verdicts[place]
        if not verdict.eligible:
            answers[place] = OutsideGeofence(reason=verdict.reason)
            continue
        assert window is not None
        taken[group] = (place, ask)
        new.append((place, ask, _new_row(ask, group, window, verdict, now)))
    if new:
        assert window is not None
        ensure_commitment(session, window=window, clock=clock, rng=rng)
        ids = session.execute(
            insert(_REQUESTS).returning(_REQUESTS.c.id, sort_by_parameter_order=True),
            [row for _, _, row in new],
        ).scalars().all()  # fmt: skip
        events = []
        for (place, ask, row), request_id in zip(new, ids, strict=True):
            row["id"] = request_id
            answers[place] = _first_answer(row, schedule, replayed=False)
            events.append(_made(ask, row, now))
        record_many(session, events)
    for place, first_place in repeats:
        entered = answers[first_place]
        assert isinstance(entered, RequestView)
        answers[place] = dataclasses.replace(entered, replayed=True)
    return [answer for answer in answers if answer is not None]


def _check(
    ask: Ask, facts: _Facts, window: dt.date | None, schedule: WindowSchedule, now: dt.datetime
) -> Answer | None:
    """The answer to an ask that is replayed or refused; None for one to enter."""
    stored = facts.stored.get((ask.account_id, ask.key))
    if stored is not None:
        if not _same_ask(stored, ask):
            return domain.IdempotencyKeyReused()
        return _first_answer(stored, schedule, replayed=True)
    group = facts.group_of.get(ask.account_id)
    if group is None:
        return GroupNotFound()
    if group in facts.scheduled:
        return AlreadyScheduled()
    if window is None:
        return domain.WindowClosed(
            opens_at=schedule.next_opening(now).isoformat(), timezone=schedule.timezone
        )
    if group in facts.requested:
        return domain.AlreadyRequested()
    return None


def _verdicts(facts: _Facts, asks: Sequence[Ask], on: dt.date) -> list[GeofenceVerdict]:
    """The geofence's verdict on each ask, for all of them at once (the family's
    nationalities count, as in ``check_group_location``)."""
    points = [
        (a.lat, a.lon, facts.nationalities.get(facts.group_of[a.account_id], [])) for a in asks
    ]
    return geo.check_locations(points, on=on)


def _new_row(
    ask: Ask, group_id: int, window: dt.date, verdict: GeofenceVerdict, now: dt.datetime
) -> dict[str, Any]:
    choices = ask.ports
    return {
        "group_id": group_id, "account_id": ask.account_id, "window": window,
        "port_1": choices[0], "port_2": choices[1] if len(choices) > 1 else None,
        "port_3": choices[2] if len(choices) > 2 else None,
        "status": RequestStatus.PENDING.value, "geofence_eligible": verdict.eligible,
        "geofence_state": verdict.state, "geofence_policy": verdict.policy,
        "standing": ask.standing, "idempotency_key": ask.key, "created_at": now,
        "withdrawn_at": None,
    }  # fmt: skip


def _made(ask: Ask, row: Mapping[str, Any], now: dt.datetime) -> NewEvent:
    data = {
        "window": row["window"].isoformat(), "ports": list(ask.ports), "standing": ask.standing,
        "state": row["geofence_state"], "policy": row["geofence_policy"],
    }  # fmt: skip
    actor, recorded = acting_for(ask.on_behalf, ask.account_id, data)
    return NewEvent(
        at=now, kind=EventKind.REQUEST_MADE, actor_id=actor, subject=f"request:{row['id']}",
        data=recorded,
    )  # fmt: skip


def _request_view(row: AppointmentRequest, schedule: WindowSchedule) -> RequestView:
    return RequestView(
        id=row.id, window=row.window, ports=row.ports, status=RequestStatus(row.status),
        standing=row.standing, geofence_state=row.geofence_state,
        geofence_policy=row.geofence_policy, created_at=row.created_at.astimezone(dt.UTC),
        window_closes_at=schedule.closes_at(row.window),
    )  # fmt: skip


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
