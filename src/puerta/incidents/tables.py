"""Incident reports and what is added to them: nothing here is readable without the team's
passphrase (or, for messages, the receipt) but codes, a month and a day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base, UTCDateTime


class IncidentReport(Base):
    """One report. No account, no address, no time of day: it is anonymous by design."""

    __tablename__ = "incident_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_type: Mapped[str] = mapped_column(String(40))
    perpetrator: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(8))
    municipality: Mapped[str] = mapped_column(String(5))
    occurred_month: Mapped[str] = mapped_column(String(7))  # "YYYY-MM"
    occurred_day: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(16), index=True)
    referred_to: Mapped[str | None] = mapped_column(String(32), default=None)
    # HMAC-SHA-256 of the receipt's digits (puerta.incidents.sealing.receipt_hash).
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The team key the report's text, contact and message key are sealed to.
    key_id: Mapped[str] = mapped_column(String(16))
    text_sealed: Mapped[str] = mapped_column(Text)
    contact_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    # The receipt-derived key of the messages to the reporter, sealed to the team key.
    message_key_sealed: Mapped[str] = mapped_column(Text)
    # A date, not a time: the reception time would tie the report to a moment.
    received_on: Mapped[dt.date] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class IncidentEntry(Base):
    """A follow-up from the reporter, a caseworker's note or a message to the reporter."""

    __tablename__ = "incident_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("incident_reports.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # The team key a follow-up or a note is sealed to; none for a message (receipt-sealed).
    key_id: Mapped[str | None] = mapped_column(String(16), default=None)
    sealed: Mapped[str] = mapped_column(Text)
    # The caseworker who wrote a note or a message; never the reporter.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    created_on: Mapped[dt.date] = mapped_column(Date)
