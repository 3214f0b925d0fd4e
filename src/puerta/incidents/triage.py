"""Use cases of the triage team (role ``incidents``), with the private keys it has unlocked.

Each takes ``keys``, the team's private keys by key id as the caller's unlock value holds
them (``sealing.keys_of_session``): the server keeps none of them. Audit events carry the
report's id and status codes only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.errors import Forbidden, NotFound
from puerta.incidents import domain, huridocs, sealing
from puerta.incidents.domain import IncidentType, Perpetrator, ReferredTo, Status
from puerta.incidents.places import municipalities
from puerta.incidents.service import FOLLOW_UP, MESSAGE, NOTE, TeamKey, today_of
from puerta.incidents.tables import IncidentEntry, IncidentReport


class ReportNotFound(NotFound):
    code = "incident_not_found"
    message = "This report was not found."


class KeyNotUnlocked(Forbidden):
    code = "incident_key_locked"
    message = "This report is sealed to a key that is not unlocked. Unlock with its passphrase."


@dataclass(frozen=True)
class ReportSummary:
    id: int
    incident_type: IncidentType
    perpetrator: Perpetrator
    state: str
    municipality: str
    municipality_name: str
    occurred_month: str
    occurred_day: int | None
    status: Status
    referred_to: ReferredTo | None
    received_on: dt.date
    follow_ups: int


@dataclass(frozen=True)
class Entry:
    kind: str  # follow_up, note or message
    text: str
    created_on: dt.date
    author_id: int | None


@dataclass(frozen=True)
class ReportView(ReportSummary):
    """A report opened with the team's key: what the reporter wrote, exactly as written."""

    text: str
    contact: str | None
    entries: list[Entry]


def _summary_fields(row: IncidentReport, follow_ups: int) -> dict[str, Any]:
    place = municipalities().get(row.municipality)
    return {
        "id": row.id, "incident_type": IncidentType(row.incident_type),
        "perpetrator": Perpetrator(row.perpetrator), "state": row.state,
        "municipality": row.municipality, "municipality_name": place.name if place else "",
        "occurred_month": row.occurred_month, "occurred_day": row.occurred_day,
        "status": Status(row.status),
        "referred_to": ReferredTo(row.referred_to) if row.referred_to else None,
        "received_on": row.received_on, "follow_ups": follow_ups,
    }  # fmt: skip


def _private(keys: Mapping[str, bytes], kid: str | None) -> bytes:
    if kid is None or kid not in keys:
        raise KeyNotUnlocked()
    return keys[kid]


def _open(keys: Mapping[str, bytes], kid: str | None, sealed: str) -> str:
    try:
        return sealing.open_sealed(_private(keys, kid), sealed)
    except sealing.SealError:
        raise KeyNotUnlocked() from None


def _message_key(row: IncidentReport, keys: Mapping[str, bytes]) -> bytes:
    return bytes.fromhex(_open(keys, row.key_id, row.message_key_sealed))


def _entry(row: IncidentReport, e: IncidentEntry, keys: Mapping[str, bytes]) -> Entry:
    if e.kind == MESSAGE:
        text = sealing.open_message(_message_key(row, keys), e.sealed)
    else:
        text = _open(keys, e.key_id, e.sealed)
    return Entry(kind=e.kind, text=text, created_on=e.created_on, author_id=e.author_id)


def _view(session: Session, row: IncidentReport, keys: Mapping[str, bytes]) -> ReportView:
    entries = session.scalars(
        select(IncidentEntry).where(IncidentEntry.report_id == row.id).order_by(IncidentEntry.id)
    ).all()
    follow_ups = sum(1 for e in entries if e.kind == FOLLOW_UP)
    contact = _open(keys, row.key_id, row.contact_sealed) if row.contact_sealed else None
    return ReportView(
        **_summary_fields(row, follow_ups), text=_open(keys, row.key_id, row.text_sealed),
        contact=contact, entries=[_entry(row, e, keys) for e in entries],
    )  # fmt: skip


def _report(session: Session, report_id: int, *, lock: bool = False) -> IncidentReport:
    query = select(IncidentReport).where(IncidentReport.id == report_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise ReportNotFound()
    return row


def _event(
    session: Session, kind: EventKind, at: dt.datetime, actor_id: int, **data: object
) -> None:
    subject = f"incident:{data.pop('report')}" if "report" in data else "incidents"
    record(session, at=at, kind=kind, actor_id=actor_id, subject=subject, data=data)


def record_unlock(*, uow: UnitOfWork, clock: Clock, actor_id: int, keys: int) -> None:
    """Note in the audit log that a caseworker unlocked ``keys`` team keys."""
    with uow:
        _event(uow.session, EventKind.INCIDENTS_UNLOCKED, clock.now(), actor_id, keys=keys)
        uow.commit()


def list_reports(*, uow: UnitOfWork, status: Status | None = None) -> list[ReportSummary]:
    """Reports, newest first, of one status or all; codes only, nothing unsealed."""
    counts = (
        select(IncidentEntry.report_id, func.count().label("n"))
        .where(IncidentEntry.kind == FOLLOW_UP)
        .group_by(IncidentEntry.report_id)
        .subquery()
    )
    query = select(IncidentReport, counts.c.n).outerjoin(
        counts, counts.c.report_id == IncidentReport.id
    )
    if status is not None:
        query = query.where(IncidentReport.status == status.value)
    with uow:
        rows = uow.session.execute(query.order_by(IncidentReport.id.desc())).all()
        return [ReportSummary(**_summary_fields(row, n or 0)) for row, n in rows]


def read_report(
    *, uow: UnitOfWork, clock: Clock, keys: Mapping[str, bytes], report_id: int, actor_id: int
) -> ReportView:
    """A report unsealed for the caller; the audit log notes who opened which."""
    with uow:
        row = _report(uow.session, report_id)
        view = _view(uow.session, row, keys)
        _event(uow.session, EventKind.INCIDENT_OPENED, clock.now(), actor_id, report=row.id)
        uow.commit()
    return view


def add_note(
    *, uow: UnitOfWork, clock: Clock, team: TeamKey, keys: Mapping[str, bytes],
    report_id: int, actor_id: int, text: str,
) -> ReportView:  # fmt: skip
    """A note for the team, sealed to its newest key."""
    cleaned = domain.clean_text(text, domain.MAX_NOTE_LENGTH)
    with uow:
        row = _report(uow.session, report_id, lock=True)
        _view(uow.session, row, keys)  # refuses a caller who could not read the report
        uow.session.add(IncidentEntry(
            report_id=row.id, kind=NOTE, key_id=team.kid, author_id=actor_id,
            sealed=sealing.seal_to(team.public, cleaned), created_on=today_of(clock),
        ))  # fmt: skip
        row.updated_at = clock.now()
        _event(uow.session, EventKind.INCIDENT_NOTE_ADDED, row.updated_at, actor_id, report=row.id)
        uow.session.flush()
        view = _view(uow.session, row, keys)
        uow.commit()
    return view


def send_message(
    *, uow: UnitOfWork, clock: Clock, keys: Mapping[str, bytes], report_id: int,
    actor_id: int, text: str,
) -> ReportView:  # fmt: skip
    """A message the reporter reads with the receipt (sealed with the receipt's key)."""
    cleaned = domain.clean_text(text, domain.MAX_NOTE_LENGTH)
    with uow:
        row = _report(uow.session, report_id, lock=True)
        sealed = sealing.seal_message(_message_key(row, keys), cleaned)
        uow.session.add(IncidentEntry(
            report_id=row.id, kind=MESSAGE, author_id=actor_id, sealed=sealed,
            created_on=today_of(clock),
        ))  # fmt: skip
        row.updated_at = clock.now()
        sent = EventKind.INCIDENT_MESSAGE_SENT
        _event(uow.session, sent, row.updated_at, actor_id, report=row.id)
        uow.session.flush()
        view = _view(uow.session, row, keys)
        uow.commit()
    return view


def change_status(
    *, uow: UnitOfWork, clock: Clock, keys: Mapping[str, bytes], report_id: int,
    actor_id: int, status: str, referred_to: str | None = None,
) -> ReportView:  # fmt: skip
    """Move a report along its lifecycle; a referral names where it goes."""
    wanted, referral = domain.parse_status(status), domain.parse_referral(referred_to)
    with uow:
        row = _report(uow.session, report_id, lock=True)
        _view(uow.session, row, keys)
        previous = Status(row.status)
        new, where = domain.change_status(previous, wanted, referral)
        row.status, row.referred_to = new.value, where.value if where else None
        row.updated_at = clock.now()
        more = {"referred_to": where.value} if where else {}
        _event(
            uow.session, EventKind.INCIDENT_STATUS_CHANGED, row.updated_at, actor_id,
            report=row.id, status=new.value, previous=previous.value, **more,
        )  # fmt: skip
        view = _view(uow.session, row, keys)
        uow.commit()
    return view


def export_referred(
    *, uow: UnitOfWork, clock: Clock, actor_id: int, states: Mapping[str, str]
) -> dict[str, Any]:
    """Referred reports as HURIDOCS ESF events: codes, places and dates, nothing sealed."""
    with uow:
        rows = uow.session.scalars(
            select(IncidentReport)
            .where(IncidentReport.status == Status.REFERRED.value)
            .order_by(IncidentReport.id)
        ).all()
        cases = [_case(row, states) for row in rows]
        _event(uow.session, EventKind.INCIDENTS_EXPORTED, clock.now(), actor_id, count=len(cases))
        uow.commit()
    return huridocs.export(cases, generated_on=today_of(clock))


def _case(row: IncidentReport, states: Mapping[str, str]) -> huridocs.ReferredCase:
    place = municipalities().get(row.municipality)
    return huridocs.ReferredCase(
        id=row.id, incident_type=row.incident_type, perpetrator=row.perpetrator,
        state=row.state, state_name=states.get(row.state, row.state),
        municipality=row.municipality, municipality_name=place.name if place else "",
        occurred_month=row.occurred_month, occurred_day=row.occurred_day,
        referred_to=row.referred_to or "", received_on=row.received_on,
    )  # fmt: skip
