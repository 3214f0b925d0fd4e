"""Periodic work (``puerta jobs tick``; ``puerta serve`` runs it every minute)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.appointments.offers import expire_offers
from puerta.draws.commitments import ensure_commitment
from puerta.notifications.service import Zones, deliver_pending, notifier_from
from puerta.runtime import Runtime

log = logging.getLogger("puerta.jobs")


@dataclass(frozen=True)
class TickReport:
    window_committed: bool
    offers_expired: int
    notifications_sent: int
    notifications_failed: int


def tick(rt: Runtime) -> TickReport:
    """Commit the open window's secret, expire overdue offers, deliver notifications."""
    window = rt.schedule.open_window(rt.clock.now())
    if window is not None:
        with rt.uow() as uow:
            ensure_commitment(uow.session, window=window, clock=rt.clock, rng=rt.rng)
            uow.commit()
    expired = expire_offers(uow=rt.uow(), clock=rt.clock)
    report = deliver_pending(
        uow=rt.uow(), notifier=notifier_from(rt.settings), clock=rt.clock, zones=zones(rt)
    )
    return TickReport(window is not None, expired, report.sent, report.failed)


def zones(rt: Runtime) -> Zones:
    """Where notifications' times are read: the window's zone and each port's."""
    return Zones(window=rt.schedule.tz, ports=PORTS_BY_SLUG)


def run_periodically(rt: Runtime, stop: threading.Event) -> None:
    """Tick every ``PUERTA_JOBS_INTERVAL_SECONDS`` until ``stop`` is set; errors are logged."""
    interval = rt.settings.jobs_interval_seconds
    while not stop.wait(interval):
        try:
            tick(rt)
        except Exception as error:  # noqa: BLE001  (a failed tick must not stop the next)
            log.error("job tick failed: %s", type(error).__name__)
