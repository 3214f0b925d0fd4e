"""The lifecycle of an offer, the appointment it becomes, and the appeal of a cancellation.

Each transition checks that it is allowed (raising the domain error the person or officer is
shown) and returns the changed state; services load a row, call the transition and store
what it returns. Pure: standard library and other domain modules only.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace

from puerta.appointments.rules import (
    LIVE,
    AlreadyScheduled,
    AppealDecision,
    AppealNotOpen,
    AppealStatus,
    AppointmentStatus,
    NotCancellable,
    NotCheckedInable,
    NotConfirmable,
    NotServiceDate,
    OfferExpired,
    ServiceDateNotReached,
    ServiceDatePassed,
    check_note,
    check_reason,
)

Status = AppointmentStatus


class Canceller(enum.StrEnum):
    PERSON = "person"
    SYSTEM = "system"


class NotExpirable(Exception):
    """Only an offer past its deadline expires; the expiry job selects nothing else."""


@dataclass(frozen=True)
class AppointmentState:
    """What the lifecycle reads and writes of an offer or appointment."""

    status: AppointmentStatus
    service_date: dt.date
    expires_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    slot_starts_at: dt.datetime | None = None
    confirmation_number: str | None = None
    cancelled_at: dt.datetime | None = None
    cancelled_by: Canceller | None = None
    cancel_reason: str | None = None
    status_before_cancel: AppointmentStatus | None = None
    checked_in_at: dt.datetime | None = None
    checked_in_by: int | None = None
    no_show_at: dt.datetime | None = None
    # Set once, when the seats stop being held: expiry, or a cancellation that stands.
    freed_at: dt.datetime | None = None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    @property
    def under_appeal(self) -> bool:
        """Cancelled by the system and not yet decided: the seats are still held."""
        cancelled = self.status is Status.CANCELLED and self.cancelled_by is Canceller.SYSTEM
        return cancelled and self.freed_at is None

    def effective_status(self, now: dt.datetime) -> AppointmentStatus:
        """An offer past its deadline is expired, even before the expiry job has run."""
        if self.status is Status.OFFERED and now >= self.expires_at:
            return Status.EXPIRED
        return self.status

    def check_confirmable(self, now: dt.datetime, *, timezone: str) -> None:
        """Refuse unless this is an open offer (``timezone`` shows the deadline)."""
        status = self.effective_status(now)
        if status is Status.EXPIRED:
            expires_at = self.expires_at.isoformat(timespec="minutes")
            raise OfferExpired(expires_at=expires_at, timezone=timezone)
        if status is not Status.OFFERED:
            raise NotConfirmable(status=status.value)

    def confirm(
        self, now: dt.datetime, *, slot: dt.datetime, number: str, timezone: str
    ) -> AppointmentState:
        self.check_confirmable(now, timezone=timezone)
        return replace(
            self, status=Status.CONFIRMED, confirmed_at=now, slot_starts_at=slot,
            confirmation_number=number,
        )  # fmt: skip

    def expire(self, now: dt.datetime) -> AppointmentState:
        if self.effective_status(now) is not Status.EXPIRED or self.status is not Status.OFFERED:
            raise NotExpirable(self.status.value)
        return replace(self, status=Status.EXPIRED, freed_at=now)

    def _cancel(self, now: dt.datetime, by: Canceller) -> AppointmentState:
        status = self.effective_status(now)
        if status not in LIVE:
            raise NotCancellable(status=status.value)
        return replace(
            self, status=Status.CANCELLED, cancelled_at=now, cancelled_by=by,
            status_before_cancel=status,
        )  # fmt: skip

    def cancel_by_person(self, now: dt.datetime) -> AppointmentState:
        """The person gives the offer or appointment up; the seats go back at once."""
        return replace(self._cancel(now, Canceller.PERSON), freed_at=now)

    def cancel_by_admin(self, now: dt.datetime, reason: str) -> AppointmentState:
        """Cancelled with a reason; the seats stay held until the appeal is decided."""
        text = check_reason(reason)
        return replace(self._cancel(now, Canceller.SYSTEM), cancel_reason=text)

    def _check_under_appeal(self) -> None:
        if not self.under_appeal:
            raise AppealNotOpen()

    def uphold(self, now: dt.datetime) -> AppointmentState:
        """The cancellation stands: the seats go back."""
        self._check_under_appeal()
        return replace(self, freed_at=now)

    def reinstate(
        self, now: dt.datetime, *, today: dt.date, offer_for: dt.timedelta,
        holds_another: bool,
    ) -> AppointmentState:  # fmt: skip
        """Back as it was before the cancellation; an offer gets a new deadline from ``now``.

        ``today`` is the date at the port; ``holds_another`` whether the group holds another
        offer or appointment (then it keeps that one, and this cancellation stands).
        """
        self._check_under_appeal()
        if self.service_date < today:
            raise ServiceDatePassed()
        if holds_another:
            raise AlreadyScheduled()
        if offer_for <= dt.timedelta(0):
            raise ValueError("a reinstated offer needs a deadline after now")
        status = self.status_before_cancel or Status.CONFIRMED
        expires_at = now + offer_for if status is Status.OFFERED else self.expires_at
        return replace(
            self, status=status, expires_at=expires_at, cancelled_at=None, cancelled_by=None,
            cancel_reason=None, status_before_cancel=None,
        )  # fmt: skip

    def _check_confirmed(self) -> None:
        if self.status is not Status.CONFIRMED:
            raise NotCheckedInable(status=self.status.value)

    def check_in(self, now: dt.datetime, *, officer: int, today: dt.date) -> AppointmentState:
        """At the port on the service date (``today``, at the port)."""
        self._check_confirmed()
        if self.service_date != today:
            raise NotServiceDate(service_date=self.service_date.isoformat())
        return replace(self, status=Status.CHECKED_IN, checked_in_at=now, checked_in_by=officer)

    def mark_no_show(self, now: dt.datetime, *, today: dt.date) -> AppointmentState:
        """The group did not come; only on or after the service date (``today``, at the port)."""
        self._check_confirmed()
        if today < self.service_date:
            raise ServiceDateNotReached(service_date=self.service_date.isoformat())
        return replace(self, status=Status.NO_SHOW, no_show_at=now)


@dataclass(frozen=True)
class AppealState:
    """An appeal, opened by every cancellation by the system; an admin decides it once."""

    opened_at: dt.datetime
    status: AppealStatus = AppealStatus.OPEN
    decided_at: dt.datetime | None = None
    decided_by: int | None = None
    decision_note: str | None = None

    def reopen(self, now: dt.datetime) -> AppealState:
        """A reinstated appointment cancelled again: its one appeal opens again."""
        if self.status is not AppealStatus.REINSTATED:
            raise AppealNotOpen()
        return AppealState(opened_at=now)

    def check_open(self) -> None:
        if self.status is not AppealStatus.OPEN:
            raise AppealNotOpen()

    def decide(
        self, decision: AppealDecision, now: dt.datetime, *, actor: int, note: str
    ) -> AppealState:
        self.check_open()
        status = (
            AppealStatus.REINSTATED if decision is AppealDecision.REINSTATE else AppealStatus.UPHELD
        )
        return replace(
            self, status=status, decided_at=now, decided_by=actor, decision_note=check_note(note)
        )
