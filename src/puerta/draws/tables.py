"""Window commitments, draws and the entries each draw saw."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base, UTCDateTime


class WindowCommitment(Base):
    """The secret of a window, committed (its hash published) when the window opens."""

    __tablename__ = "window_commitments"

    window: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    # Revealed with the draw; kept here until then (see the README's security notes).
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


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
