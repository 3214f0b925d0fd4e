"""Immigration documents, one row per document of one member of a family group."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base, UTCDateTime


class ImmigrationDocument(Base):
    __tablename__ = "immigration_documents"
    # The job reads issued documents by expiry date.
    __table_args__ = (Index("ix_immigration_documents_status_expires_on", "status", "expires_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    # The member's 0-based position in the group: members' rows are replaced wholesale
    # whenever the group is saved, so their ids do not last.
    member: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    requested_on: Mapped[dt.date] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    expires_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    office: Mapped[str] = mapped_column(String(80))
    # The smallest reminder threshold (30, 7) already enqueued for this expiry date; reset
    # when the expiry date changes. Claimed by a conditional UPDATE, so two job processes
    # never send one reminder twice.
    reminded_days: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
