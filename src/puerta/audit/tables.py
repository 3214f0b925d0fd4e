"""The audit log's rows and its single head row.

Nothing here references accounts by foreign key: deleting an account must never break
or rewrite the chain.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puerta.db import Base, UTCDateTime

# Millions of events a year: a 64-bit seq on PostgreSQL; SQLite's INTEGER is 64-bit already.
Seq = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # A person's export reads the events about their records (puerta.accounts.rights).
    __table_args__ = (Index("ix_audit_events_subject", "subject"),)

    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(48))
    actor_id: Mapped[int | None] = mapped_column(Integer, default=None)
    subject: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row (id 1): appends lock it, so seqs are handed out one at a time, without gaps."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Seq)
    last_hash: Mapped[str] = mapped_column(String(64))
