"""Offers, appointments and check-in: statuses, confirmation numbers, slots and errors.

Pure: standard library only.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
import re
import unicodedata
from collections.abc import Mapping, Sequence

from puerta.errors import Conflict, Forbidden, Invalid, NotFound

# No 0/O and no 1/I: a confirmation number must survive being read aloud or copied by hand.
CONFIRMATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CONFIRMATION_LENGTH = 8
_NOT_IN_NUMBER = re.compile(r"[\s\-]")
_IN_NUMBER = frozenset(CONFIRMATION_ALPHABET)
_CONTROL = ("Cc", "Cs")


class AppointmentStatus(enum.StrEnum):
    OFFERED = "offered"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"


LIVE = frozenset({AppointmentStatus.OFFERED, AppointmentStatus.CONFIRMED})


class AppealStatus(enum.StrEnum):
    OPEN = "open"
    REINSTATED = "reinstated"
    UPHELD = "upheld"


class AppealDecision(enum.StrEnum):
    REINSTATE = "reinstate"
    UPHOLD = "uphold"


class NoAppointment(NotFound):
    code = "no_appointment"
    message = "Your group has no appointment or offer."


class OfferExpired(Conflict):
    code = "offer_expired"
    message = "This offer expired at {expires_at}; its seats went back to the draw."


class NotConfirmable(Conflict):
    code = "not_confirmable"
    message = "Only an open offer can be confirmed; this one is {status}."


class NotCancellable(Conflict):
    code = "not_cancellable"
    message = (
        "Only an open offer or a confirmed appointment can be cancelled; this one is {status}."
    )


class AlreadyScheduled(Conflict):
    code = "already_scheduled"
    message = "Your group already has an offer or an appointment."


class GroupLocked(Conflict):
    code = "group_locked"
    message = "The group cannot change while it holds an offer or an appointment."


class WrongPort(Forbidden):
    code = "wrong_port"
    message = "This appointment is at another port of entry ({port})."


class NoMatchingAppointment(NotFound):
    code = "no_matching_appointment"
    message = "No appointment at this port matches this confirmation number and birth date."


class NotServiceDate(Conflict):
    code = "not_service_date"
    message = "This appointment is for {service_date}, not today."


class NotCheckedInable(Conflict):
    code = "not_confirmed"
    message = (
        "Only a confirmed appointment can be checked in or marked as a no-show; "
        "this one is {status}."
    )


class ServiceDateNotReached(Conflict):
    code = "service_date_not_reached"
    message = "A no-show can only be recorded on or after the service date ({service_date})."


class AppealNotOpen(Conflict):
    code = "appeal_not_open"
    message = "This appeal has already been decided."


class ServiceDatePassed(Conflict):
    code = "service_date_passed"
    message = "The service date has passed, so the appointment cannot be reinstated."


class ReasonRequired(Invalid):
    code = "reason_required"
    message = "A cancellation by the system needs a reason of 3 to 500 characters."


class NoteRequired(Invalid):
    code = "note_required"
    message = "Write a note of 3 to 500 characters explaining the decision."


class NoSuchAppointment(NotFound):
    code = "unknown_appointment"
    message = "There is no appointment with this number."


class NoSuchAppeal(NotFound):
    code = "unknown_appeal"
    message = "There is no appeal with this number."


def new_confirmation_number(rng: random.Random) -> str:
    """Eight characters from an alphabet without look-alikes (32 ** 8, about 10 ** 12)."""
    return "".join(rng.choice(CONFIRMATION_ALPHABET) for _ in range(CONFIRMATION_LENGTH))


def format_confirmation_number(number: str) -> str:
    return f"{number[:4]}-{number[4:]}"


def normalize_confirmation_number(raw: str) -> str:
    """Accept any case, spaces and hyphens; a character no number has gives "", no one's."""
    number = _NOT_IN_NUMBER.sub("", raw).upper()[:32]
    # Not even looked up: PostgreSQL refuses a NUL in a query, and no other is in a number.
    return number if set(number) <= _IN_NUMBER else ""


def slot_starts(first: dt.time, last: dt.time) -> list[dt.time]:
    """Hourly slots from ``first`` to ``last`` inclusive (defaults 07:00 to 14:00)."""
    hours = range(first.hour, last.hour + 1)
    return [dt.time(hour, first.minute) for hour in hours]


def choose_slot(starts: Sequence[dt.time], persons: Mapping[dt.time, int]) -> dt.time:
    """The slot with the fewest persons so far, earliest first: the queue stays even."""
    return min(starts, key=lambda start: (persons.get(start, 0), start))


def _explanation(text: str) -> str | None:
    # Control characters go (PostgreSQL cannot even store a NUL); line breaks and tabs
    # become spaces.
    kept = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in _CONTROL)
    cleaned = " ".join(kept.split())
    return cleaned if 3 <= len(cleaned) <= 500 else None


def check_reason(reason: str) -> str:
    """The reason of a cancellation by the system, which the group is told."""
    cleaned = _explanation(reason)
    if cleaned is None:
        raise ReasonRequired()
    return cleaned


def check_note(note: str) -> str:
    """The note that explains an appeal's decision."""
    cleaned = _explanation(note)
    if cleaned is None:
        raise NoteRequired()
    return cleaned
