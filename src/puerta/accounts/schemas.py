"""Pydantic shapes of accounts and groups on the wire."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from puerta.accounts.domain import Member

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _plain_date(value: object) -> dt.date:
    # Only YYYY-MM-DD: pydantic alone also takes a Unix timestamp or a datetime at midnight.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return dt.date.fromisoformat(value)
    if type(value) is dt.date:
        return value
    raise ValueError("a date is written YYYY-MM-DD, with no time")


PlainDate = Annotated[dt.date, BeforeValidator(_plain_date)]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=254, examples=["+52 55 1234 5678"])
    password: str = Field(min_length=1, max_length=256)
    language: str = Field(default="es", min_length=2, max_length=16)


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_names: str = Field(min_length=1, max_length=100)
    family_names: str = Field(min_length=1, max_length=100)
    birth_date: PlainDate
    nationality: str = Field(min_length=3, max_length=3, examples=["HTI"])
    languages: list[str] = Field(default_factory=list, max_length=10)
    id_document: str | None = Field(default=None, max_length=64)

    def to_domain(self) -> Member:
        return Member(
            given_names=self.given_names,
            family_names=self.family_names,
            birth_date=self.birth_date,
            nationality=self.nationality,
            languages=tuple(lang[:16] for lang in self.languages),
            id_document=self.id_document,
        )


class GroupWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[MemberIn] = Field(min_length=1, max_length=12)


class GroupRead(BaseModel):
    """A group on the wire: service.GroupView with its size and without its row id."""

    registered_at: dt.datetime
    updated_at: dt.datetime
    size: int
    members: list[Member]


class ConsentIn(BaseModel):
    """How the person agreed to be registered by the caseworker."""

    model_config = ConfigDict(extra="forbid")

    given: bool = Field(strict=True)
    how: str = Field(max_length=16, examples=["spoken"])


class AssistedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=2, max_length=16, examples=["ht"])
    consent: ConsentIn
    phone: str | None = Field(default=None, max_length=32, examples=["+52 664 123 4567"])


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_code: str = Field(min_length=1, max_length=32, examples=["ABCD-EFGH-JKMN"])
    username: str = Field(min_length=3, max_length=254, examples=["+52 664 123 4567"])
    password: str = Field(min_length=1, max_length=256)


class ReassignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caseworker: int = Field(ge=1, le=2**31 - 1, strict=True)


class ErasureBody(BaseModel):
    """What confirms an erasure: the account's password (a caseworker acting for the person:
    their own password, and how the person consented, as for assisted registration)."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=256)
    consent: str | None = Field(
        default=None, max_length=16, examples=["signed"],
        description="With a delegated token: spoken or signed. Ignored otherwise.",
    )  # fmt: skip
