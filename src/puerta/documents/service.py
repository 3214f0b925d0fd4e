"""Use cases of immigration documents: record, change, list, the daily job and statistics."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from puerta.accounts.service import GroupNotFound
from puerta.accounts.tables import Account, Group
from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.documents import domain, stats
from puerta.documents.domain import Document, DocumentKind, DocumentStatus
from puerta.documents.tables import ImmigrationDocument
from puerta.errors import NotFound
from puerta.notifications.domain import NotificationKind
from puerta.notifications.service import enqueue


class DocumentNotFound(NotFound):
    # Also another family's document: whether it exists is not said.
    code = "document_not_found"
    message = "This document was not found."


class Keep(enum.Enum):
    """A field a change leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class DocumentView:
    id: int
    member: int
    kind: DocumentKind
    status: DocumentStatus
    requested_on: dt.date
    decided_on: dt.date | None
    expires_on: dt.date | None
    office: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class Changes:
    """What a person changes in a document; ``None`` empties a decision or expiry date."""

    status: str | Keep = KEEP
    requested_on: dt.date | Keep = KEEP
    decided_on: dt.date | None | Keep = KEEP
    expires_on: dt.date | None | Keep = KEEP
    office: str | Keep = KEEP


@dataclass(frozen=True)
class JobReport:
    expired: int
    reminded: int


def today_of(clock: Clock) -> dt.date:
    # The UTC date is never behind the date anywhere in Mexico, so a person's "today" is
    # never refused as a future date.
    return clock.now().astimezone(dt.UTC).date()


def _view(row: ImmigrationDocument) -> DocumentView:
    return DocumentView(
        id=row.id,
        member=row.member,
        kind=DocumentKind(row.kind),
        status=DocumentStatus(row.status),
        requested_on=row.requested_on,
        decided_on=row.decided_on,
        expires_on=row.expires_on,
        office=row.office,
        updated_at=row.updated_at,
    )


def _state(row: ImmigrationDocument) -> Document:
    return Document(
        kind=DocumentKind(row.kind),
        status=DocumentStatus(row.status),
        requested_on=row.requested_on,
        office=row.office,
        decided_on=row.decided_on,
        expires_on=row.expires_on,
    )


def _group(session: Session, account_id: int) -> Group:
    group = session.scalar(select(Group).where(Group.account_id == account_id))
    if group is None:
        raise GroupNotFound()
    return group


def _event(
    session: Session, kind: EventKind, row: ImmigrationDocument, actor_id: int | None, **more: str
) -> None:
    record(
        session, at=row.updated_at, kind=kind, actor_id=actor_id,
        subject=f"document:{row.id}",
        data={"group": row.group_id, "kind": row.kind, "status": row.status, **more},
    )  # fmt: skip


def record_document(
    *,
    uow: UnitOfWork,
    clock: Clock,
    account_id: int,
    member: int,
    kind: str,
    status: str,
    requested_on: dt.date,
    office: str,
    decided_on: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> DocumentView:
    """Record a document of one member of the account's family group."""
    wanted = Document(
        kind=domain.parse_kind(kind),
        status=domain.parse_status(status),
        requested_on=requested_on,
        office=domain.clean_office(office),
        decided_on=decided_on,
        expires_on=expires_on,
    )
    doc = domain.check(wanted, today=today_of(clock))
    now = clock.now()
    with uow:
        group = _group(uow.session, account_id)
        row = ImmigrationDocument(
            group_id=group.id, member=domain.check_member(member, group.size),
            kind=doc.kind.value, status=doc.status.value, requested_on=doc.requested_on,
            decided_on=doc.decided_on, expires_on=doc.expires_on, office=doc.office,
            created_at=now, updated_at=now,
        )  # fmt: skip
        uow.session.add(row)
        uow.session.flush()
        _event(uow.session, EventKind.DOCUMENT_RECORDED, row, account_id)
        view = _view(row)
        uow.commit()
    return view


def _wanted(current: Document, changes: Changes) -> Document:
    fields: dict[str, Any] = {
        name: value for name, value in dataclasses.asdict(changes).items() if value is not KEEP
    }
    if "status" in fields:
        fields["status"] = domain.parse_status(fields["status"])
    if "office" in fields:
        fields["office"] = domain.clean_office(fields["office"])
    return dataclasses.replace(current, **fields)


def _owned(session: Session, account_id: int, document_id: int) -> ImmigrationDocument:
    group = _group(session, account_id)
    row = session.scalar(
        select(ImmigrationDocument)
        .where(ImmigrationDocument.id == document_id, ImmigrationDocument.group_id == group.id)
        .with_for_update()
    )
    if row is None:
        raise DocumentNotFound()
    return row


def update_document(
    *, uow: UnitOfWork, clock: Clock, account_id: int, document_id: int, changes: Changes
) -> DocumentView:
    """Change a document's status, dates or office; another family's is not found."""
    with uow:
        row = _owned(uow.session, account_id, document_id)
        current = _state(row)
        doc = domain.change(current, _wanted(current, changes), today=today_of(clock))
        if doc.expires_on != row.expires_on:
            row.reminded_days = None  # a new expiry date gets its own reminders
        row.status, row.requested_on, row.office = doc.status.value, doc.requested_on, doc.office
        row.decided_on, row.expires_on = doc.decided_on, doc.expires_on
        row.updated_at = clock.now()
        previous = current.status.value
        _event(uow.session, EventKind.DOCUMENT_UPDATED, row, account_id, previous=previous)
        view = _view(row)
        uow.commit()
    return view


def list_documents(*, uow: UnitOfWork, account_id: int) -> list[DocumentView]:
    """The family group's documents, by member then in the order recorded (none: empty)."""
    with uow:
        group = uow.session.scalar(select(Group.id).where(Group.account_id == account_id))
        rows = uow.session.scalars(
            select(ImmigrationDocument)
            .where(ImmigrationDocument.group_id == group)
            .order_by(ImmigrationDocument.member, ImmigrationDocument.id)
        ).all()
        return [_view(row) for row in rows]


def _claimed(session: Session, query: Any) -> bool:
    # A conditional UPDATE waits for another job's transaction (the row lock on PostgreSQL,
    # the write lock on SQLite) and then sees what it wrote: of two jobs at once, one wins.
    result = session.execute(query.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount == 1


def _expire_passed(session: Session, now: dt.datetime, today: dt.date) -> int:
    table = ImmigrationDocument
    ids = session.scalars(
        select(table.id).where(
            table.status == DocumentStatus.ISSUED.value, table.expires_on < today
        )
    ).all()
    expired = 0
    for document_id in ids:
        query = (
            update(table)
            .where(table.id == document_id, table.status == DocumentStatus.ISSUED.value)
            .values(status=DocumentStatus.EXPIRED.value, updated_at=now)
        )
        if _claimed(session, query):
            expired += 1
            record(
                session, at=now, kind=EventKind.DOCUMENT_UPDATED, actor_id=None,
                subject=f"document:{document_id}",
                data={"status": DocumentStatus.EXPIRED.value,
                      "previous": DocumentStatus.ISSUED.value},
            )  # fmt: skip
    return expired


def _remind(session: Session, row: Any, days: int, now: dt.datetime, today: dt.date) -> bool:
    table = ImmigrationDocument
    query = (
        update(table)
        .where(
            table.id == row.id,
            table.status == DocumentStatus.ISSUED.value,
            table.expires_on == row.expires_on,
            or_(table.reminded_days.is_(None), table.reminded_days > days),
        )
        .values(reminded_days=days)
    )
    if not _claimed(session, query):
        return False  # another job reminded it, or the person changed it, meanwhile
    enqueue(
        session, account_id=row.account_id, kind=NotificationKind.DOCUMENT_EXPIRING,
        language=row.language, at=now,
        params={"document": row.kind, "expires_on": row.expires_on.isoformat(),
                "days": (row.expires_on - today).days},
    )  # fmt: skip
    return True


def _send_reminders(session: Session, now: dt.datetime, today: dt.date) -> int:
    table = ImmigrationDocument
    horizon = today + dt.timedelta(days=max(domain.REMINDER_DAYS))
    rows = session.execute(
        select(
            table.id, table.kind, table.expires_on, table.reminded_days,
            Account.id.label("account_id"), Account.language,
        )
        .join(Group, Group.id == table.group_id)
        .join(Account, Account.id == Group.account_id)
        .where(table.status == DocumentStatus.ISSUED.value)
        .where(table.expires_on >= today, table.expires_on <= horizon)
        .order_by(table.id)
    ).all()  # fmt: skip
    reminded = 0
    for row in rows:
        days = domain.due_reminder(row.expires_on, today=today, reminded=row.reminded_days)
        if days is not None and _remind(session, row, days, now, today):
            reminded += 1
    return reminded


def run_document_jobs(*, uow: UnitOfWork, clock: Clock) -> JobReport:
    """Expire documents past their expiry date; remind 30 and 7 days before it, once each."""
    now, today = clock.now(), today_of(clock)
    with uow:
        expired = _expire_passed(uow.session, now, today)
        reminded = _send_reminders(uow.session, now, today)
        uow.commit()
    return JobReport(expired=expired, reminded=reminded)


def document_statistics(*, uow: UnitOfWork) -> stats.DocumentStats:
    """Requests, issued and denied per kind, office and month, small counts suppressed."""
    table = ImmigrationDocument
    with uow:
        rows = uow.session.execute(
            select(table.kind, table.office, table.requested_on, table.status, table.decided_on)
        ).all()
    return stats.build(
        [stats.Record(kind, office, requested, status, decided)
         for kind, office, requested, status, decided in rows]
    )  # fmt: skip
