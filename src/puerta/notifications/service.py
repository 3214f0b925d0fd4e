"""Use cases of notifications: enqueue with the state change, deliver later from a job."""

from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import ssl
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol, cast, runtime_checkable
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, CursorResult, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from puerta import i18n
from puerta.clock import Clock, SystemClock
from puerta.config import Settings
from puerta.dates import Dates
from puerta.db import UnitOfWork
from puerta.notifications.domain import (
    DeliveryError,
    NewNotification,
    NotificationKind,
    Status,
    render,
    required_params,
    retry_delay,
    status_after_failure,
)
from puerta.notifications.gateway import Channels, sms_from
from puerta.notifications.sms import render_sms
from puerta.notifications.sms_shown import Place, SmsShown
from puerta.notifications.tables import Notification

log = logging.getLogger(__name__)

# A send that fails for one message must not stop the others. ValueError covers addresses
# or headers the e-mail library refuses (a UnicodeError is one), which no retry can fix;
# DeliveryError is a channel's own (the SMS gateway's), which says whether a retry can.
SEND_ERRORS = (DeliveryError, smtplib.SMTPException, OSError, ValueError)
SMTP_TIMEOUT_SECONDS = 15.0

# puerta.i18n.gettext's shape: (language, message id) -> text.
LanguageGettext = Callable[[str, str], str]

# Where an account's notifications go (its username: an e-mail or a phone), or None if there
# is no such account. Accounts sit a floor above and answer it; the runtime passes their
# answer in (Runtime.recipients).
Recipients = Callable[[Session, int], str | None]


@dataclass(frozen=True)
class Zones:
    """Where the times in notifications are read: the window's zone and each port's."""

    window: ZoneInfo
    ports: Mapping[str, Place]


@dataclass(frozen=True)
class LocalShown:
    """Machine values in one reader's language (notifications.domain.Shown)."""

    zones: Zones
    dates: Dates

    def port(self, slug: str) -> str | None:
        place = self.zones.ports.get(slug)
        return None if place is None else place.name

    def day(self, value: dt.date) -> str:
        return self.dates.day(value)

    def slot(self, instant: dt.datetime, *, port: str) -> str:
        place = self.zones.ports[port]
        return self.dates.hour_at(instant, ZoneInfo(place.timezone), place.mexican_city)

    def deadline(self, instant: dt.datetime, *, also_port: str) -> str:
        place = self.zones.ports[also_port]
        also = (ZoneInfo(place.timezone), place.mexican_city)
        return self.dates.moment_at(instant, self.zones.window, also)


class Notifier(Protocol):
    def reaches(self, username: str) -> bool:
        """Whether this channel can deliver to the username (an e-mail or a phone)."""
        ...

    def send(self, *, to: str, subject: str, body: str, notification_id: int, kind: str) -> None:
        """Deliver one message or raise one of SEND_ERRORS."""
        ...


@runtime_checkable
class ShortMessages(Protocol):
    """A notifier that sends some usernames an SMS: those get the short texts (sms.py)."""

    def sends_sms(self, username: str) -> bool: ...


class LogNotifier:
    """The development and demo channel: reaches every account, sends nothing."""

    def reaches(self, username: str) -> bool:
        return True

    def send(self, *, to: str, subject: str, body: str, notification_id: int, kind: str) -> None:
        # Only the id and kind: recipients and texts are personal data and logs are kept.
        log.info("notification %s %s sent", notification_id, kind)


@dataclass(frozen=True)
class SmtpNotifier:
    """E-mail through an SMTP server, one connection per message."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout: float = SMTP_TIMEOUT_SECONDS
    # The Date header is the injected clock's now (PUERTA_NOW in demos), not the wall clock.
    clock: Clock = field(default_factory=SystemClock, compare=False, repr=False)

    def reaches(self, username: str) -> bool:
        # Phone numbers go by SMS (notifications.gateway), with PUERTA_NOTIFIER=smtp+sms.
        return "@" in username

    def send(self, *, to: str, subject: str, body: str, notification_id: int, kind: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        # A translated subject with a line break would otherwise be refused as a header.
        message["Subject"] = " ".join(subject.split())
        message["Date"] = format_datetime(self.clock.now().astimezone(dt.UTC), usegmt=True)
        message["Message-ID"] = make_msgid(f"n{notification_id}", self._domain())
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)

    def _domain(self) -> str:
        # Given explicitly: make_msgid would otherwise look up this host's FQDN in the DNS.
        return self.sender.rpartition("@")[2] or "localhost"


def notifier_from(settings: Settings, *, clock: Clock | None = None) -> Notifier:
    """The notifier that PUERTA_NOTIFIER names, from the PUERTA_SMTP_* and PUERTA_SMS_* settings."""
    if settings.notifier == "sms":
        return sms_from(settings)
    if settings.notifier not in ("smtp", "smtp+sms"):
        return LogNotifier()
    smtp = SmtpNotifier(
        clock=clock or SystemClock(),
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_sender,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )
    return Channels(email=smtp, sms=sms_from(settings)) if settings.notifier == "smtp+sms" else smtp


def _outbox_row(
    *, account_id: int, kind: str, language: str, params: Mapping[str, object], at: dt.datetime
) -> dict[str, object]:
    checked = NotificationKind(kind)
    missing = required_params(checked) - params.keys()
    if missing:
        raise ValueError(f"a {checked} notification needs {sorted(missing)}")
    return {
        "account_id": account_id,
        "kind": checked.value,
        "language": language,
        "params": json.dumps(dict(params), sort_keys=True, ensure_ascii=False),
        "created_at": at,
        "attempts": 0,
        "status": Status.PENDING.value,
    }


def enqueue(
    session: Session,
    *,
    account_id: int,
    kind: str,
    language: str,
    params: Mapping[str, object],
    at: dt.datetime,
) -> int:
    """Put a notification in the outbox, in the caller's transaction (never commits)."""
    row = Notification(
        **_outbox_row(account_id=account_id, kind=kind, language=language, params=params, at=at)
    )
    session.add(row)
    session.flush()
    return row.id


def enqueue_many(session: Session, notes: Sequence[NewNotification]) -> None:
    """Put several notifications in the outbox with one INSERT."""
    rows = [
        _outbox_row(
            account_id=n.account_id, kind=n.kind, language=n.language, params=n.params, at=n.at
        )
        for n in notes
    ]
    if rows:
        session.execute(insert(Notification), rows)


@dataclass(frozen=True)
class DeliveryReport:
    """Outcomes of one run; ``failed`` counts failed sends, retried until MAX_ATTEMPTS."""

    sent: int = 0
    no_channel: int = 0
    failed: int = 0


def deliver_pending(
    *,
    uow: UnitOfWork,
    notifier: Notifier,
    clock: Clock,
    zones: Zones,
    recipients: Recipients,
    limit: int = 100,
    gettext: LanguageGettext = i18n.gettext,
) -> DeliveryReport:
    """Send up to ``limit`` due notifications, oldest first, committing each outcome.

    Due: pending, and past the backoff of its last failed send (``next_attempt_at``).
    """
    outcomes: Counter[Status] = Counter()
    with uow:
        pending = select(Notification.id).where(_due(clock.now()))
        ids = uow.session.scalars(pending.order_by(Notification.id).limit(limit)).all()
        how = _Sending(zones, gettext, recipients)
        for note_id in ids:
            outcome = _deliver_one(uow.session, note_id, notifier, clock, how)
            # Committed one by one, so one bad address never holds back or undoes the rest.
            uow.commit()
            if outcome is not None:
                outcomes[outcome] += 1
    return DeliveryReport(
        sent=outcomes[Status.SENT],
        no_channel=outcomes[Status.NO_CHANNEL],
        failed=outcomes[Status.FAILED],
    )


@dataclass(frozen=True)
class _Sending:
    zones: Zones
    gettext: LanguageGettext
    recipients: Recipients


def _due(now: dt.datetime) -> ColumnElement[bool]:
    waited = or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now)
    return and_(Notification.status == Status.PENDING.value, waited)


def _deliver_one(
    session: Session, note_id: int, notifier: Notifier, clock: Clock, how: _Sending
) -> Status | None:
    """Try one notification; returns SENT, NO_CHANNEL, FAILED (this send failed) or None."""
    # SKIP LOCKED (PostgreSQL; SQLite ignores it) lets two job processes share the outbox
    # without both sending the same message.
    now = clock.now()
    query = (
        select(Notification)
        .where(Notification.id == note_id, _due(now))
        .with_for_update(skip_locked=True)
    )
    note = session.scalar(query)
    username = None if note is None else how.recipients(session, note.account_id)
    if note is None or username is None or not _claim(session, note_id, now):
        return None
    # Read after the claim: another process may have recorded an attempt while we waited.
    session.refresh(note)
    if not notifier.reaches(username):
        note.status = Status.NO_CHANNEL.value
        return Status.NO_CHANNEL
    error = _send(notifier, note, username, how)
    note.attempts += 1
    if error is None:
        note.status, note.sent_at, note.last_error = Status.SENT.value, clock.now(), None
        note.next_attempt_at = None
        return Status.SENT
    _record_failure(note, error, clock.now())
    return Status.FAILED


def _record_failure(note: Notification, error: DeliveryError, now: dt.datetime) -> None:
    """Pending again after the backoff, or failed for good (MAX_ATTEMPTS, or permanent)."""
    # The code only: an exception's text can quote the address or the message.
    log.warning("notification %s failed: %s", note.id, error.code)
    status = status_after_failure(note.attempts, permanent=error.permanent)
    note.status, note.last_error = status.value, error.code
    wait = retry_delay(note.attempts, at_least=error.retry_after)
    note.next_attempt_at = now + wait if status is Status.PENDING else None


def _claim(session: Session, note_id: int, now: dt.datetime) -> bool:
    """Whether the row is still due, holding it until this outcome is committed."""
    # SQLite has no row locks and ignores SKIP LOCKED: this UPDATE takes its write lock, so
    # a second job process waits here, then finds the row sent (or waiting for its next
    # attempt) and does not send it again.
    claimed = session.execute(
        update(Notification)
        .where(Notification.id == note_id, _due(now))
        .values(attempts=Notification.attempts)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], claimed).rowcount == 1


def _send(
    notifier: Notifier, note: Notification, username: str, how: _Sending
) -> DeliveryError | None:
    """Render and send; returns the failure (with a code: a class name at most) or None."""
    subject, body = _texts(notifier, note, username, how)
    try:
        notifier.send(
            to=username, subject=subject, body=body, notification_id=note.id, kind=note.kind
        )
    except DeliveryError as error:
        return error
    except SEND_ERRORS as error:
        return DeliveryError(type(error).__name__)
    return None


def _texts(notifier: Notifier, note: Notification, username: str, how: _Sending) -> tuple[str, str]:
    """(subject, body) for an e-mail; ("", the SMS) for a number the notifier texts."""

    def gettext(message: str) -> str:
        return how.gettext(note.language, message)

    dates, params = Dates(note.language, gettext), _params(note.params)
    if isinstance(notifier, ShortMessages) and notifier.sends_sms(username):
        shown = SmsShown(how.zones.ports, dates, gettext)
        return "", render_sms(note.kind, params, gettext, shown)
    return render(note.kind, params, gettext, LocalShown(how.zones, dates))


def _params(text: str) -> dict[str, object]:
    try:
        params = json.loads(text)
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}
