"""Draws and the entries each draw saw (a window's commitment is in appointments.tables)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base, UTCDateTime


class Draw(Base):
    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window: Mapped[dt.date] = mapped_column(Date, unique=True)
    service_date: Mapped[dt.date] = mapped_column(Date)
    entries_count: Mapped[int] = mapped_column(Integer)
    entries_digest: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str] = mapped_column(String(64))
    # JSON: the shares, weight function, seats per port and seats released into this draw.
    params: Mapped[str] = mapped_column(Text)
    # JSON: persons and groups selected per port and share.
    summary: Mapped[str] = mapped_column(Text)
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ran_by: Mapped[int | None] = mapped_column(Integer, default=None)


class DrawEntries(Base):
    """The packed entries a draw saw (see ``puerta.draws.entries``), so anyone can re-run it."""

    __tablename__ = "draw_entries"

    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), primary_key=True)
    packed: Mapped[bytes] = mapped_column(LargeBinary)
