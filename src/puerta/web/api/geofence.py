"""The public geofence check."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from puerta.geo import service
from puerta.web.deps import RuntimeDep

router = APIRouter(tags=["geofence"])


class GeofenceRead(BaseModel):
    eligible: bool
    country: str | None
    state: str | None
    policy: str | None
    reason: str


@router.get("/geofence/check", response_model=GeofenceRead)
def check(
    runtime: RuntimeDep,
    lat: float,
    lon: float,
    date: dt.date | None = None,
    nationality: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
) -> GeofenceRead:
    """Whether a place is inside the geofence in force on a date (default: today)."""
    on = date or runtime.today()
    verdict = service.check_location(
        lat=lat, lon=lon, on=on, nationalities=[nationality] if nationality else []
    )
    return GeofenceRead(**verdict.to_dict())
