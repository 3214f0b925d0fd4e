"""Capacity plans and appointment requests.

A request stores the geofence verdict (eligible, state, policy), never the coordinates.
"""

from __future__ import annotations

import datetime as dt

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

from puerta.db import Base, UTCDateTime


class CapacityPlan(Base):
    __tablename__ = "capacity_plans"
    __table_args__ = (UniqueConstraint("port", "service_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    port: Mapped[str] = mapped_column(String(32))
    service_date: Mapped[dt.date] = mapped_column(Date)
    seats: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


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
        Index("ix_appointment_requests_window_status", "window", "status"),
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
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def ports(self) -> list[str]:
        return [p for p in (self.port_1, self.port_2, self.port_3) if p]
