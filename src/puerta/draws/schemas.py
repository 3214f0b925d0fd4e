"""Pydantic shapes of the draw requests' bodies (answers are service.DrawRecord, as is)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class DrawCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: dt.date
