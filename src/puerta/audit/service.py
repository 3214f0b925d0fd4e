"""Use cases of the audit log: append inside the caller's transaction, verify, list."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puerta.audit import domain
from puerta.audit.domain import (
    EMPTY,
    GENESIS,
    ON_BEHALF,
    Broken,
    Chain,
    Event,
    EventKind,
    Head,
    NewEvent,
    OnBehalf,
    acting_for,
)
from puerta.audit.tables import AuditEvent, AuditHead
from puerta.db import UnitOfWork

HEAD_ID = 1
CHUNK_SIZE = 5000
MAX_LIMIT = 1000

_BUMP = (
    update(AuditHead)
    .where(AuditHead.id == HEAD_ID)
    .values(seq=AuditHead.seq + 1)
    .returning(AuditHead.seq, AuditHead.last_hash)
)


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events: int
    broken: Broken | None
    head_matches: bool


def record(
    session: Session,
    *,
    at: dt.datetime,
    kind: EventKind,
    actor_id: int | None,
    subject: str,
    data: Mapping[str, object],
) -> int:
    """Append one event in the caller's transaction (never commits); returns its seq.

    Under a delegation (the session's unit of work acts for a person), the event names the
    caseworker as its actor and the person's account as ``on_behalf_of``."""
    actor_id, data = acting_for(_on_behalf(session), actor_id, data)
    # Checked before the head moves, so a refused event cannot leave a gap behind it.
    pending = domain.draft(at=at, kind=kind, actor_id=actor_id, subject=subject, data=data)
    event = pending.seal(_advance_head(session))
    session.add(AuditEvent(**dataclasses.asdict(event)))
    session.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_hash=event.hash),
        execution_options={"synchronize_session": False},
    )
    return event.seq


def _on_behalf(session: Session) -> OnBehalf | None:
    found = session.info.get(ON_BEHALF)
    return found if isinstance(found, OnBehalf) else None


def record_many(session: Session, events: Sequence[NewEvent]) -> None:
    """Append several events with one head update (in order, as ``record`` would)."""
    on_behalf = _on_behalf(session)
    drafts = []
    for e in events:
        actor_id, data = acting_for(on_behalf, e.actor_id, e.data)
        drafts.append(
            domain.draft(at=e.at, kind=e.kind, actor_id=actor_id, subject=e.subject, data=data)
        )
    if not drafts:
        return
    head = _advance_head(session, len(drafts))
    sealed = []
    for pending in drafts:
        event = pending.seal(head)
        sealed.append(dataclasses.asdict(event))
        head = Head(event.seq, event.hash)
    session.execute(insert(AuditEvent), sealed)
    session.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_hash=head.last_hash),
        execution_options={"synchronize_session": False},
    )


def _advance_head(session: Session, count: int = 1) -> Head:
    """The chain's end before this append, with the next ``count`` seqs reserved."""
    # The UPDATE takes the head row's lock (PostgreSQL) or the database's write lock
    # (SQLite) until the caller's transaction ends, so appends queue here one at a time.
    options = {"synchronize_session": False}
    bump = _BUMP.values(seq=AuditHead.seq + count)
    row = session.execute(bump, execution_options=options).one_or_none()
    if row is None:
        _create_head(session)
        row = session.execute(bump, execution_options=options).one()
    return Head(row.seq - count, row.last_hash)


def _create_head(session: Session) -> None:
    # Begun outside the try: it flushes the caller's pending rows, whose errors are theirs.
    savepoint = session.begin_nested()
    try:
        with savepoint:
            session.add(AuditHead(id=HEAD_ID, seq=0, last_hash=GENESIS))
    except IntegrityError:
        # Another transaction created the head first and has committed it (that is what
        # the unique key waited for), so the caller's retried UPDATE finds it.
        pass


def verify_chain(*, uow: UnitOfWork, chunk_size: int = CHUNK_SIZE) -> VerifyReport:
    """Recompute every hash in seq order and check the head against the last event."""
    with uow:
        recorded, last = _ends(uow.session)
        chain = Chain()
        upto = max(recorded.seq, last.seq)
        broken = _walk(uow.session, chain, upto=upto, chunk_size=chunk_size)
        if broken is None:
            broken = chain.ends_at(recorded)
    head_matches = recorded == last
    return VerifyReport(
        ok=broken is None and head_matches,
        events=chain.count,
        broken=broken,
        head_matches=head_matches,
    )


def _ends(session: Session) -> tuple[Head, Head]:
    """The head row and the last stored event (each ``EMPTY`` when absent)."""
    newest = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    head = select(AuditHead.seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)
    # One statement, hence one snapshot: appends committing meanwhile move both ends together.
    row = session.execute(
        select(
            head.with_only_columns(AuditHead.seq).scalar_subquery(),
            head.with_only_columns(AuditHead.last_hash).scalar_subquery(),
            newest.with_only_columns(AuditEvent.seq).scalar_subquery(),
            newest.with_only_columns(AuditEvent.hash).scalar_subquery(),
        )
    ).one()
    recorded = Head(row[0], row[1]) if row[0] is not None else EMPTY
    last = Head(row[2], row[3]) if row[2] is not None else EMPTY
    return recorded, last


def _event_rows() -> Select[int, dt.datetime, str, int | None, str, str, str, str]:
    return select(
        AuditEvent.seq,
        AuditEvent.at,
        AuditEvent.kind,
        AuditEvent.actor_id,
        AuditEvent.subject,
        AuditEvent.data,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    ).order_by(AuditEvent.seq)


def _walk(session: Session, chain: Chain, *, upto: int, chunk_size: int) -> Broken | None:
    """Feed events up to seq ``upto`` to ``chain`` in keyset-paged chunks."""
    # Keyset pages keep memory flat and hold no server-side cursor open for hours.
    after = 0
    while after < upto:
        page = _event_rows().where(AuditEvent.seq > after, AuditEvent.seq <= upto)
        rows = session.execute(page.limit(chunk_size)).all()
        if not rows:
            return None
        for row in rows:
            broken = chain.add(Event(*row))
            if broken is not None:
                return broken
        after = rows[-1].seq
    return None


def list_events(*, uow: UnitOfWork, after_seq: int = 0, limit: int = 100) -> list[Event]:
    """Events after ``after_seq`` in seq order, at most ``limit`` (capped at 1000)."""
    limit = max(1, min(limit, MAX_LIMIT))
    with uow:
        rows = uow.session.execute(_event_rows().where(AuditEvent.seq > after_seq).limit(limit))
        return [Event(*row) for row in rows]


def events_about(session: Session, subjects: Sequence[str], *, limit: int) -> list[Event]:
    """The events whose subject is one of ``subjects``, in seq order, at most ``limit``
    (a person's export: their account, group, requests, appointments...)."""
    if not subjects:
        return []
    query = _event_rows().where(AuditEvent.subject.in_(sorted(set(subjects)))).limit(limit)
    return [Event(*row) for row in session.execute(query)]
