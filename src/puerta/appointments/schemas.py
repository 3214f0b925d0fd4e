"""Pydantic shapes of ports, capacity plans and requests on the wire."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from puerta.appointments.domain import RequestStatus


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

    seats: int = Field(ge=0, le=100_000)


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


class RequestRead(BaseModel):
    id: int
    window: dt.date
    ports: list[str]
    status: RequestStatus
    geofence_state: str | None
    geofence_policy: str | None
    created_at: dt.datetime
    window_closes_at: dt.datetime
