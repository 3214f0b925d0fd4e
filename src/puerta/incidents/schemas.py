"""Pydantic shapes of the incident requests; answers are the services' views, as they are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic.config import JsonDict

from puerta.incidents.domain import (
    MAX_CONTACT_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_TEXT_LENGTH,
    IncidentType,
    Perpetrator,
    ReferredTo,
    Status,
)

# Plain strings checked by the domain (so a wrong one gets its own code), listed for clients.
TYPES: JsonDict = {"enum": [t.value for t in IncidentType]}
PERPETRATORS: JsonDict = {"enum": [p.value for p in Perpetrator]}
STATUSES: JsonDict = {"enum": [s.value for s in Status]}
REFERRALS: JsonDict = {"enum": [r.value for r in ReferredTo]}
RECEIPT = "The receipt, as given: 20 digits, with or without the dashes."


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_type: str = Field(max_length=40, json_schema_extra=TYPES)
    perpetrator: str = Field(max_length=20, json_schema_extra=PERPETRATORS)
    state: str = Field(max_length=8, examples=["MX-CHP"], description="ISO 3166-2 code.")
    municipality: str = Field(
        max_length=8, examples=["07089"], description="The 5-digit INEGI code, in that state."
    )
    month: str = Field(max_length=10, examples=["2024-05"], description="YYYY-MM, not later.")
    day: StrictInt | None = Field(default=None, ge=0, le=99, description="Day of that month.")
    text: str = Field(
        max_length=2 * MAX_TEXT_LENGTH,
        description=f"What happened; at most {MAX_TEXT_LENGTH} characters once trimmed.",
    )
    contact: str | None = Field(
        default=None, max_length=2 * MAX_CONTACT_LENGTH, description="An optional contact."
    )


class ReceiptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt: str = Field(max_length=64, description=RECEIPT)


class FollowUpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt: str = Field(max_length=64, description=RECEIPT)
    text: str = Field(max_length=2 * MAX_TEXT_LENGTH)


class UnlockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passphrase: str = Field(min_length=1, max_length=1024)


class TextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2 * MAX_NOTE_LENGTH)


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(max_length=16, json_schema_extra=STATUSES)
    referred_to: str | None = Field(default=None, max_length=32, json_schema_extra=REFERRALS)
