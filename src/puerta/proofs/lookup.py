"""The online check Mexico's INM used: a confirmation number and a member's birth date give
the appointment's minimal facts (those its proof carries), to anyone, a limited number of
times per client address.

The lookup is check-in's own (``appointments.checkin``): a wrong number and a wrong birth
date answer alike, so the check is no oracle for guessing numbers. The counts per address
are kept under a keyed hash of the address, never the address itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select

from puerta.accounts.tables import GroupMember
from puerta.appointments import checkin, rules
from puerta.appointments.booking import effective_status
from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.errors import DomainError, NotFound
from puerta.proofs.domain import initials


class NoMatchToVerify(NotFound):
    code = "no_matching_appointment"
    message = "No appointment matches this confirmation number and birth date."


class TooManyChecks(DomainError):
    code = "too_many_checks"
    status = 429
    message = "Too many checks from this address. Try again in {seconds} seconds."


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


class CheckLimiter:
    """Moving windows of checks per minute and per day, for each client address."""

    def __init__(self, *, storage_uri: str, per_minute: int, per_day: int, key: bytes) -> None:
        self.storage = storage_from_string(storage_uri)
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._items = (RateLimitItemPerMinute(per_minute), RateLimitItemPerDay(per_day))
        self._key = key

    def _identifier(self, address: str) -> str:
        # Keyed, so that the stored counts cannot be matched to addresses by hashing them all.
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:32]

    def hit(self, address: str) -> None:
        """Count one check from ``address``; refuse it once a window is full."""
        who = self._identifier(address)
        for item in self._items:
            if not self._limiter.hit(item, "verify", who):
                reset = self._limiter.get_window_stats(item, "verify", who).reset_time
                raise TooManyChecks(seconds=max(1, math.ceil(reset - time.time())))
