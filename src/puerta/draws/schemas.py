"""Pydantic shapes of draws and windows on the wire."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class DrawCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: dt.date


class DrawRead(BaseModel):
    window: dt.date
    service_date: dt.date
    entries: int
    entries_digest: str
    secret_hash: str
    secret: str
    seed: str
    params: dict[str, Any]
    summary: dict[str, Any]
    ran_at: dt.datetime


class WindowRead(BaseModel):
    window: dt.date
    is_open: bool
    opens_at: dt.datetime
    closes_at: dt.datetime
    secret_hash: str | None
