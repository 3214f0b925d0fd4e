"""Offers made by a draw, the seats they hold, and their expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from puerta.accounts.tables import Account, Group
from puerta.appointments.rules import AppointmentStatus
from puerta.appointments.tables import Appointment, AppointmentRequest
from puerta.audit.domain import EventKind, NewEvent
from puerta.audit.service import record, record_many
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.geo.domain import PORT_SLUGS
from puerta.notifications.domain import NewNotification, NotificationKind
from puerta.notifications.service import enqueue, enqueue_many


def held_persons(session: Session, service_date: dt.date) -> dict[str, int]:
    """Persons per port already holding seats on ``service_date`` (from earlier draws)."""
    rows = session.execute(
        select(Appointment.port, func.sum(Appointment.persons))
        .where(Appointment.service_date == service_date, Appointment.freed_at.is_(None))
        .group_by(Appointment.port)
    ).all()
    return {port: int(total) for port, total in rows}


def released_persons(session: Session) -> dict[str, int]:
    """Persons per port whose seats were freed since the last draw took them back."""
    rows = session.execute(
        select(Appointment.port, func.sum(Appointment.persons))
        .where(Appointment.freed_at.is_not(None), Appointment.released_to_draw.is_(None))
        .group_by(Appointment.port)
    ).all()
    return {port: int(total) for port, total in rows}


def release_to(session: Session, draw_id: int) -> None:
    session.execute(
        update(Appointment)
        .where(Appointment.freed_at.is_not(None), Appointment.released_to_draw.is_(None))
        .values(released_to_draw=draw_id)
    )


class OfferingDraw(Protocol):
    """The draw that makes the offers (puerta.draws.tables.Draw has this shape)."""

    @property
    def id(self) -> int: ...
    @property
    def service_date(self) -> dt.date: ...


class Selection(Protocol):
    """Whom a draw selected (puerta.draws.allocation.Allocation has this shape): request id,
    port (its index in PORTS) and share ("reserve", "seniority" or "lottery") of each."""

    @property
    def selected(self) -> Sequence[tuple[int, int, str]]: ...


def make_offers(
    session: Session, draw: OfferingDraw, allocation: Selection, *, now: dt.datetime, hours: int
) -> None:
    """One offer per selected group, recorded and announced in the group's language."""
    picks = {request_id: (port, share) for request_id, port, share in allocation.selected}
    rows = session.execute(
        select(
            AppointmentRequest.id, AppointmentRequest.group_id, Group.size,
            Account.id, Account.language,
        )
        .join(Group, Group.id == AppointmentRequest.group_id)
        .join(Account, Account.id == AppointmentRequest.account_id)
        .where(AppointmentRequest.id.in_(list(picks)))
        .order_by(AppointmentRequest.id)
    ).all() if picks else []  # fmt: skip
    expires = now + dt.timedelta(hours=hours)
    made = []
    for request_id, group_id, persons, account_id, language in rows:
        port_index, share = picks[request_id]
        offer = Appointment(
            draw_id=draw.id, request_id=request_id, group_id=group_id, account_id=account_id,
            port=PORT_SLUGS[port_index], service_date=draw.service_date, share=str(share),
            persons=persons, status=AppointmentStatus.OFFERED.value, offered_at=now,
            expires_at=expires,
        )  # fmt: skip
        made.append((offer, language))
    session.add_all([offer for offer, _ in made])
    session.flush()  # the offers in one batched INSERT, in request order
    record_many(session, [_offer_event(offer) for offer, _ in made])
    enqueue_many(session, [_offer_note(offer, language) for offer, language in made])


def _offer_event(offer: Appointment) -> NewEvent:
    return NewEvent(
        at=offer.offered_at, kind=EventKind.OFFER_MADE, actor_id=None,
        subject=f"appointment:{offer.id}",
        data={"draw": offer.draw_id, "request": offer.request_id, "port": offer.port,
              "share": offer.share, "service_date": offer.service_date.isoformat(),
              "persons": offer.persons},
    )  # fmt: skip


def _offer_note(offer: Appointment, language: str) -> NewNotification:
    # Machine values: the outbox formats them in the reader's language when it sends.
    return NewNotification(
        account_id=offer.account_id, kind=NotificationKind.OFFER_MADE, language=language,
        at=offer.offered_at,
        params={"port": offer.port, "service_date": offer.service_date.isoformat(),
                "expires_at": offer.expires_at.astimezone(dt.UTC).isoformat()},
    )  # fmt: skip


def selections_of(session: Session, draw_id: int) -> set[tuple[int, str, str]]:
    """(request id, port, share) of every offer a draw made, whatever became of it."""
    rows = session.execute(
        select(Appointment.request_id, Appointment.port, Appointment.share).where(
            Appointment.draw_id == draw_id
        )
    ).all()
    return set(rows)


def expire_offers(*, uow: UnitOfWork, clock: Clock) -> int:
    """Expire unconfirmed offers past their deadline; their seats go to the next draw."""
    now = clock.now()
    with uow:
        due = uow.session.scalars(
            select(Appointment).where(
                Appointment.status == AppointmentStatus.OFFERED.value,
                Appointment.expires_at <= now,
            )
        ).all()
        expired = sum(expire_offer(uow.session, offer, now) for offer in due)
        uow.commit()
    return expired


def expire_offer(session: Session, offer: Appointment, now: dt.datetime) -> bool:
    """Expire one offer past its deadline, in the caller's transaction; False when another
    transaction expired it, or the person confirmed it, meanwhile."""
    if not _still_offered(session, offer.id):
        return False
    offer.store(offer.state.expire(now))
    record(
        session, at=now, kind=EventKind.OFFER_EXPIRED, actor_id=None,
        subject=f"appointment:{offer.id}", data={"port": offer.port},
    )  # fmt: skip
    enqueue(
        session, account_id=offer.account_id, kind=NotificationKind.OFFER_EXPIRED,
        language=_language(session, offer.account_id), at=now,
        params={"port": offer.port, "service_date": offer.service_date.isoformat()},
    )  # fmt: skip
    return True


def _still_offered(session: Session, appointment_id: int) -> bool:
    """Lock the offer if it is still offered, so that of two ticks at once one expires it."""
    # An UPDATE, not a SELECT: it waits for the other transaction's commit (a row lock on
    # PostgreSQL, the write lock on SQLite) and then sees what that transaction wrote.
    locked = session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id)
        .where(Appointment.status == AppointmentStatus.OFFERED.value)
        .values(status=Appointment.status)
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], locked).rowcount == 1


def _language(session: Session, account_id: int) -> str:
    return session.scalar(select(Account.language).where(Account.id == account_id)) or "es"
