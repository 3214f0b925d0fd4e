"""Periodic work (``puerta jobs tick``; ``puerta serve`` runs it every minute).

Every worker of ``puerta serve --workers N`` runs the ticker, but only the holder of the
deployment's ``jobs`` lease ticks: it renews the lease each time, and another worker takes
over once it expires (the holder stopped). ``puerta jobs tick`` (cron) takes the same lease
for the length of its tick and gives it up at the end, so of several started at once, or
beside a serving worker, one ticks and the others do nothing. Under the lease, every step
still claims each due item (an offer, a document, an overdue case, a notification) with a
conditional UPDATE before acting on it, so even two ticks at once (a lease that expired
under a slow tick) expire, remind and send each thing once, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from puerta.appointments.commitments import ensure_commitment
from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.appointments.offers import expire_offers
from puerta.deployment import hold_lease, release_lease
from puerta.notifications.service import Zones, deliver_pending
from puerta.runtime import Runtime

log = logging.getLogger("puerta.jobs")
LEASE = "jobs"
# A lease outlives a few missed ticks, so a slow tick does not hand the jobs over.
LEASE_INTERVALS = 3
# A tick from cron holds the lease this long at least (it gives it up when done): longer
# than any tick takes, so a second cron tick never starts beside a slow first one. Killed
# part-way, it leaves the lease to expire; per-item claims keep even that case to once.
CRON_LEASE = dt.timedelta(minutes=15)


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
    # Immigration documents: expire those past their date, enqueue the 30- and 7-day
    # reminders (sent by the delivery below). Imported here to keep this one step's edit whole.
    from puerta.documents.service import run_document_jobs

    run_document_jobs(uow=rt.uow(), clock=rt.clock)
    # Exception requests past their review deadline: one notice to the admins per case that
    # became overdue (sent by the delivery below). Imported here to keep this step's edit whole.
    from puerta.vulnerability.service import notify_overdue

    notify_overdue(uow=rt.uow(), clock=rt.clock)
    # Rate-limit counters whose window has ended (a later hit would reset them anyway).
    rt.limits.purge()
    report = deliver_pending(
        uow=rt.uow(),
        notifier=rt.notifier,
        clock=rt.clock,
        zones=zones(rt),
        recipients=rt.recipients,
    )
    return TickReport(window is not None, expired, report.sent, report.failed)


def zones(rt: Runtime) -> Zones:
    """Where notifications' times are read: the window's zone and each port's."""
    return Zones(window=rt.schedule.tz, ports=PORTS_BY_SLUG)


def tick_if_holder(rt: Runtime) -> TickReport | None:
    """Tick if this runtime holds (or now takes) the jobs lease; None if another does."""
    ttl = dt.timedelta(seconds=rt.settings.jobs_interval_seconds * LEASE_INTERVALS)
    if not hold_lease(uow=rt.uow(), name=LEASE, holder=rt.instance, now=rt.clock.now(), ttl=ttl):
        return None
    return tick(rt)


def tick_once(rt: Runtime) -> TickReport | None:
    """One tick under the jobs lease (``puerta jobs tick``, from cron), given up at its end;
    None, and nothing done, while another process holds it."""
    ttl = max(dt.timedelta(seconds=rt.settings.jobs_interval_seconds * LEASE_INTERVALS), CRON_LEASE)
    if not hold_lease(uow=rt.uow(), name=LEASE, holder=rt.instance, now=rt.clock.now(), ttl=ttl):
        return None
    try:
        return tick(rt)
    finally:
        _release(rt)


def run_periodically(rt: Runtime, stop: threading.Event) -> None:
    """Tick every ``PUERTA_JOBS_INTERVAL_SECONDS`` while holding the lease, until ``stop``."""
    interval = rt.settings.jobs_interval_seconds
    try:
        while not stop.wait(interval):
            try:
                tick_if_holder(rt)
            except Exception as error:  # noqa: BLE001  (a failed tick must not stop the next)
                log.error("job tick failed: %s", type(error).__name__)
    finally:
        _release(rt)


def _release(rt: Runtime) -> None:
    try:
        release_lease(uow=rt.uow(), name=LEASE, holder=rt.instance)
    except Exception as error:  # noqa: BLE001  (the lease then simply expires)
        log.warning("job lease not released: %s", type(error).__name__)
