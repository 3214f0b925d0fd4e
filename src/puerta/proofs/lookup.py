"""The online check Mexico's INM used: a confirmation number and a member's birth date give
the appointment's minimal facts (those its proof carries), to anyone, a limited number of
times per client address (puerta.ratelimits, counted at the edge).

The lookup is check-in's own (``appointments.checkin``): a wrong number and a wrong birth
date answer alike, so the check is no oracle for guessing numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from puerta.accounts.tables import GroupMember
from puerta.appointments import checkin, rules
from puerta.appointments.booking import effective_status
from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.errors import NotFound
from puerta.proofs.domain import initials


class NoMatchToVerify(NotFound):
    code = "no_matching_appointment"
    message = "No appointment matches this confirmation number and birth date."


@dataclass(frozen=True)
class MemberFact:
    initials: str
    birth_year: int


@dataclass(frozen=True)
class OnlineFacts:
    """What the online check tells anyone who holds the number and a birth date."""

    status: rules.AppointmentStatus
    port: str
    port_name: str
    service_date: dt.date
    slot_starts_at: dt.datetime | None
    persons: int
    members: list[MemberFact]


def check_online(
    *, uow: UnitOfWork, clock: Clock, confirmation_number: str, birth_date: dt.date
) -> OnlineFacts:
    """The minimal facts of the appointment with this number and a member born that day."""
    with uow:
        try:
            row = checkin.find_appointment(uow.session, confirmation_number, birth_date, None)
        except rules.NoMatchingAppointment:
            raise NoMatchToVerify() from None
        members = uow.session.scalars(
            select(GroupMember)
            .where(GroupMember.group_id == row.group_id)
            .order_by(GroupMember.position)
        )
        facts = [
            MemberFact(initials(m.given_names, m.family_names), m.birth_date.year) for m in members
        ]
        return OnlineFacts(
            status=effective_status(row, clock.now()),
            port=row.port,
            port_name=PORTS_BY_SLUG[row.port].name,
            service_date=row.service_date,
            slot_starts_at=row.slot_starts_at,
            persons=row.persons,
            members=facts,
        )
