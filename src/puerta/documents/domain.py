"""Immigration documents' rules: kinds, statuses, dates, reminders and small-count suppression.

Standard library only. A document belongs to one member of a family group (its position in
the group, as screening answers are). Its lifecycle: ``requested`` becomes ``issued`` or
``denied``; an ``issued`` one becomes ``expired`` once its expiry date has passed (the job
does it, and so does any change that finds the date past).

The statistics' small-count suppression lives in ``puerta.disclosure``, shared with every
public aggregate; its names are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace

from puerta.disclosure import FEWER_THAN_10 as FEWER_THAN_10
from puerta.disclosure import HIDDEN as HIDDEN
from puerta.disclosure import SMALL as SMALL
from puerta.disclosure import Shown as Shown
from puerta.disclosure import Suppression as Suppression
from puerta.disclosure import Total as Total
from puerta.disclosure import median as median
from puerta.disclosure import percentile as percentile
from puerta.disclosure import suppress as suppress
from puerta.errors import Conflict, Invalid

MAX_OFFICE_LENGTH = 80
MIN_OFFICE_LENGTH = 2
EARLIEST = dt.date(2000, 1, 1)
# A humanitarian visitor card lasts a year and a CURP temporal up to one; ten is generous.
MAX_VALIDITY_YEARS = 10
# Days before the expiry when the person is reminded, largest first.
REMINDER_DAYS = (30, 7)
# Signs an office name may hold besides letters, digits and spaces ("INM Tapachula (Siglo XXI)").
_OFFICE_SIGNS = frozenset(".,-'()/#&°")


class DocumentKind(enum.StrEnum):
    FMM = "fmm"  # Forma Migratoria Múltiple
    TVRH = "tvrh"  # Tarjeta de Visitante por Razones Humanitarias
    COMAR_CONSTANCIA = "comar_constancia"  # COMAR's constancia of an asylum claim
    CURP_TEMPORAL = "curp_temporal"  # a temporary population registry key


class DocumentStatus(enum.StrEnum):
    REQUESTED = "requested"
    ISSUED = "issued"
    DENIED = "denied"
    EXPIRED = "expired"


# Where each status may go by a person's change; a status may always stay (its dates fixed).
NEXT: Mapping[DocumentStatus, frozenset[DocumentStatus]] = {
    DocumentStatus.REQUESTED: frozenset(
        {DocumentStatus.REQUESTED, DocumentStatus.ISSUED, DocumentStatus.DENIED}
    ),
    DocumentStatus.ISSUED: frozenset({DocumentStatus.ISSUED, DocumentStatus.EXPIRED}),
    DocumentStatus.DENIED: frozenset({DocumentStatus.DENIED}),
    DocumentStatus.EXPIRED: frozenset({DocumentStatus.EXPIRED}),
}
DECIDED = frozenset({DocumentStatus.ISSUED, DocumentStatus.DENIED, DocumentStatus.EXPIRED})


class UnknownDocumentKind(Invalid):
    code = "unknown_document_kind"
    message = (
        "Choose a document: FMM, humanitarian visitor card, COMAR constancia or temporary CURP."
    )


class UnknownDocumentStatus(Invalid):
    code = "unknown_document_status"
    message = "Choose a state: requested, issued, denied or expired."


class UnknownMember(Invalid):
    code = "unknown_member"
    message = "There is no such person in your family. Choose a person of your family."


class InvalidOffice(Invalid):
    code = "invalid_office"
    message = (
        "Write the office with {minimum} to {maximum} letters or numbers, for example INM Tijuana."
    )


class DateInFuture(Invalid):
    code = "document_date_in_future"
    message = "The date of the request or of the decision cannot be after today."


class DateTooEarly(Invalid):
    code = "document_date_too_early"
    message = "Dates before the year 2000 are not accepted. Check the year."


class DecisionBeforeRequest(Invalid):
    code = "decision_before_request"
    message = "The decision cannot come before the request. Check the dates."


class DecisionDateRequired(Invalid):
    code = "decision_date_required"
    message = "Write the date of the decision: the day the document was issued or denied."


class DecisionDateNotAllowed(Invalid):
    code = "decision_date_not_allowed"
    message = "A document that is only requested has no decision date yet. Leave it empty."


class ExpiryNotAllowed(Invalid):
    code = "expiry_not_allowed"
    message = "Only an issued document has an expiry date. Leave it empty."


class ExpiryNotAfterDecision(Invalid):
    code = "expiry_not_after_decision"
    message = "The expiry date must come after the date the document was issued."


class ExpiryTooFar(Invalid):
    code = "expiry_too_far"
    message = "The expiry date is more than 10 years after the decision. Check the year."


class NotExpiredYet(Invalid):
    code = "not_expired_yet"
    message = "This document has not expired yet: its expiry date is still to come."


class DocumentTransition(Conflict):
    code = "document_transition"
    message = (
        "This change is not possible. A requested document can be issued or denied, "
        "and an issued one can expire."
    )


def parse_kind(value: str) -> DocumentKind:
    try:
        return DocumentKind(value)
    except ValueError:
        raise UnknownDocumentKind() from None


def parse_status(value: str) -> DocumentStatus:
    try:
        return DocumentStatus(value)
    except ValueError:
        raise UnknownDocumentStatus() from None


def clean_office(raw: str) -> str:
    """The office as statistics group it: spaces collapsed, upper case ("INM TIJUANA")."""
    text = " ".join(unicodedata.normalize("NFKC", raw).split()).upper()
    allowed = all(ch.isalnum() or ch == " " or ch in _OFFICE_SIGNS for ch in text)
    if not allowed or not MIN_OFFICE_LENGTH <= len(text) <= MAX_OFFICE_LENGTH:
        raise InvalidOffice(minimum=MIN_OFFICE_LENGTH, maximum=MAX_OFFICE_LENGTH)
    return text


@dataclass(frozen=True)
class Document:
    """What is known of one document; ``check`` keeps it consistent."""

    kind: DocumentKind
    status: DocumentStatus
    requested_on: dt.date
    office: str
    decided_on: dt.date | None = None
    expires_on: dt.date | None = None


def _check_day(value: dt.date | None, today: dt.date, *, past_only: bool) -> None:
    if value is None:
        return
    if value < EARLIEST:
        raise DateTooEarly()
    if past_only and value > today:
        raise DateInFuture()


def _check_decision(doc: Document) -> None:
    if doc.status in DECIDED and doc.decided_on is None:
        raise DecisionDateRequired()
    if doc.status is DocumentStatus.REQUESTED and doc.decided_on is not None:
        raise DecisionDateNotAllowed()
    if doc.decided_on is not None and doc.decided_on < doc.requested_on:
        raise DecisionBeforeRequest()


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_expiry(doc: Document, today: dt.date) -> None:
    if doc.expires_on is None:
        return
    if doc.status not in (DocumentStatus.ISSUED, DocumentStatus.EXPIRED):
        raise ExpiryNotAllowed()
    assert doc.decided_on is not None  # _check_decision: issued and expired have one
    if doc.expires_on <= doc.decided_on:
        raise ExpiryNotAfterDecision()
    if doc.expires_on > _years_after(doc.decided_on, MAX_VALIDITY_YEARS):
        raise ExpiryTooFar()
    if doc.status is DocumentStatus.EXPIRED and doc.expires_on >= today:
        raise NotExpiredYet()


def check(doc: Document, *, today: dt.date) -> Document:
    """The document if its dates fit its status, settled (see ``settle``); else an error."""
    _check_day(doc.requested_on, today, past_only=True)
    _check_day(doc.decided_on, today, past_only=True)
    _check_day(doc.expires_on, today, past_only=False)
    _check_decision(doc)
    _check_expiry(doc, today)
    return settle(doc, today=today)


def settle(doc: Document, *, today: dt.date) -> Document:
    """An issued document whose expiry date has passed is expired (valid through that day)."""
    if is_past_expiry(doc.status, doc.expires_on, today):
        return replace(doc, status=DocumentStatus.EXPIRED)
    return doc


def is_past_expiry(status: DocumentStatus, expires_on: dt.date | None, today: dt.date) -> bool:
    return status is DocumentStatus.ISSUED and expires_on is not None and expires_on < today


def change(current: Document, wanted: Document, *, today: dt.date) -> Document:
    """The document after a person's change; its kind never changes."""
    if wanted.kind is not current.kind or wanted.status not in NEXT[current.status]:
        raise DocumentTransition()
    return check(wanted, today=today)


def check_member(position: int, group_size: int) -> int:
    """A member's 0-based position, if the group has it."""
    if not 0 <= position < group_size:
        raise UnknownMember()
    return position


def due_reminder(expires_on: dt.date, *, today: dt.date, reminded: int | None) -> int | None:
    """The threshold (30 or 7) to remind now, or None: each once per expiry date.

    ``reminded`` is the smallest threshold already reminded for this expiry. A document
    recorded 5 days before its expiry gets the 7-day reminder only, never the 30-day one."""
    left = (expires_on - today).days
    if left < 0:
        return None
    due = [days for days in REMINDER_DAYS if left <= days]
    if not due or (reminded is not None and reminded <= min(due)):
        return None
    return min(due)
