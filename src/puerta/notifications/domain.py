"""What each notification says, in plain English, and how it is filled in (stdlib only).

The English texts are the gettext message ids; translations live in the catalogs. Many
readers read little, so the texts use plain words and short sentences. Parameters are stored
as machine values (a port's slug, an ISO date, an ISO instant), never personal data, and are
formatted when sent, in the reader's language, by a ``Shown`` the service passes in.
"""

from __future__ import annotations

import datetime as dt
import enum
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

Gettext = Callable[[str], str]


class NotificationKind(enum.StrEnum):
    OFFER_MADE = "offer_made"
    OFFER_EXPIRED = "offer_expired"
    APPOINTMENT_CONFIRMED = "appointment_confirmed"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPEAL_OPENED = "appeal_opened"
    APPEAL_DECIDED = "appeal_decided"
    NO_SHOW_RECORDED = "no_show_recorded"
    EXCEPTION_APPROVED = "exception_approved"
    EXCEPTION_DENIED = "exception_denied"
    EXCEPTION_MORE_INFO = "exception_more_info"
    EXCEPTIONS_OVERDUE = "exceptions_overdue"
    DOCUMENT_EXPIRING = "document_expiring"


class Status(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    NO_CHANNEL = "no_channel"  # the notifier cannot reach this username (a phone, for e-mail)
    FAILED = "failed"  # gave up after MAX_ATTEMPTS failed sends


MAX_ATTEMPTS = 5
# The wait before each retry: 1, 4, 16, then 60 minutes, so the fifth and last attempt comes
# about 80 minutes after the first: long enough to ride out a gateway's outage, short enough
# for an offer's 23 hours.
BACKOFF_FIRST = dt.timedelta(minutes=1)
BACKOFF_FACTOR = 4
BACKOFF_CAP = dt.timedelta(hours=1)


class DeliveryError(Exception):
    """A channel's failure to send one message, with a code safe to store (no address, no text).

    ``permanent`` failures (a number the gateway refuses) are not retried; the others wait at
    least ``retry_after`` (a gateway's Retry-After) or the backoff, whichever is longer.
    """

    def __init__(
        self, code: str, *, permanent: bool = False, retry_after: dt.timedelta | None = None
    ) -> None:
        super().__init__(code)
        self.code = code[:64]
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class NewNotification:
    """A notification to put in the outbox (``enqueue``'s arguments), one of a batch."""

    account_id: int
    kind: NotificationKind
    language: str
    params: Mapping[str, object]
    at: dt.datetime


def status_after_failure(attempts: int, *, permanent: bool = False) -> Status:
    """The status once ``attempts`` sends in all have failed: retried until MAX_ATTEMPTS."""
    return Status.FAILED if permanent or attempts >= MAX_ATTEMPTS else Status.PENDING


def retry_delay(attempts: int, *, at_least: dt.timedelta | None = None) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed send before the next one."""
    # Bounded before multiplying out (4 ** 8 minutes is past the cap), so no count overflows.
    exponent = min(max(attempts - 1, 0), 8)
    factor: int = BACKOFF_FACTOR**exponent
    delay = min(BACKOFF_FIRST * factor, BACKOFF_CAP)
    return min(max(delay, at_least or delay), BACKOFF_CAP)


# kind -> (subject, body). Placeholders, by kind:
# (port: a slug; service_date: an ISO date; expires_at and slot: ISO instants)
#   offer_made             port, service_date, expires_at
#   offer_expired          port, service_date
#   appointment_confirmed  port, service_date, slot, confirmation_number
#   appointment_cancelled  port, service_date, reason (the staff member's words)
#   appeal_opened          port, service_date, appeal (its number)
#   appeal_decided         port, service_date, decision (a code of DECISIONS)
#   no_show_recorded       port, service_date
#   exception_approved     (none)
#   exception_denied       reason (the caseworker's words)
#   exception_more_info    reason (the caseworker's words)
#   exceptions_overdue     count (exception requests past their review deadline; to admins)
#   document_expiring      document (a code of DOCUMENTS), expires_on (an ISO date), days
TEMPLATES: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.OFFER_MADE: (
        "puerta: your group was selected",
        "Your group was selected for an appointment at {port} on {service_date}. "
        "Confirm before {expires_at} from inside the eligible area, or the seats go to others.",
    ),
    NotificationKind.OFFER_EXPIRED: (
        "puerta: your offer has ended",
        "You did not confirm the appointment at {port} on {service_date} in time. "
        "The seats went to others. You can ask for an appointment again in the next window.",
    ),
    NotificationKind.APPOINTMENT_CONFIRMED: (
        "puerta: your appointment is confirmed",
        "Your appointment is at {port} on {service_date} at {slot}. "
        "Your confirmation number is {confirmation_number}. "
        "Come with every person in your group. Show your proof at the port.",
    ),
    NotificationKind.APPOINTMENT_CANCELLED: (
        "puerta: your appointment was cancelled",
        "Your appointment at {port} on {service_date} was cancelled. The reason: {reason}. "
        "You can appeal. Log in to puerta to see your appeal.",
    ),
    NotificationKind.APPEAL_OPENED: (
        "puerta: your appeal is open",
        "Your appeal about the appointment at {port} on {service_date} is open. "
        "Its number is {appeal}. We will tell you the decision.",
    ),
    NotificationKind.APPEAL_DECIDED: (
        "puerta: your appeal was decided",
        "Your appeal about the appointment at {port} on {service_date} was decided: "
        "{decision}. Log in to puerta to see what to do next.",
    ),
    NotificationKind.NO_SHOW_RECORDED: (
        "puerta: you missed your appointment",
        "Nobody from your group came to the appointment at {port} on {service_date}. "
        "You can ask for a new appointment in the next window.",
    ),
    NotificationKind.EXCEPTION_APPROVED: (
        "puerta: your request for priority was approved",
        "Your request for priority attention was approved. "
        "Your group now enters the reserved seats of each draw. Ask for an appointment as usual.",
    ),
    NotificationKind.EXCEPTION_DENIED: (
        "puerta: your request for priority was denied",
        "Your request for priority attention was denied. The reason: {reason}. "
        "You can ask an administrator to review it. Log in to puerta to do so.",
    ),
    NotificationKind.EXCEPTION_MORE_INFO: (
        "puerta: your request for priority needs more information",
        "Your request for priority attention needs more information: {reason}. "
        "Log in to puerta or talk to your caseworker.",
    ),
    NotificationKind.EXCEPTIONS_OVERDUE: (
        "puerta: exception requests are overdue",
        "{count} exception requests are past their review deadline. "
        "Log in to puerta to assign them.",
    ),
    NotificationKind.DOCUMENT_EXPIRING: (
        "puerta: a document expires soon",
        "Your {document} expires on {expires_on}, in {days} days. "
        "Ask the immigration office to renew it in time.",
    ),
}

# Used only if a stored notification names a kind this version no longer has.
FALLBACK = (
    "puerta: there is news about your appointment",
    "There is news about your appointment. Log in to puerta to see it.",
)

# Codes sent as parameters, with the words shown for them (also message ids).
DECISIONS = {
    "reinstated": "your appointment is back",
    "upheld": "the cancellation stays",
}
# Immigration documents (document_expiring), by code.
DOCUMENTS = {
    "fmm": "FMM (multiple migration form)",
    "tvrh": "humanitarian visitor card (TVRH)",
    "comar_constancia": "COMAR asylum constancia",
    "curp_temporal": "temporary CURP",
}
_PHRASES: dict[str, dict[str, str]] = {"decision": DECISIONS, "document": DOCUMENTS}

# The SMS of each kind (puerta.notifications.sms keeps it within two segments): the same
# parameters, fewer words, no subject. Free text (a reason) comes last, so that cutting it to
# fit loses only its end; the text before it says where to read the rest.
SMS_TEMPLATES: dict[NotificationKind, str] = {
    NotificationKind.OFFER_MADE: "puerta: your group was chosen: {port}, {service_date}. "
    "Confirm by {expires_at} in the eligible area.",
    NotificationKind.OFFER_EXPIRED: "puerta: you did not confirm {port}, {service_date} in "
    "time. The seats went to others. You can ask again in the next window.",
    NotificationKind.APPOINTMENT_CONFIRMED: "puerta: appointment at {port}, {service_date}, "
    "{slot}. Number: {confirmation_number}. Come with everyone in your group.",
    NotificationKind.APPOINTMENT_CANCELLED: "puerta: your appointment at {port}, "
    "{service_date} was cancelled. To appeal or read more, log in. Reason: {reason}",
    NotificationKind.APPEAL_OPENED: "puerta: your appeal {appeal} about {port}, {service_date} "
    "is open. We will tell you the decision.",
    NotificationKind.APPEAL_DECIDED: "puerta: your appeal about {port}, {service_date} was "
    "decided: {decision}. Log in to see what to do next.",
    NotificationKind.NO_SHOW_RECORDED: "puerta: nobody from your group came to {port} on "
    "{service_date}. You can ask for a new appointment in the next window.",
    NotificationKind.EXCEPTION_APPROVED: "puerta: your request for priority was approved. "
    "Your group now enters the reserved seats. Ask for an appointment as usual.",
    NotificationKind.EXCEPTION_DENIED: "puerta: your request for priority was denied. You can "
    "ask for a review: log in to read more. Reason: {reason}",
    NotificationKind.EXCEPTION_MORE_INFO: "puerta: your request for priority needs more "
    "information. Log in or talk to your caseworker. What is needed: {reason}",
    NotificationKind.EXCEPTIONS_OVERDUE: "puerta: {count} exception requests are past their "
    "review deadline. Log in to assign them.",
    NotificationKind.DOCUMENT_EXPIRING: "puerta: your {document} expires on {expires_on}, in "
    "{days} days. Ask the immigration office to renew it.",
}
SMS_FALLBACK = "puerta: there is news about your appointment. Log in to see it."
# In an SMS a document goes by the name printed on it, the same in every language.
SMS_DOCUMENTS = {
    "fmm": "FMM",
    "tvrh": "TVRH",
    "comar_constancia": "COMAR",
    "curp_temporal": "CURP",
}
# Parameters that are free text, cut to fit an SMS (the others are short machine values).
FREE_TEXT = frozenset({"reason"})
# A date in an SMS: day and month, no weekday and no year (a service date is two weeks away),
# for the languages whose CLDR data has no such pattern.
SMS_DAY_MONTH = "{day} {month}"


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def required_params(kind: NotificationKind) -> set[str]:
    subject, body = TEMPLATES[kind]
    return placeholders(subject) | placeholders(body)


class _KeepMissing(dict[str, object]):
    # A missing parameter shows as its {name} instead of failing the whole message.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: str, params: Mapping[str, object]) -> str | None:
    try:
        return text.format_map(params)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return None


def _translate(gettext: Gettext, message: str) -> str:
    try:
        translated = gettext(message)
    except Exception:  # a broken catalog must not stop a notification
        return message
    return translated if isinstance(translated, str) else message


def _render_one(text: str, params: Mapping[str, object], gettext: Gettext) -> str:
    for candidate in (_translate(gettext, text), text):
        filled = _fill(candidate, params)
        if filled:  # an empty translation is as broken as one that does not format
            return filled
    return _fill(text, _KeepMissing(params)) or text


class Shown(Protocol):
    """How machine values read in one language; each time in a named zone."""

    def port(self, slug: str) -> str | None:
        """The port's name, or None for a slug it does not know."""
        ...

    def day(self, value: dt.date) -> str: ...

    def slot(self, instant: dt.datetime, *, port: str) -> str:
        """The hour at the port, in the port's zone, named."""
        ...

    def deadline(self, instant: dt.datetime, *, also_port: str) -> str:
        """In the window's zone, named, and in the port's zone when that differs."""
        ...


def _instant(value: object) -> dt.datetime | None:
    try:
        instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return instant if instant is not None and instant.tzinfo is not None else None


def _day(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _formatted(params: Mapping[str, object], shown: Shown) -> dict[str, object]:
    # A value that is not a machine value (an outbox row written before they were) stays.
    out = dict(params)
    if (expiry := _day(params.get("expires_on"))) is not None:
        out["expires_on"] = shown.day(expiry)
    slug = params.get("port")
    name = shown.port(slug) if isinstance(slug, str) else None
    if name is None or not isinstance(slug, str):
        return out
    out["port"] = name
    if (day := _day(params.get("service_date"))) is not None:
        out["service_date"] = shown.day(day)
    if (slot := _instant(params.get("slot"))) is not None:
        out["slot"] = shown.slot(slot, port=slug)
    if (deadline := _instant(params.get("expires_at"))) is not None:
        out["expires_at"] = shown.deadline(deadline, also_port=slug)
    return out


def _shown(
    params: Mapping[str, object], gettext: Gettext, shown: Shown | None
) -> dict[str, object]:
    out = dict(params) if shown is None else _safely_formatted(params, shown)
    for key, phrases in _PHRASES.items():
        value = out.get(key)
        if isinstance(value, str) and value in phrases:
            out[key] = _translate(gettext, phrases[value])
    return out


def _safely_formatted(params: Mapping[str, object], shown: Shown) -> dict[str, object]:
    try:
        return _formatted(params, shown)
    except Exception:  # a value the formatter chokes on must not stop a notification
        return dict(params)


def shown_params(
    params: Mapping[str, object], gettext: Gettext, shown: Shown | None = None
) -> dict[str, object]:
    """The parameters as a reader sees them: values formatted by ``shown``, codes as words."""
    return _shown(params, gettext, shown)


def render_text(text: str, params: Mapping[str, object], gettext: Gettext) -> str:
    """One template translated and filled; falls back to English, never raises."""
    return _render_one(text, params, gettext)


def render(
    kind: str, params: Mapping[str, object], gettext: Gettext, shown: Shown | None = None
) -> tuple[str, str]:
    """(subject, body) in the language of ``gettext``; falls back to English, never raises.

    ``shown`` formats the machine values; without it they are shown as stored.
    """
    try:
        subject, body = TEMPLATES[NotificationKind(kind)]
    except ValueError:
        subject, body = FALLBACK
    filled = _shown(params, gettext, shown)
    return _render_one(subject, filled, gettext), _render_one(body, filled, gettext)


def message_ids() -> list[str]:
    """Every English text that needs a translation in each catalog."""
    texts = [text for pair in TEMPLATES.values() for text in pair]
    sms = [*SMS_TEMPLATES.values(), SMS_FALLBACK, SMS_DAY_MONTH]
    return [*texts, *FALLBACK, *DECISIONS.values(), *DOCUMENTS.values(), *sms]
