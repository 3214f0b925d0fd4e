"""What appointments hold of a person, for their export and their erasure
(puerta.accounts.rights): requests, offers and appointments, appeals.

Before the person's data goes, a live offer or appointment is given up as the person would
give it up (booking.give_up), an offer past its deadline is expired as the expiry job would
expire it, a cancellation under appeal stands (no one is left to appeal): each way its seats
go back to the next draw. Requests still waiting for a draw are withdrawn. The rows stay,
without what would name the person or let them be found (the confirmation number, the
cancellation's reason, the retry key), because the draws' records and the seat counts read
them: a draw is verified against its offers (draws.service.verify_draw).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, String, delete, func, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from puerta.accounts.rights import Held, capped, columns
from puerta.appointments.booking import give_up, withdraw_pending
from puerta.appointments.domain import RequestStatus
from puerta.appointments.offers import expire_offer
from puerta.appointments.rules import LIVE, AppealStatus, AppointmentStatus
from puerta.appointments.tables import Appeal, Appointment, AppointmentRequest
from puerta.audit.domain import EventKind
from puerta.audit.service import record

ERASED_KEY = "erased-"


class AppointmentsHeld:
    """The appointments context's part of a person's data (accounts.rights.Holder)."""

    def export(self, session: Session, account_id: int, group_id: int | None) -> Held:
        requests, more_requests = capped(
            session,
            select(AppointmentRequest)
            .where(AppointmentRequest.account_id == account_id)
            .order_by(AppointmentRequest.id),
        )
        offers, more_offers = capped(
            session,
            select(Appointment).where(Appointment.account_id == account_id).order_by(
                Appointment.id
            ),
        )  # fmt: skip
        appeals, more_appeals = capped(
            session, select(Appeal).where(Appeal.account_id == account_id).order_by(Appeal.id)
        )
        truncated = [
            name
            for name, more in (
                ("requests", more_requests), ("appointments", more_offers),
                ("appeals", more_appeals),
            )
            if more
        ]  # fmt: skip
        return Held(
            sections={
                "requests": [columns(r) | {"ports": r.ports} for r in requests],
                "appointments": [columns(a) for a in offers],
                "appeals": [columns(a) for a in appeals],
            },
            subjects=[f"request:{r.id}" for r in requests]
            + [f"appointment:{a.id}" for a in offers],
            truncated=truncated,
        )

    def erase(
        self, session: Session, account_id: int, group_id: int | None, now: dt.datetime
    ) -> dict[str, int]:
        released = sum(
            _release(session, row, now, account_id)
            for row in session.scalars(
                select(Appointment).where(Appointment.account_id == account_id).order_by(
                    Appointment.id
                )
            ).all()
        )  # fmt: skip
        withdrawn = 0
        if group_id is not None:
            withdrawn = _pending(session, group_id)
            withdraw_pending(session, group_id, now, account_id)
        _strip(session, account_id)
        appeals = cast(
            CursorResult[Any],
            session.execute(delete(Appeal).where(Appeal.account_id == account_id)),
        ).rowcount
        return {"seats_released": released, "requests_withdrawn": withdrawn, "appeals": appeals}


def _release(session: Session, row: Appointment, now: dt.datetime, account_id: int) -> bool:
    """Give the seats back: the person's cancellation of a live offer or appointment, the
    expiry of an offer past its deadline, or the standing of a cancellation under appeal."""
    state = row.state
    status = state.effective_status(now)
    if status in LIVE:
        give_up(session, row, now, account_id)
        return True
    if row.status == AppointmentStatus.OFFERED.value:
        return expire_offer(session, row, now)
    if state.under_appeal:
        row.store(state.uphold(now))
        record(
            session, at=now, kind=EventKind.APPEAL_DECIDED, actor_id=account_id,
            subject=f"appointment:{row.id}",
            data={"decision": AppealStatus.UPHELD.value, "by": "erasure"},
        )  # fmt: skip
        return True
    return False


def _pending(session: Session, group_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                AppointmentRequest.group_id == group_id,
                AppointmentRequest.status == RequestStatus.PENDING.value,
            )
        )
        or 0
    )


def _strip(session: Session, account_id: int) -> None:
    """What would name the person or let them be found goes from the rows that stay."""
    session.flush()
    session.execute(
        update(Appointment)
        .where(Appointment.account_id == account_id)
        .values(confirmation_number=None, cancel_reason=None)
        .execution_options(synchronize_session=False)
    )
    # The retry key is the caller's text; it stays unique per account, as its index wants.
    key = ERASED_KEY + sql_cast(AppointmentRequest.id, String)
    session.execute(
        update(AppointmentRequest)
        .where(AppointmentRequest.account_id == account_id)
        .values(idempotency_key=key)
        .execution_options(synchronize_session=False)
    )
