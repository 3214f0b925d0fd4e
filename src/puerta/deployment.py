"""What the processes of one deployment share through its database: keys and job leases.

``puerta serve --workers N`` starts N processes that share nothing but the database, so
anything they must agree on lives there: the signing key generated for development (when
PUERTA_SECRET_KEY is unset) and the lease that lets only one of them run the jobs.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import CursorResult, String, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from puerta.clock import Clock
from puerta.db import Base, UnitOfWork, UTCDateTime

SIGNING_KEY = "signing"


class DeploymentKey(Base):
    """A key generated once per deployment (development only: production sets its own)."""

    __tablename__ = "deployment_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class JobLease(Base):
    """Who runs a periodic job until when; renewed by its holder, taken over once expired."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


def shared_key(*, uow: UnitOfWork, name: str, clock: Clock) -> bytes:
    """The deployment's key ``name``: generated and stored by the first process that asks."""
    with uow:
        found = uow.session.get(DeploymentKey, name)
        if found is not None:
            return bytes.fromhex(found.value)
        try:
            # From the OS, never the runtime's rng: that one is seeded in tests and demos.
            value = secrets.token_bytes(32).hex()
            uow.session.add(DeploymentKey(name=name, value=value, created_at=clock.now()))
            uow.commit()
            return bytes.fromhex(value)
        except IntegrityError:
            uow.rollback()  # another worker stored it first: its key stands
        stored = uow.session.get(DeploymentKey, name)
        assert stored is not None
        return bytes.fromhex(stored.value)


class Keys:
    """The signing key: PUERTA_SECRET_KEY, else the deployment's generated one, read once."""

    def __init__(self, configured: str | None, load: Callable[[], bytes]) -> None:
        self._key = configured.encode() if configured else None
        self._load = load

    def signing(self) -> bytes:
        # Read on first use, not at start-up: `puerta db upgrade` must run before the table.
        if self._key is None:
            self._key = self._load()
        return self._key


def hold_lease(
    *, uow: UnitOfWork, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta
) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``.

    False while another holder's lease has not expired. One conditional UPDATE (or the
    first INSERT) decides, so two processes asking at once never both get it."""
    with uow:
        renewed = cast(
            CursorResult[Any],
            uow.session.execute(
                update(JobLease)
                .where(JobLease.name == name)
                .where(or_(JobLease.holder == holder, JobLease.expires_at <= now))
                .values(holder=holder, expires_at=now + ttl)
            ),
        )
        if renewed.rowcount == 1:
            uow.commit()
            return True
        if uow.session.get(JobLease, name) is not None:
            return False  # held by another, and not expired
        try:
            uow.session.add(JobLease(name=name, holder=holder, expires_at=now + ttl))
            uow.commit()
        except IntegrityError:
            return False  # another process took it first
        return True


def release_lease(*, uow: UnitOfWork, name: str, holder: str) -> None:
    """Give the lease up (on shutdown), so that another process need not wait for it."""
    with uow:
        uow.session.execute(
            delete(JobLease).where(JobLease.name == name, JobLease.holder == holder)
        )
        uow.commit()
