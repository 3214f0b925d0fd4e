"""Capacity plans, request windows' commitments and appointment requests.

A request stores the geofence verdict (eligible, state, policy), never the coordinates.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from puerta.appointments.lifecycle import AppealState, AppointmentState, Canceller
from puerta.appointments.rules import AppealStatus, AppointmentStatus
from puerta.datakeys import SealedText
from puerta.db import Base, UTCDateTime

_STATE_FIELDS = tuple(AppointmentState.__dataclass_fields__)
_APPEAL_FIELDS = tuple(AppealState.__dataclass_fields__)


class CapacityPlan(Base):
    __tablename__ = "capacity_plans"
    __table_args__ = (UniqueConstraint("port", "service_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    port: Mapped[str] = mapped_column(String(32))
    service_date: Mapped[dt.date] = mapped_column(Date)
    seats: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WindowCommitment(Base):
    """The secret of a window, committed (its hash published) when the window opens."""

    __tablename__ = "window_commitments"

    window: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    # Sealed at rest (puerta.datakeys) until the draw reveals it, copying it to ``revealed``:
    # before then the database, its dumps and its backups do not tell it. Deferred: only the
    # draw opens it, not every request that looks the commitment up.
    secret: Mapped[str] = mapped_column(SealedText("window_commitments.secret"), deferred=True)
    revealed: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AppointmentRequest(Base):
    __tablename__ = "appointment_requests"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key"),
        # At most one live (not withdrawn) request per group and window.
        Index(
            "uq_appointment_requests_live",
            "group_id",
            "window",
            unique=True,
            sqlite_where=text("status != 'withdrawn'"),
            postgresql_where=text("status != 'withdrawn'"),
        ),
        Index("ix_appointment_requests_status_window", "status", "window"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    window: Mapped[dt.date] = mapped_column(Date)
    port_1: Mapped[str] = mapped_column(String(32))
    port_2: Mapped[str | None] = mapped_column(String(32))
    port_3: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    geofence_eligible: Mapped[bool] = mapped_column(Boolean)
    geofence_state: Mapped[str | None] = mapped_column(String(64))
    geofence_policy: Mapped[str | None] = mapped_column(String(64))
    # A standing request is entered again in every later draw until the group is scheduled.
    standing: Mapped[bool] = mapped_column(Boolean, default=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def ports(self) -> list[str]:
        return [p for p in (self.port_1, self.port_2, self.port_3) if p]


class Appointment(Base):
    """An offer made by a draw, and the appointment it becomes once confirmed."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_port_date", "port", "service_date", "status"),
        Index("ix_appointments_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Both NULL for an urgent placement (puerta.vulnerability.placement), which no draw or
    # request made; a draw's offers (the only ones its readers select) always have both.
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), nullable=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_requests.id"), unique=True, nullable=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    port: Mapped[str] = mapped_column(String(32))
    service_date: Mapped[dt.date] = mapped_column(Date)
    share: Mapped[str] = mapped_column(String(16))
    persons: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    offered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    slot_starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    confirmation_number: Mapped[str | None] = mapped_column(String(16), unique=True, default=None)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_by: Mapped[str | None] = mapped_column(String(16), default=None)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    status_before_cancel: Mapped[str | None] = mapped_column(String(16), default=None)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    checked_in_by: Mapped[int | None] = mapped_column(Integer, default=None)
    no_show_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Set when the seats stop being held (expiry, cancellation that stands).
    freed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The later draw that took this appointment's seats back (expiry, cancellation).
    released_to_draw: Mapped[int | None] = mapped_column(ForeignKey("draws.id"), default=None)

    @property
    def state(self) -> AppointmentState:
        """The lifecycle's view of this row, for a transition to act on."""
        values = {name: getattr(self, name) for name in _STATE_FIELDS}
        before, by = self.status_before_cancel, self.cancelled_by
        return AppointmentState(**values | {
            "status": AppointmentStatus(self.status),
            "status_before_cancel": AppointmentStatus(before) if before else None,
            "cancelled_by": Canceller(by) if by else None,
        })  # fmt: skip

    def store(self, state: AppointmentState) -> None:
        """Write what a transition returned (enums as their plain values)."""
        for name in _STATE_FIELDS:
            value = getattr(state, name)
            setattr(self, name, value.value if isinstance(value, StrEnum) else value)


class Appeal(Base):
    """Opened by every cancellation the system makes; an admin must decide it."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=AppealStatus.OPEN.value)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_by: Mapped[int | None] = mapped_column(Integer, default=None)
    decision_note: Mapped[str | None] = mapped_column(String(1000), default=None)

    @property
    def state(self) -> AppealState:
        values = {name: getattr(self, name) for name in _APPEAL_FIELDS}
        return AppealState(**values | {"status": AppealStatus(self.status)})

    def store(self, state: AppealState) -> None:
        for name in _APPEAL_FIELDS:
            value = getattr(state, name)
            setattr(self, name, value.value if isinstance(value, StrEnum) else value)
