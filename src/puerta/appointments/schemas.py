"""Pydantic shapes of request bodies; answers are the services' views, as they are."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from puerta.appointments.rules import AppealDecision


class CapacityWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seats: StrictInt = Field(ge=0, le=100_000)  # a JSON integer: not true, "10" or 10.0


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


class ConfirmBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: Location


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
