"""Use cases of the reporter and of the public: report, look up, follow up, statistics.

Nothing here can read a report: text, contact and follow-ups are sealed to the team's
public key before they reach the database, and the receipt is kept only as a keyed hash.
No audit event is recorded for a report or a follow-up: the published log would otherwise
count them exactly, day by day, past the small-count suppression of the statistics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.incidents import domain, sealing, stats
from puerta.incidents.domain import ReceiptNotFound, ReferredTo, Status
from puerta.incidents.places import check_place
from puerta.incidents.tables import IncidentEntry, IncidentReport

FOLLOW_UP = "follow_up"
NOTE = "note"
MESSAGE = "message"
_RECEIPT_TRIES = 3


@dataclass(frozen=True)
class TeamKey:
    """The team's newest public key, to which new reports and follow-ups are sealed."""

    kid: str
    public: bytes


@dataclass(frozen=True)
class NewReport:
    """A report as sent: plain strings, checked by the domain."""

    incident_type: str
    perpetrator: str
    state: str
    municipality: str
    month: str
    day: int | None
    text: str
    contact: str | None = None


@dataclass(frozen=True)
class Receipt:
    """Shown once, in groups of digits (``0123-4567-8901-2345-6789``); kept only as a hash."""

    receipt: str


@dataclass(frozen=True)
class Unlocked:
    """The unlock value to send back in ``X-Puerta-Unlock``, and how many keys it holds."""

    unlock: str
    keys: int


@dataclass(frozen=True)
class Message:
    text: str
    sent_on: dt.date


@dataclass(frozen=True)
class ReporterView:
    """What the receipt shows: the status and the caseworkers' messages, nothing else."""

    status: Status
    referred_to: ReferredTo | None
    received_on: dt.date
    messages: list[Message]


def today_of(clock: Clock) -> dt.date:
    # The UTC date is never behind the date anywhere in Mexico: "today" is never refused.
    return clock.now().astimezone(dt.UTC).date()


def _row(checked: NewReport, when: domain.When, team: TeamKey, today: dt.date) -> dict[str, object]:
    return {
        "incident_type": checked.incident_type, "perpetrator": checked.perpetrator,
        "state": checked.state, "municipality": checked.municipality,
        "occurred_month": when.month_text, "occurred_day": when.day,
        "status": Status.RECEIVED.value, "key_id": team.kid,
        "text_sealed": sealing.seal_to(team.public, checked.text),
        "contact_sealed": (
            sealing.seal_to(team.public, checked.contact) if checked.contact else None
        ),
        "received_on": today,
    }  # fmt: skip


def _checked(report: NewReport, states: Mapping[str, str]) -> NewReport:
    return NewReport(
        incident_type=domain.parse_type(report.incident_type).value,
        perpetrator=domain.parse_perpetrator(report.perpetrator).value,
        state=report.state,
        municipality=check_place(report.state, report.municipality, states).code,
        month=report.month,
        day=report.day,
        text=domain.clean_text(report.text),
        contact=domain.clean_contact(report.contact),
    )


def submit_report(
    *,
    uow: UnitOfWork,
    clock: Clock,
    secret: bytes,
    team: TeamKey,
    report: NewReport,
    states: Mapping[str, str],
) -> str:
    """Store a report sealed to the team's key; returns its receipt (shown once, never kept)."""
    today = today_of(clock)
    checked = _checked(report, states)
    when = domain.parse_when(checked.month, checked.day, today=today)
    fields = _row(checked, when, team, today)
    for _ in range(_RECEIPT_TRIES):
        receipt = domain.new_receipt()
        digits = domain.normalize_receipt(receipt)
        row = IncidentReport(
            **fields, receipt_hash=sealing.receipt_hash(secret, digits),
            message_key_sealed=sealing.seal_to(team.public, sealing.message_key(digits).hex()),
            updated_at=clock.now(),
        )  # fmt: skip
        with uow:
            uow.session.add(row)
            try:
                uow.commit()
            except IntegrityError:  # the same receipt twice: about 1 in 10^20
                uow.rollback()
                continue
        return receipt
    raise RuntimeError("no free receipt")  # pragma: no cover


def _by_receipt(session: Session, secret: bytes, digits: str) -> IncidentReport:
    row = session.scalar(
        select(IncidentReport).where(
            IncidentReport.receipt_hash == sealing.receipt_hash(secret, digits)
        )
    )
    if row is None:
        raise ReceiptNotFound()
    return row


def _reporter_view(session: Session, row: IncidentReport, digits: str) -> ReporterView:
    key = sealing.message_key(digits)
    entries = session.scalars(
        select(IncidentEntry)
        .where(IncidentEntry.report_id == row.id, IncidentEntry.kind == MESSAGE)
        .order_by(IncidentEntry.id)
    ).all()
    return ReporterView(
        status=Status(row.status),
        referred_to=ReferredTo(row.referred_to) if row.referred_to else None,
        received_on=row.received_on,
        messages=[Message(sealing.open_message(key, e.sealed), e.created_on) for e in entries],
    )


def look_up(*, uow: UnitOfWork, secret: bytes, receipt: str) -> ReporterView:
    """The report's status and the messages to the reporter; any other receipt: not found."""
    digits = domain.normalize_receipt(receipt)
    with uow:
        row = _by_receipt(uow.session, secret, digits)
        return _reporter_view(uow.session, row, digits)


def add_follow_up(
    *, uow: UnitOfWork, clock: Clock, secret: bytes, team: TeamKey, receipt: str, text: str
) -> ReporterView:
    """Add information to a report, sealed to the team's key."""
    digits = domain.normalize_receipt(receipt)
    cleaned = domain.clean_text(text)
    with uow:
        row = _by_receipt(uow.session, secret, digits)
        uow.session.add(
            IncidentEntry(
                report_id=row.id, kind=FOLLOW_UP, key_id=team.kid,
                sealed=sealing.seal_to(team.public, cleaned), created_on=today_of(clock),
            )
        )  # fmt: skip
        uow.session.flush()
        view = _reporter_view(uow.session, row, digits)
        uow.commit()
    return view


def incident_statistics(*, uow: UnitOfWork, states: Mapping[str, str]) -> stats.IncidentStats:
    """Reports by type, perpetrator, state and month; counts 1-9 read "<10"."""
    table = IncidentReport
    with uow:
        rows = uow.session.execute(
            select(table.incident_type, table.perpetrator, table.state, table.occurred_month)
        ).all()
    return stats.build([stats.Record(*row) for row in rows], sorted(states))
