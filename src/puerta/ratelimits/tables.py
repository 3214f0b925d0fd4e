"""The counters of the rate limits and login lockouts: one row per window in progress.

A key names the limit and who is counted (``limits``' own key: the action, a keyed hash of
the address, account or username, and the limit), never an address or a username. Expired
rows are reset by the next hit and deleted by ``puerta jobs tick`` (``purge_expired``).
"""

from __future__ import annotations

from sqlalchemy import Double, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base


class RateCounter(Base):
    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    # When the window ends, in seconds since the epoch (what ``limits`` storages speak).
    expires_at: Mapped[float] = mapped_column(Double, index=True)
