"""Tables of shelters and their occupancy history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base, UTCDateTime


class Shelter(Base):
    """A shelter; lists (services, populations, languages) are comma-joined codes."""

    __tablename__ = "shelters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    address: Mapped[str] = mapped_column(String(300), default="")
    municipality: Mapped[str] = mapped_column(String(100))
    # ISO 3166-2 code of the state, derived from lat/lon with puerta's boundary data.
    state: Mapped[str] = mapped_column(String(8), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    beds: Mapped[int] = mapped_column(Integer)
    services: Mapped[str] = mapped_column(String(200), default="")
    populations: Mapped[str] = mapped_column(String(200), default="")
    languages: Mapped[str] = mapped_column(String(200), default="")
    open_door: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[str] = mapped_column(String(200), default="")
    confidential_location: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The latest occupancy update, kept here so that a search reads one row per shelter.
    occupied: Mapped[int | None] = mapped_column(Integer, default=None)
    occupancy_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class ShelterOccupancy(Base):
    """Every occupancy update, never changed afterwards: the history by state and day."""

    __tablename__ = "shelter_occupancy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shelter_id: Mapped[int] = mapped_column(
        ForeignKey("shelters.id", ondelete="CASCADE"), index=True
    )
    occupied: Mapped[int] = mapped_column(Integer)
    # The shelter's beds when the update was made: a later change of beds keeps history true.
    beds: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # The account that sent it (None: the command line or the demo).
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None, index=True
    )
