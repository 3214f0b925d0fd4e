"""Pydantic shapes of ports, capacity plans and requests on the wire."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from puerta.appointments.domain import RequestStatus
from puerta.appointments.rules import AppealDecision, AppealStatus, AppointmentStatus


class PortRead(BaseModel):
    slug: str
    name: str
    mexican_city: str
    state: str
    lat: float
    lon: float
    timezone: str
    default_seats: int
    seats: int
    service_date: dt.date | None


class CapacityWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seats: StrictInt = Field(ge=0, le=100_000)  # a JSON integer: not true, "10" or 10.0


class CapacityRead(BaseModel):
    port: str
    service_date: dt.date
    seats: int
    set_at: dt.datetime


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ports: list[str] = Field(min_length=1, max_length=3, examples=[["san-ysidro", "calexico"]])
    location: Location
    standing: bool | None = Field(
        default=None,
        description="Enter this request again in every later draw until scheduled "
        "(default: the server's PUERTA_STANDING_REQUESTS).",
    )


class RequestRead(BaseModel):
    id: int
    window: dt.date
    ports: list[str]
    status: RequestStatus
    standing: bool
    geofence_state: str | None
    geofence_policy: str | None
    created_at: dt.datetime
    window_closes_at: dt.datetime


class ConfirmBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: Location


class AppealRead(BaseModel):
    id: int
    appointment_id: int
    status: AppealStatus
    opened_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str | None


class AppointmentRead(BaseModel):
    id: int
    port: str
    port_name: str
    service_date: dt.date
    status: AppointmentStatus
    persons: int
    share: str
    offered_at: dt.datetime
    expires_at: dt.datetime
    confirmed_at: dt.datetime | None
    slot_starts_at: dt.datetime | None
    confirmation_number: str | None
    cancelled_at: dt.datetime | None
    cancelled_by: str | None
    cancel_reason: str | None
    appeal: AppealRead | None


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class AppealDecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: AppealDecision
    note: str = Field(min_length=1, max_length=1000)


class CheckinBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmation_number: str = Field(min_length=1, max_length=32, examples=["K7MX-4Q2P"])
    birth_date: dt.date


class ManifestPersonRead(BaseModel):
    given_names: str
    family_names: str
    birth_date: dt.date
    nationality: str


class ManifestEntryRead(BaseModel):
    appointment_id: int
    confirmation_number: str
    slot_starts_at: dt.datetime
    status: AppointmentStatus
    persons: list[ManifestPersonRead]
