"""The outbox: one row per message to send, written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base, UTCDateTime


class Notification(Base):
    __tablename__ = "notifications"
    # The delivery job reads pending rows oldest first.
    __table_args__ = (Index("ix_notifications_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(48))
    language: Mapped[str] = mapped_column(String(16))
    params: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # pending | sent | no_channel | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # An error code (the exception's class name), never a message: those can quote addresses.
    last_error: Mapped[str | None] = mapped_column(String(64), default=None)
    # After a failed send, not before this (the backoff); None: due as soon as written.
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
