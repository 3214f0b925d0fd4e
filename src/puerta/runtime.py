"""The runtime for command-line use cases: settings, clock, database, password hasher."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from puerta.appointments.domain import WindowSchedule
from puerta.clock import Clock, FixedClock, SystemClock
from puerta.config import Settings, get_settings
from puerta.db import UnitOfWork, make_engine, session_factory


@dataclass
class Runtime:
    """What every entry point passes to the use cases."""

    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    hasher: PasswordHasher
    schedule: WindowSchedule

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)


def clock_from(settings: Settings) -> Clock:
    """PUERTA_NOW pins the clock (demos, end-to-end tests); otherwise the system clock."""
    return FixedClock(settings.now) if settings.now is not None else SystemClock()


def build_runtime(
    settings: Settings, *, clock: Clock | None = None, hasher: PasswordHasher | None = None
) -> Runtime:
    engine = make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        clock=clock or clock_from(settings),
        engine=engine,
        sessions=session_factory(engine),
        hasher=hasher or PasswordHasher(),
        schedule=WindowSchedule(
            settings.window_timezone, settings.window_opens, settings.window_closes
        ),
    )


def cli_runtime() -> Runtime:
    return build_runtime(get_settings())
