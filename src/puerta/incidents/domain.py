"""Pure rules of incident reports: the codes, the lifecycle, the receipt, the date and the text.

A report says what happened, who did it, where (a state and a municipality, never finer) and
when (a month, perhaps a day), in free text. Its lifecycle: ``received`` becomes
``in_review``, then ``referred`` (to legal aid, a prosecutor, the External Support Mechanism
for Search and Investigation or a human-rights commission) or ``closed``; a referred report
is closed when done, and a closed one may be opened again for review.

The receipt is the reporter's only key to the report: 20 random digits from ``secrets``
(about 66 bits), written in five groups of four so that it can be read aloud and copied by
hand. Standard library only.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import re
import secrets
import unicodedata
from dataclasses import dataclass

from puerta.errors import Conflict, Invalid, NotFound

RECEIPT_DIGITS = 20
RECEIPT_GROUP = 4
# Free text and follow-ups, once spaces at the ends are dropped; longer is refused whole.
MAX_TEXT_LENGTH = 5000
MAX_CONTACT_LENGTH = 200
# A caseworker's note or message to the reporter.
MAX_NOTE_LENGTH = 2000
EARLIEST_MONTH = (2000, 1)
# Line breaks and tabs are kept in free text; every other control character is dropped.
_KEPT_CONTROLS = frozenset("\n\t")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class IncidentType(enum.StrEnum):
    KIDNAPPING = "kidnapping"
    SEXUAL_ABUSE = "sexual_abuse"
    TORTURE = "torture"
    EXTORTION = "extortion"
    ROBBERY = "robbery"
    ABUSE_BY_INM = "abuse_by_inm"
    ABUSE_BY_NATIONAL_GUARD = "abuse_by_national_guard"
    ABUSE_BY_POLICE = "abuse_by_police"
    DETENTION_OF_REGISTERED_PERSON = "detention_of_registered_person"
    DEPORTATION_OF_REGISTERED_PERSON = "deportation_of_registered_person"
    FORCED_EVICTION = "forced_eviction"
    OTHER = "other"


class Perpetrator(enum.StrEnum):
    ORGANIZED_CRIME = "organized_crime"
    INM = "inm"
    NATIONAL_GUARD = "national_guard"
    POLICE = "police"
    OTHER = "other"
    UNKNOWN = "unknown"


class Status(enum.StrEnum):
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    REFERRED = "referred"
    CLOSED = "closed"


class ReferredTo(enum.StrEnum):
    LEGAL_AID = "legal_aid"
    PROSECUTOR = "prosecutor"
    # Mecanismo de Apoyo Exterior Mexicano de Búsqueda e Investigación.
    EXTERNAL_SUPPORT_MECHANISM = "external_support_mechanism"
    HUMAN_RIGHTS_COMMISSION = "human_rights_commission"


# Which status may follow which; referring again to another body is a change too.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.IN_REVIEW, Status.CLOSED}),
    Status.IN_REVIEW: frozenset({Status.REFERRED, Status.CLOSED}),
    Status.REFERRED: frozenset({Status.REFERRED, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.IN_REVIEW}),
}


class UnknownIncidentType(Invalid):
    code = "unknown_incident_type"
    message = "Choose what happened from the list."


class UnknownPerpetrator(Invalid):
    code = "unknown_perpetrator"
    message = "Choose who did it from the list, or “I do not know”."


class UnknownState(Invalid):
    code = "unknown_state"
    message = "Choose the state from the list."


class UnknownMunicipality(Invalid):
    code = "unknown_municipality"
    message = "Choose the municipality from the list of that state."


class BadMonth(Invalid):
    code = "bad_month"
    message = "Write the month as year-month, for example 2024-05."


class BadDay(Invalid):
    code = "bad_day"
    message = "That day does not exist in that month. Leave the day empty if you are not sure."


class FutureDate(Invalid):
    code = "future_date"
    message = "The date cannot be in the future."


class TextMissing(Invalid):
    code = "text_missing"
    message = "Write what happened, in your own words."


class TextTooLong(Invalid):
    code = "text_too_long"
    message = "The text is too long: at most {limit} characters. Nothing was saved."


class ContactTooLong(Invalid):
    code = "contact_too_long"
    message = "The contact is too long: at most {limit} characters. Nothing was saved."


class UnknownStatus(Invalid):
    code = "unknown_incident_status"
    message = "Choose a status from the list."


class UnknownReferral(Invalid):
    code = "unknown_referral"
    message = "Choose where the case is referred from the list."


class StatusNotAllowed(Conflict):
    code = "incident_status_not_allowed"
    message = "A report in this status cannot be given that status."


class ReceiptNotFound(NotFound):
    # A malformed receipt, a wrong one and one of no report all read the same.
    code = "receipt_not_found"
    message = "No report has this receipt."


def parse_type(value: str) -> IncidentType:
    try:
        return IncidentType(value)
    except ValueError:
        raise UnknownIncidentType() from None


def parse_perpetrator(value: str) -> Perpetrator:
    try:
        return Perpetrator(value)
    except ValueError:
        raise UnknownPerpetrator() from None


def parse_status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise UnknownStatus() from None


def parse_referral(value: str | None) -> ReferredTo | None:
    if value is None or value == "":
        return None
    try:
        return ReferredTo(value)
    except ValueError:
        raise UnknownReferral() from None


def change_status(
    current: Status, wanted: Status, referred_to: ReferredTo | None
) -> tuple[Status, ReferredTo | None]:
    """The status and referral after a change; a referral names where, nothing else does."""
    if wanted not in TRANSITIONS[current]:
        raise StatusNotAllowed()
    if wanted is Status.REFERRED:
        if referred_to is None:
            raise UnknownReferral()
        return wanted, referred_to
    if referred_to is not None:
        raise UnknownReferral()
    return wanted, None


# -- the receipt ---------------------------------------------------------------------------


def new_receipt() -> str:
    """20 digits from the operating system's randomness, in groups: ``1234-5678-...``."""
    number = secrets.randbelow(10**RECEIPT_DIGITS)
    return format_receipt(f"{number:0{RECEIPT_DIGITS}d}")


def format_receipt(digits: str) -> str:
    return "-".join(digits[i : i + RECEIPT_GROUP] for i in range(0, RECEIPT_DIGITS, RECEIPT_GROUP))


def normalize_receipt(text: str) -> str:
    """The receipt's 20 digits as typed with or without spaces and dashes; else not found."""
    digits = "".join(ch for ch in text if ch not in " -\u00a0\t")
    if len(digits) != RECEIPT_DIGITS or not (digits.isascii() and digits.isdigit()):
        raise ReceiptNotFound()
    return digits


# -- when ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class When:
    """The month of the incident and, when the reporter knows it, the day."""

    year: int
    month: int
    day: int | None = None

    @property
    def month_text(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_when(month: str, day: int | None, *, today: dt.date) -> When:
    """``YYYY-MM`` and an optional day of it; neither may lie after ``today``."""
    found = _MONTH.match(month.strip())
    if not found:
        raise BadMonth()
    year, number = int(found.group(1)), int(found.group(2))
    if not 1 <= number <= 12 or (year, number) < EARLIEST_MONTH:
        raise BadMonth()
    if (year, number) > (today.year, today.month):
        raise FutureDate()
    if day is None:
        return When(year, number)
    if not 1 <= day <= calendar.monthrange(year, number)[1]:
        raise BadDay()
    if dt.date(year, number, day) > today:
        raise FutureDate()
    return When(year, number, day)


# -- text ----------------------------------------------------------------------------------


def _clean(text: str) -> str:
    kept = (
        ch for ch in text if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    return "".join(kept).strip()


def clean_text(text: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """Free text as the reporter wrote it (markup included: it is shown escaped)."""
    cleaned = _clean(text)
    if not cleaned:
        raise TextMissing()
    if len(cleaned) > limit:
        raise TextTooLong(limit=limit)
    return cleaned


def clean_contact(text: str | None) -> str | None:
    """An optional way to reach the reporter; empty is none."""
    cleaned = _clean(text or "")
    if len(cleaned) > MAX_CONTACT_LENGTH:
        raise ContactTooLong(limit=MAX_CONTACT_LENGTH)
    return cleaned or None
