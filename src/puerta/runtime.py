"""What every entry point passes to the use cases: settings, clock, database, randomness."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from puerta.appointments.booking import Slots
from puerta.appointments.domain import WindowSchedule
from puerta.clock import Clock, FixedClock, SystemClock
from puerta.config import Settings, get_settings
from puerta.db import UnitOfWork, make_engine, session_factory
from puerta.draws.domain import DrawParams
from puerta.draws.service import DrawConfig


@dataclass
class Runtime:
    """Built once per process (or per test) and handed to every use case."""

    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    hasher: PasswordHasher
    schedule: WindowSchedule
    rng: random.Random

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    @property
    def draw_config(self) -> DrawConfig:
        s = self.settings
        return DrawConfig(
            schedule=self.schedule,
            params=DrawParams(s.reserve_share, s.seniority_share, s.lottery_weight),
            default_seats=s.port_seats,
            service_date_offset=dt.timedelta(days=s.service_date_offset_days),
            offer_hours=s.offer_hours,
        )

    @property
    def slots(self) -> Slots:
        return Slots(self.settings.slot_first, self.settings.slot_last)


def clock_from(settings: Settings) -> Clock:
    """PUERTA_NOW pins the clock (demos, end-to-end tests); otherwise the system clock."""
    return FixedClock(settings.now) if settings.now is not None else SystemClock()


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    rng: random.Random | None = None,
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
        # Secrets and confirmation numbers come from the OS in production; tests seed it.
        rng=rng or random.SystemRandom(),
    )


def cli_runtime() -> Runtime:
    return build_runtime(get_settings())
