"""Use cases at the port: the day's manifest, check-in and no-shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from puerta.accounts.tables import GroupMember
from puerta.appointments import rules
from puerta.appointments.booking import AppointmentView, appointment_view, notify_group
from puerta.appointments.domain import PORTS_BY_SLUG, check_port_slug
from puerta.appointments.rules import AppointmentStatus
from puerta.appointments.tables import Appointment
from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.notifications.domain import NotificationKind

ON_MANIFEST = (
    AppointmentStatus.CONFIRMED.value,
    AppointmentStatus.CHECKED_IN.value,
    AppointmentStatus.NO_SHOW.value,
)


@dataclass(frozen=True)
class ManifestPerson:
    given_names: str
    family_names: str
    birth_date: dt.date
    nationality: str


@dataclass(frozen=True)
class ManifestEntry:
    appointment_id: int
    confirmation_number: str
    slot_starts_at: dt.datetime
    status: AppointmentStatus
    persons: list[ManifestPerson]


def port_today(port: str, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(PORTS_BY_SLUG[port].timezone)).date()


def _check_port(officer_port: str | None, port: str) -> None:
    # Admins (no port) may look at every port; an officer only at their own.
    if officer_port is not None and officer_port != port:
        raise rules.WrongPort(port=port)


def _members(session: Session, group_id: int) -> list[ManifestPerson]:
    rows = session.scalars(
        select(GroupMember).where(GroupMember.group_id == group_id).order_by(GroupMember.position)
    )
    return [
        ManifestPerson(m.given_names, m.family_names, m.birth_date, m.nationality) for m in rows
    ]


def manifest(
    *, uow: UnitOfWork, port: str, service_date: dt.date, officer_port: str | None
) -> list[ManifestEntry]:
    """Confirmed appointments of a port on a date, by slot, with who is in each group."""
    check_port_slug(port)
    _check_port(officer_port, port)
    with uow:
        rows = uow.session.scalars(
            select(Appointment)
            .where(Appointment.port == port, Appointment.service_date == service_date)
            .where(Appointment.status.in_(ON_MANIFEST))
            .order_by(Appointment.slot_starts_at, Appointment.id)
        ).all()
        return [
            ManifestEntry(
                appointment_id=row.id,
                confirmation_number=rules.format_confirmation_number(row.confirmation_number or ""),
                slot_starts_at=row.slot_starts_at or dt.datetime.min.replace(tzinfo=dt.UTC),
                status=AppointmentStatus(row.status),
                persons=_members(uow.session, row.group_id),
            )
            for row in rows
        ]


def find_appointment(
    session: Session, number: str, birth_date: dt.date, port: str | None
) -> Appointment:
    """The appointment a confirmation number and any member's birth date name (at ``port``
    when given), else ``no_matching_appointment``: check-in and the online verification."""
    query = select(Appointment).where(
        Appointment.confirmation_number == rules.normalize_confirmation_number(number)
    )
    if port is not None:
        # Another port's appointment is answered as no appointment at all, never as
        # "wrong port": that would tell an officer anywhere which number and birth date hold.
        query = query.where(Appointment.port == port)
    row = session.scalar(query)
    # Birth dates are sealed at rest (puerta.datakeys): the number finds the group, then its
    # members' birth dates are opened and compared here, never in SQL.
    born = select(GroupMember.birth_date).where(
        GroupMember.group_id == (row.group_id if row else -1)
    )
    # A wrong number and a wrong birth date answer alike: no oracle for guessing numbers.
    if row is None or birth_date not in session.scalars(born).all():
        raise rules.NoMatchingAppointment()
    return row


def check_in(
    *, uow: UnitOfWork, clock: Clock, officer_id: int, officer_port: str | None,
    confirmation_number: str, birth_date: dt.date,
) -> AppointmentView:  # fmt: skip
    """Check a group in at the port by confirmation number and any member's birth date."""
    now = clock.now()
    with uow:
        row = find_appointment(uow.session, confirmation_number, birth_date, officer_port)
        today = port_today(row.port, now)
        row.store(row.state.check_in(now, officer=officer_id, today=today))
        record(
            uow.session, at=now, kind=EventKind.CHECKED_IN, actor_id=officer_id,
            subject=f"appointment:{row.id}", data={"port": row.port},
        )  # fmt: skip
        view = appointment_view(uow.session, row, now)
        uow.commit()
    return view


def mark_no_show(
    *, uow: UnitOfWork, clock: Clock, officer_id: int, officer_port: str | None,
    appointment_id: int,
) -> AppointmentView:  # fmt: skip
    """Record that a confirmed group did not come; the group may request again."""
    now = clock.now()
    with uow:
        row = uow.session.get(Appointment, appointment_id)
        if row is None:
            raise rules.NoSuchAppointment()
        _check_port(officer_port, row.port)
        row.store(row.state.mark_no_show(now, today=port_today(row.port, now)))
        record(
            uow.session, at=now, kind=EventKind.NO_SHOW, actor_id=officer_id,
            subject=f"appointment:{row.id}", data={"port": row.port},
        )  # fmt: skip
        notify_group(uow.session, row, NotificationKind.NO_SHOW_RECORDED, now, {})
        view = appointment_view(uow.session, row, now)
        uow.commit()
    return view
