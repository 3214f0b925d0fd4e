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


class Status(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    NO_CHANNEL = "no_channel"  # the notifier cannot reach this username (a phone, for e-mail)
    FAILED = "failed"  # gave up after MAX_ATTEMPTS failed sends


MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class NewNotification:
    """A notification to put in the outbox (``enqueue``'s arguments), one of a batch."""

    account_id: int
    kind: NotificationKind
    language: str
    params: Mapping[str, object]
    at: dt.datetime


def status_after_failure(attempts: int) -> Status:
    """The status once ``attempts`` sends in all have failed: retried until MAX_ATTEMPTS."""
    return Status.FAILED if attempts >= MAX_ATTEMPTS else Status.PENDING


# kind -> (subject, body). Placeholders, by kind:
# (port: a slug; service_date: an ISO date; expires_at and slot: ISO instants)
#   offer_made             port, service_date, expires_at
#   offer_expired          port, service_date
#   appointment_confirmed  port, service_date, slot, confirmation_number
#   appointment_cancelled  port, service_date, reason (the staff member's words)
#   appeal_opened          port, service_date, appeal (its number)
#   appeal_decided         port, service_date, decision (a code of DECISIONS)
#   no_show_recorded       port, service_date
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
_PHRASES: dict[str, dict[str, str]] = {"decision": DECISIONS}


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
    return [*texts, *FALLBACK, *DECISIONS.values()]
