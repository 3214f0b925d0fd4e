"""What appointments ask of a family group's changes: none while the group holds seats.

Accounts own the groups and sit a floor below, so they cannot ask this themselves; the
runtime passes ``check_group_unlocked`` to ``accounts.service.set_group`` (Runtime.group_lock).
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from puerta.appointments.rules import LIVE, AppointmentStatus, GroupLocked
from puerta.appointments.tables import Appointment


def check_group_unlocked(session: Session, group_id: int) -> None:
    """Refuse (``group_locked``) to change a group that holds an offer or an appointment."""
    # Seats were allocated for these persons; changing them would split or overfill a slot.
    # A cancellation under appeal still holds its seats until the appeal is decided.
    held = select(Appointment.id).where(
        Appointment.group_id == group_id,
        or_(
            Appointment.status.in_([s.value for s in LIVE]),
            and_(
                Appointment.status == AppointmentStatus.CANCELLED.value,
                Appointment.freed_at.is_(None),
            ),
        ),
    )
    if session.scalar(held.limit(1)) is not None:
        raise GroupLocked()
