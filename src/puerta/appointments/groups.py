"""What appointments ask of a family group's changes: none while the group holds seats.

Accounts own the groups and sit a floor below, so they cannot ask this themselves; the
runtime passes ``check_group_unlocked`` to ``accounts.service.set_group`` (Runtime.group_lock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from puerta.accounts.tables import GroupMember
from puerta.appointments.domain import OutsideGeofence
from puerta.appointments.rules import LIVE, AppointmentStatus, GroupLocked
from puerta.appointments.tables import Appointment
from puerta.geo import service as geo
from puerta.geo.domain import GeofenceVerdict


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


def check_group_location(
    session: Session, group_id: int, *, lat: float, lon: float, on: dt.date
) -> GeofenceVerdict:
    """The geofence verdict for the group at (lat, lon) on ``on``; refused when outside.

    A family counts as Mexican when any member is (families are never split): the verdict
    takes every member's nationality. The coordinates are checked, never stored."""
    nationalities = session.scalars(
        select(GroupMember.nationality).where(GroupMember.group_id == group_id)
    ).all()
    return verdict_for(nationalities, lat=lat, lon=lon, on=on)


def verdict_for(
    nationalities: Sequence[str], *, lat: float, lon: float, on: dt.date
) -> GeofenceVerdict:
    """The verdict for a group of these nationalities at (lat, lon); refused when outside."""
    verdict = geo.check_location(lat=lat, lon=lon, on=on, nationalities=nationalities)
    if not verdict.eligible:
        raise OutsideGeofence(reason=verdict.reason)
    return verdict
