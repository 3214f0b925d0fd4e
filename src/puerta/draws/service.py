"""Use cases of the daily draw: run a closed window's draw, show it, verify it, and say
which window is open."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from puerta.accounts.tables import epoch_us
from puerta.appointments import offers
from puerta.appointments.domain import RequestStatus, WindowSchedule, commit_secret
from puerta.appointments.tables import AppointmentRequest, CapacityPlan, WindowCommitment
from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.draws import entries as packing
from puerta.draws import readers
from puerta.draws.allocation import Allocation, Entries, allocate
from puerta.draws.domain import (
    DrawOutOfOrder,
    DrawParams,
    NoDraw,
    Share,
    UnknownWindow,
    WindowStillOpen,
    draw_seed,
)
from puerta.draws.tables import Draw, DrawEntries
from puerta.geo.domain import PORT_SLUGS

BULK_CACHE_KIB = 131_072  # see readers.page_cache
MARK_BATCH = 500  # request ids per UPDATE ... WHERE id IN (...)


@dataclass(frozen=True)
class DrawRecord:
    """The public record of a draw: its inputs, revealed secret, seed and results."""

    window: dt.date
    service_date: dt.date
    entries: int
    entries_digest: str
    secret_hash: str
    secret: str
    seed: str
    params: dict[str, Any]
    summary: dict[str, Any]
    ran_at: dt.datetime


@dataclass(frozen=True)
class DrawView(DrawRecord):
    """The record, and whether this call ran the draw (False: it had already run)."""

    # Not part of the record (the API says it with 201 or 200): its class keeps it off the wire.
    created: bool = False


@dataclass(frozen=True)
class DrawConfig:
    """What a draw needs beyond its window: the schedule, rules and default capacity."""

    schedule: WindowSchedule
    params: DrawParams
    default_seats: Mapping[str, int]
    service_date_offset: dt.timedelta
    offer_hours: int


@dataclass(frozen=True)
class _Drawn:
    """A window's draw computed, not yet stored; its packed entries compressing meanwhile."""

    window: dt.date
    service_date: dt.date
    entries: Entries
    digest: str
    seed: bytes
    capacity: dict[str, dict[str, int]]
    seats: list[int]
    allocation: Allocation
    compressed: Future[bytes]


def run_draw(
    *, uow: UnitOfWork, clock: Clock, config: DrawConfig, window: dt.date, actor_id: int | None
) -> DrawView:
    """Run the draw of a closed window once; running it again returns the first result."""
    now = clock.now()
    with uow:
        _lock_window(uow.session, window)
        existing = _draw_of(uow.session, window)
        if existing is not None:
            return _view(uow.session, existing)
        commitment = _check_can_run(uow.session, window, now, config.schedule)
        with ThreadPoolExecutor(max_workers=2) as background:
            entries = _load_and_close(uow.session, background, window, config.schedule)
            drawn = _allocate(uow.session, background, entries, commitment, config)
            draw = _record(uow.session, drawn, config, now=now, actor_id=actor_id)
        view = _view(uow.session, draw, created=True)
        uow.commit()
    return view


def _lock_window(session: Session, window: dt.date) -> None:
    """Hold the window's commitment until this transaction ends, so that of two processes
    asked to run one draw at once the second waits, then finds the first's draw and
    answers with it, instead of drawing again and failing on the unique window."""
    # An UPDATE, not a SELECT: it waits for the other transaction (the row lock on
    # PostgreSQL, the write lock on SQLite) and what follows sees what that one committed.
    session.execute(
        update(WindowCommitment)
        .where(WindowCommitment.window == window)
        .values(secret_hash=WindowCommitment.secret_hash)
        .execution_options(synchronize_session=False)
    )


def _draw_of(session: Session, window: dt.date) -> Draw | None:
    return session.scalar(select(Draw).where(Draw.window == window))


def _check_can_run(
    session: Session, window: dt.date, now: dt.datetime, sched: WindowSchedule
) -> WindowCommitment:
    """The window's commitment, if its draw may run: the window closed, no later one drawn."""
    commitment = session.get(WindowCommitment, window)
    if commitment is None:
        raise UnknownWindow(window=window.isoformat())
    if now < sched.closes_at(window):
        raise WindowStillOpen(
            closes_at=sched.closes_at(window).isoformat(), timezone=sched.timezone
        )
    later = session.scalar(select(func.max(Draw.window)).where(Draw.window > window))
    if later is not None:
        raise DrawOutOfOrder(later=later.isoformat())
    return commitment


def _load_and_close(
    session: Session, background: Executor, window: dt.date, schedule: WindowSchedule
) -> Entries:
    """The window's entries, read while its requests are closed in the draw's transaction."""
    reference_us = epoch_us(schedule.opens_at(window))
    return readers.read_entries_while(
        session,
        window,
        reference_us,
        meanwhile=lambda: _close_window(session, window),
        executor=background,
    )


def _close_window(session: Session, window: dt.date) -> None:
    """The entries that do not stand are not selected, unless marked so afterwards by
    ``_mark_selected``; standing ones wait for the next draw."""
    req = AppointmentRequest
    with readers.page_cache(session, BULK_CACHE_KIB):
        session.execute(
            update(req)
            .where(req.window <= window, req.status == RequestStatus.PENDING.value)
            .where(req.standing.is_(False))
            .values(status=RequestStatus.NOT_SELECTED.value)
        )


def _allocate(
    session: Session,
    background: Executor,
    entries: Entries,
    commitment: WindowCommitment,
    config: DrawConfig,
) -> _Drawn:
    """The seats, the digest of the entries, the seed from it and the secret, the allocation."""
    window, service_date = commitment.window, commitment.window + config.service_date_offset
    capacity = _seats(session, service_date, config)
    seats = [max(0, c["planned"] - c["held"]) + c["released"] for c in capacity.values()]
    packed = packing.pack(entries)
    # zlib lets go of the GIL: the stored copy is compressed on another core meanwhile.
    compressed = background.submit(packing.compress, packed)
    digest = packing.digest(packed)
    # The reveal: the secret, sealed at rest until now, is opened and kept public from here.
    commitment.revealed = commitment.secret
    seed = draw_seed(window, digest, bytes.fromhex(commitment.revealed))
    allocation = allocate(entries, seats, config.params, seed)
    return _Drawn(
        window, service_date, entries, digest, seed, capacity, seats, allocation, compressed
    )


def _seats(
    session: Session, service_date: dt.date, config: DrawConfig
) -> dict[str, dict[str, int]]:
    """Per port: planned seats, seats already held that day, seats freed since the last draw."""
    planned = dict(
        session.execute(
            select(CapacityPlan.port, CapacityPlan.seats).where(
                CapacityPlan.service_date == service_date
            )
        ).all()
    )
    held = offers.held_persons(session, service_date)
    released = offers.released_persons(session)
    return {
        slug: {
            "planned": planned.get(slug, config.default_seats.get(slug, 0)),
            "held": held.get(slug, 0),
            "released": released.get(slug, 0),
        }
        for slug in PORT_SLUGS
    }


def _record(
    session: Session, drawn: _Drawn, config: DrawConfig, *, now: dt.datetime, actor_id: int | None
) -> Draw:
    """The draw stored with its entries, the freed seats it used, its audit event, its offers."""
    draw = _draw_row(drawn, config, now=now, actor_id=actor_id)
    session.add(draw)
    session.flush()
    offers.release_to(session, draw.id)
    record(
        session, at=now, kind=EventKind.DRAW_RUN, actor_id=actor_id,
        subject=f"draw:{drawn.window.isoformat()}",
        data={"entries": len(drawn.entries), "digest": drawn.digest, "seed": drawn.seed.hex(),
              "groups_selected": len(drawn.allocation.selected)},
    )  # fmt: skip
    offers.make_offers(session, draw, drawn.allocation, now=now, hours=config.offer_hours)
    _mark_selected(session, [r for r, _, _ in drawn.allocation.selected])
    session.add(DrawEntries(draw_id=draw.id, packed=drawn.compressed.result()))
    return draw


def _draw_row(drawn: _Drawn, config: DrawConfig, *, now: dt.datetime, actor_id: int | None) -> Draw:
    summary = _summary(drawn.allocation, drawn.entries, drawn.seats)
    return Draw(
        window=drawn.window, service_date=drawn.service_date, entries_count=len(drawn.entries),
        entries_digest=drawn.digest, seed=drawn.seed.hex(),
        params=json.dumps(_params(config, drawn.seats, drawn.capacity), sort_keys=True),
        summary=json.dumps(summary, sort_keys=True), ran_at=now, ran_by=actor_id,
    )  # fmt: skip


def _params(
    config: DrawConfig, seats: list[int], capacity: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """What the draw was run with, recorded so that it can be re-run."""
    return {
        "reserve_share": config.params.reserve_share,
        "seniority_share": config.params.seniority_share,
        "weight": config.params.weight,
        "seats": dict(zip(PORT_SLUGS, seats, strict=True)),
        "capacity": capacity,
        "offer_hours": config.offer_hours,
    }


def _summary(allocation: Allocation, entries: Entries, seats: list[int]) -> dict[str, Any]:
    by_port = {
        slug: {"seats": seats[i], **{s.value: allocation.persons[s][i] for s in Share}}
        for i, slug in enumerate(PORT_SLUGS)
    }
    selected = np.array([r for r, _, _ in allocation.selected], dtype=np.int64)
    return {
        "entries": len(entries),
        "persons_entered": int(entries.sizes.sum()),
        "groups_selected": len(allocation.selected),
        "persons_selected": int(entries.sizes[np.searchsorted(entries.ids, selected)].sum()),
        "by_share": {s.value: sum(allocation.persons[s]) for s in Share},
        "by_port": by_port,
    }


def _mark_selected(session: Session, selected: list[int]) -> None:
    req = AppointmentRequest
    for start in range(0, len(selected), MARK_BATCH):
        session.execute(
            update(req)
            .where(req.id.in_(selected[start : start + MARK_BATCH]))
            .values(status=RequestStatus.SELECTED.value)
        )


def _view(session: Session, draw: Draw, *, created: bool = False) -> DrawView:
    commitment = session.get(WindowCommitment, draw.window)
    assert commitment is not None
    return DrawView(
        window=draw.window, service_date=draw.service_date, entries=draw.entries_count,
        entries_digest=draw.entries_digest, secret_hash=commitment.secret_hash,
        secret=commitment.revealed or commitment.secret, seed=draw.seed,
        params=json.loads(draw.params),
        summary=json.loads(draw.summary), ran_at=draw.ran_at, created=created,
    )  # fmt: skip


def get_draw(*, uow: UnitOfWork, window: dt.date) -> DrawView:
    """The public record of a window's draw."""
    with uow:
        draw = _draw_of(uow.session, window)
        if draw is None:
            if uow.session.get(WindowCommitment, window) is None:
                raise UnknownWindow(window=window.isoformat())
            raise NoDraw(window=window.isoformat())
        return _view(uow.session, draw)


@dataclass(frozen=True)
class VerifyReport:
    window: dt.date
    digest_ok: bool
    commitment_ok: bool
    seed_ok: bool
    allocation_ok: bool
    differences: int

    @property
    def ok(self) -> bool:
        return self.digest_ok and self.commitment_ok and self.seed_ok and self.allocation_ok


@dataclass(frozen=True)
class _Published:
    """What a draw published: its inputs, its digest and seed, and what it selected."""

    params: dict[str, Any]
    digest: str
    seed: str
    secret: bytes
    secret_hash: str
    packed: bytes
    selected: set[tuple[int, str, str]]


def verify_draw(*, uow: UnitOfWork, schedule: WindowSchedule, window: dt.date) -> VerifyReport:
    """Re-run a draw from its stored inputs and compare with what it selected."""
    with uow:
        published = _published(uow.session, window)
    digest = packing.digest(published.packed)
    seed = draw_seed(window, digest, published.secret)
    again = _rerun(published, seed, epoch_us(schedule.opens_at(window)))
    return VerifyReport(
        window=window,
        digest_ok=digest == published.digest,
        commitment_ok=commit_secret(published.secret) == published.secret_hash,
        seed_ok=seed.hex() == published.seed,
        allocation_ok=again == published.selected,
        differences=len(again ^ published.selected),
    )


def _published(session: Session, window: dt.date) -> _Published:
    draw = _draw_of(session, window)
    if draw is None:
        raise NoDraw(window=window.isoformat())
    commitment = session.get(WindowCommitment, window)
    stored = session.get(DrawEntries, draw.id)
    assert commitment is not None and stored is not None
    return _Published(
        params=json.loads(draw.params),
        digest=draw.entries_digest,
        seed=draw.seed,
        secret=bytes.fromhex(commitment.revealed or commitment.secret),
        secret_hash=commitment.secret_hash,
        packed=packing.decompress(stored.packed),
        selected=offers.selections_of(session, draw.id),
    )


def _rerun(published: _Published, seed: bytes, reference_us: int) -> set[tuple[int, str, str]]:
    """(request id, port, share) of each group the recorded rules select from the entries."""
    entries = packing.unpack(published.packed, reference_us)
    params = published.params
    rules = DrawParams(params["reserve_share"], params["seniority_share"], params["weight"])
    seats = [params["seats"][slug] for slug in PORT_SLUGS]
    return {
        (r, PORT_SLUGS[p], s.value) for r, p, s in allocate(entries, seats, rules, seed).selected
    }


@dataclass(frozen=True)
class WindowStatus:
    window: dt.date
    is_open: bool
    opens_at: dt.datetime
    closes_at: dt.datetime
    secret_hash: str | None


def window_status(*, uow: UnitOfWork, clock: Clock, schedule: WindowSchedule) -> WindowStatus:
    """The open window, or the next one between windows, with its commitment if made."""
    now = clock.now()
    window = schedule.open_window(now)
    if window is None:
        window = schedule.next_opening(now).astimezone(schedule.tz).date()
    with uow:
        commitment = uow.session.get(WindowCommitment, window)
        secret_hash = commitment.secret_hash if commitment else None
    return WindowStatus(
        window=window,
        is_open=schedule.is_open(window, now),
        opens_at=schedule.opens_at(window),
        closes_at=schedule.closes_at(window),
        secret_hash=secret_hash,
    )
