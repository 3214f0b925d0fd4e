"""Pydantic shapes of document requests; answers are the services' views, as they are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic.config import JsonDict

from puerta.accounts.schemas import PlainDate
from puerta.documents.domain import MAX_OFFICE_LENGTH, DocumentKind, DocumentStatus
from puerta.documents.service import KEEP, Changes

# Plain strings checked by the domain (so a wrong one gets its own code), listed for clients.
KINDS: JsonDict = {"enum": [kind.value for kind in DocumentKind]}
STATUSES: JsonDict = {"enum": [status.value for status in DocumentStatus]}
OFFICE = (
    f"The issuing office, at most {MAX_OFFICE_LENGTH} characters once spaces are collapsed; "
    "stored in upper case so that statistics group it."
)


class DocumentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: StrictInt = Field(
        ge=0, le=1000, description="The member's 0-based position in the family group."
    )
    kind: str = Field(max_length=32, json_schema_extra=KINDS)
    status: str = Field(default="requested", max_length=16, json_schema_extra=STATUSES)
    requested_on: PlainDate
    decided_on: PlainDate | None = None
    expires_on: PlainDate | None = None
    office: str = Field(
        min_length=1, max_length=4 * MAX_OFFICE_LENGTH, examples=["INM Tijuana"], description=OFFICE
    )


class DocumentUpdate(BaseModel):
    """Only the fields sent change; ``null`` empties ``decided_on`` or ``expires_on``."""

    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(default=None, max_length=16, json_schema_extra=STATUSES)
    requested_on: PlainDate | None = None
    decided_on: PlainDate | None = None
    expires_on: PlainDate | None = None
    office: str | None = Field(
        default=None, min_length=1, max_length=4 * MAX_OFFICE_LENGTH, description=OFFICE
    )

    @field_validator("status", "requested_on", "office", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Left out, a field keeps its value; these three cannot be emptied.
        if value is None:
            raise ValueError("this field cannot be null")
        return value

    def to_changes(self) -> Changes:
        sent = self.model_fields_set
        values = {name: getattr(self, name) for name in Changes.__dataclass_fields__}
        return Changes(**{name: values[name] if name in sent else KEEP for name in values})
