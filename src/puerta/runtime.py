"""What every entry point passes to the use cases: settings, clock, database, randomness,
keys and notifier, bound once here and never read from globals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from puerta.accounts.rights import Holder
from puerta.accounts.service import GroupLock, username_of
from puerta.appointments.booking import Slots
from puerta.appointments.domain import WindowSchedule
from puerta.appointments.groups import check_group_unlocked
from puerta.appointments.rights import AppointmentsHeld
from puerta.appointments.service import WindowDrawn
from puerta.audit.domain import ON_BEHALF, OnBehalf
from puerta.clock import Clock, FixedClock, SystemClock
from puerta.config import Settings, get_settings
from puerta.datakeys import DataKeys, bind, load_keks
from puerta.db import UnitOfWork, make_engine, session_factory
from puerta.deployment import SIGNING_KEY, Keys, shared_key
from puerta.documents.rights import DocumentsHeld
from puerta.draws import lookups
from puerta.draws.domain import DrawParams
from puerta.draws.service import DrawConfig
from puerta.notifications.service import Notifier, Recipients, notifier_from
from puerta.proofs.keys import KeyRing, key_ring
from puerta.proofs.rights import ProofsHeld
from puerta.ratelimits.limiter import RateLimits
from puerta.vault import Vault
from puerta.vulnerability.rights import VulnerabilityHeld


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
    keys: Keys
    notifier: Notifier
    # Who this process is when it holds a job lease (puerta.deployment); unique per runtime.
    instance: str
    # The data keys that seal personal data at rest (puerta.datakeys), bound to the engine.
    data_keys: DataKeys
    # Seals and opens the fields kept encrypted at rest, bound to a purpose (the data keys').
    vault: Vault
    # Rate limits and login lockouts, counted in the database (puerta.ratelimits).
    limits: RateLimits
    # Set for one request made with a delegated token: every audit event its units of work
    # record names the caseworker, on behalf of the person (puerta.audit.service.record).
    acting: OnBehalf | None = None

    def uow(self) -> UnitOfWork:
        # Before the transaction: the data keys are read (made, the first time) apart from it.
        self.data_keys.prepare()
        if self.acting is None:
            return UnitOfWork(self.sessions)
        return UnitOfWork(self.sessions, info={ON_BEHALF: self.acting})

    def for_request(self) -> Runtime:
        """A copy for one request, which may then act for a person (``acting``)."""
        return dataclasses.replace(self, acting=None)

    def today(self) -> dt.date:
        """The clock's date in the window's zone: the day "today" means to every default."""
        return self.clock.now().astimezone(self.schedule.tz).date()

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

    # What a floor asks of the one above it, answered here so that imports run downward
    # (pyproject.toml's layers contract): the use cases below take these as arguments.
    @property
    def group_lock(self) -> GroupLock:
        """For accounts.set_group: appointments lock a group that holds seats."""
        return check_group_unlocked

    @property
    def window_drawn(self) -> WindowDrawn:
        """For appointments.withdraw_request: whether a window's draw has run."""
        return lookups.window_drawn

    @property
    def recipients(self) -> Recipients:
        """For notifications.deliver_pending: where an account's notifications go."""
        return username_of

    @property
    def holders(self) -> tuple[Holder, ...]:
        """For accounts.rights: each context's part of a person's data, in the order an
        erasure runs them (a live appointment is given up before the group goes)."""
        return (AppointmentsHeld(), VulnerabilityHeld(self.vault), DocumentsHeld(), ProofsHeld())

    @property
    def proof_keys(self) -> KeyRing:
        """The proof signing keys (puerta.proofs.keys), read again when their file changes."""
        return key_ring(self.settings, self.clock)


def clock_from(settings: Settings) -> Clock:
    """PUERTA_NOW pins the clock (demos, end-to-end tests); otherwise the system clock."""
    return FixedClock(settings.now) if settings.now is not None else SystemClock()


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    rng: random.Random | None = None,
    notifier: Notifier | None = None,
) -> Runtime:
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    clock = clock or clock_from(settings)
    # Secrets and confirmation numbers come from the OS in production; tests seed it.
    rng = rng or random.SystemRandom()

    def generated_key() -> bytes:
        # Development only (production requires PUERTA_SECRET_KEY): one key per database,
        # so every worker of `puerta serve --workers N` accepts the others' forms.
        return shared_key(uow=UnitOfWork(sessions), name=SIGNING_KEY, clock=clock)

    keys = Keys(settings.secret_key, generated_key)
    data_keys = DataKeys(lambda: load_keks(settings, clock), engine.begin, clock)
    bind(engine, data_keys)
    return Runtime(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=sessions,
        hasher=hasher or PasswordHasher(),
        schedule=WindowSchedule(
            settings.window_timezone, settings.window_opens, settings.window_closes
        ),
        rng=rng,
        keys=keys,
        data_keys=data_keys,
        vault=Vault(data_keys),
        limits=RateLimits(settings=settings, engine=engine, clock=clock, secret=keys.signing),
        notifier=notifier or notifier_from(settings, clock=clock),
        # An identity, not a draw input: unique even when tests seed two runtimes alike.
        instance=f"{os.getpid()}-{secrets.token_hex(6)}",
    )


def cli_runtime() -> Runtime:
    return build_runtime(get_settings())
