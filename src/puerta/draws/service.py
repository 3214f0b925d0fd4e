"""Use cases of the daily draw: commit to a window's secret, run the draw, show and verify it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from puerta.accounts.tables import Group, epoch_us
from puerta.appointments import offers
from puerta.appointments.domain import PORTS, RequestStatus, WindowSchedule
from puerta.appointments.tables import AppointmentRequest, CapacityPlan
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.draws import entries as packing
from puerta.draws.allocation import Allocation, Entries, allocate
from puerta.draws.domain import (
    DrawOutOfOrder,
    DrawParams,
    NoDraw,
    Share,
    UnknownWindow,
    WindowStillOpen,
    commit_secret,
    draw_seed,
)
from puerta.draws.tables import Draw, DrawEntries, WindowCommitment

SLUGS = [port.slug for port in PORTS]


@dataclass(frozen=True)
class DrawView:
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
    created: bool = False


@dataclass(frozen=True)
class DrawConfig:
    """What a draw needs beyond its window: the schedule, rules and default capacity."""

    schedule: WindowSchedule
    params: DrawParams
    default_seats: Mapping[str, int]
    service_date_offset: dt.timedelta
    offer_hours: int


def _port_index(column: Any) -> Any:
    return case({slug: index for index, slug in enumerate(SLUGS)}, value=column, else_=-1)


def _entries_query(window: dt.date) -> Select[Any]:
    req = AppointmentRequest
    return (
        select(
            req.id,
            Group.size,
            _port_index(req.port_1),
            _port_index(req.port_2),
            _port_index(req.port_3),
            Group.registered_us,
            case((Group.vulnerability_approved, 1), else_=0),
        )
        .join(Group, Group.id == req.group_id)
        .where(
            req.status == RequestStatus.PENDING.value,
            or_(req.window == window, and_(req.standing.is_(True), req.window < window)),
        )
    )


def load_entries(session: Session, window: dt.date, reference_us: int) -> Entries:
    """Every pending request entered in ``window``'s draw, as columns."""
    rows = session.execute(_entries_query(window)).all()
    array = np.array(rows, dtype=np.int64).reshape(-1, 7)
    return packing.from_rows(array, reference_us)


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
        for slug in SLUGS
    }


def _summary(allocation: Allocation, entries: Entries, seats: list[int]) -> dict[str, Any]:
    by_port = {
        slug: {"seats": seats[i], **{s.value: allocation.persons[s][i] for s in Share}}
        for i, slug in enumerate(SLUGS)
    }
    sizes = dict(zip(entries.ids.tolist(), entries.sizes.tolist(), strict=True))
    return {
        "entries": len(entries),
        "persons_entered": int(entries.sizes.sum()),
        "groups_selected": len(allocation.selected),
        "persons_selected": sum(sizes[r] for r, _, _ in allocation.selected),
        "by_share": {s.value: sum(allocation.persons[s]) for s in Share},
        "by_port": by_port,
    }


def run_draw(
    *, uow: UnitOfWork, clock: Clock, config: DrawConfig, window: dt.date, actor_id: int | None
) -> DrawView:
    """Run the draw of a closed window once; running it again returns the first result."""
    now = clock.now()
    with uow:
        existing = uow.session.scalar(select(Draw).where(Draw.window == window))
        if existing is not None:
            return _view(uow.session, existing)
        _check_can_run(uow.session, window, now, config.schedule)
        draw = _run(uow.session, window, now, config, actor_id)
        view = _view(uow.session, draw, created=True)
        uow.commit()
    return view


def _check_can_run(
    session: Session, window: dt.date, now: dt.datetime, sched: WindowSchedule
) -> None:
    if session.get(WindowCommitment, window) is None:
        raise UnknownWindow(window=window.isoformat())
    if now < sched.closes_at(window):
        raise WindowStillOpen(closes_at=sched.closes_at(window).isoformat())
    later = session.scalar(select(func.max(Draw.window)).where(Draw.window > window))
    if later is not None:
        raise DrawOutOfOrder(later=later.isoformat())


def _run(
    session: Session, window: dt.date, now: dt.datetime, config: DrawConfig, actor_id: int | None
) -> Draw:
    commitment = session.get(WindowCommitment, window)
    assert commitment is not None
    service_date = window + config.service_date_offset
    entries = load_entries(session, window, epoch_us(config.schedule.opens_at(window)))
    capacity = _seats(session, service_date, config)
    seats = [max(0, c["planned"] - c["held"]) + c["released"] for c in capacity.values()]
    packed = packing.pack(entries)
    digest = packing.digest(packed)
    seed = draw_seed(window, digest, bytes.fromhex(commitment.secret))
    allocation = allocate(entries, seats, config.params, seed)
    params = {
        "reserve_share": config.params.reserve_share,
        "seniority_share": config.params.seniority_share,
        "weight": config.params.weight,
        "seats": dict(zip(SLUGS, seats, strict=True)),
        "capacity": capacity,
        "offer_hours": config.offer_hours,
    }
    draw = Draw(
        window=window, service_date=service_date, entries_count=len(entries),
        entries_digest=digest, seed=seed.hex(), params=json.dumps(params, sort_keys=True),
        summary=json.dumps(_summary(allocation, entries, seats), sort_keys=True),
        ran_at=now, ran_by=actor_id,
    )  # fmt: skip
    session.add(draw)
    session.flush()
    session.add(DrawEntries(draw_id=draw.id, packed=packing.compress(packed)))
    offers.release_to(session, draw.id)
    record(
        session, at=now, kind="draw_run", actor_id=actor_id, subject=f"draw:{window.isoformat()}",
        data={"entries": len(entries), "digest": digest, "seed": seed.hex(),
              "groups_selected": len(allocation.selected)},
    )  # fmt: skip
    offers.make_offers(session, draw, allocation, now=now, hours=config.offer_hours)
    _close_requests(session, window, [r for r, _, _ in allocation.selected])
    return draw


def _close_requests(session: Session, window: dt.date, selected: list[int]) -> None:
    req = AppointmentRequest
    for start in range(0, len(selected), 500):
        session.execute(
            update(req)
            .where(req.id.in_(selected[start : start + 500]))
            .values(status=RequestStatus.SELECTED.value)
        )
    session.execute(
        update(req)
        .where(req.window == window, req.status == RequestStatus.PENDING.value)
        .where(req.standing.is_(False))
        .values(status=RequestStatus.NOT_SELECTED.value)
    )


def _view(session: Session, draw: Draw, *, created: bool = False) -> DrawView:
    commitment = session.get(WindowCommitment, draw.window)
    assert commitment is not None
    return DrawView(
        window=draw.window, service_date=draw.service_date, entries=draw.entries_count,
        entries_digest=draw.entries_digest, secret_hash=commitment.secret_hash,
        secret=commitment.secret, seed=draw.seed, params=json.loads(draw.params),
        summary=json.loads(draw.summary), ran_at=draw.ran_at, created=created,
    )  # fmt: skip


def get_draw(*, uow: UnitOfWork, window: dt.date) -> DrawView:
    """The public record of a window's draw."""
    with uow:
        draw = uow.session.scalar(select(Draw).where(Draw.window == window))
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


def verify_draw(*, uow: UnitOfWork, schedule: WindowSchedule, window: dt.date) -> VerifyReport:
    """Re-run a draw from its stored inputs and compare with what it selected."""
    with uow:
        draw = uow.session.scalar(select(Draw).where(Draw.window == window))
        if draw is None:
            raise NoDraw(window=window.isoformat())
        commitment = uow.session.get(WindowCommitment, window)
        stored = uow.session.get(DrawEntries, draw.id)
        assert commitment is not None and stored is not None
        secret, secret_hash = bytes.fromhex(commitment.secret), commitment.secret_hash
        packed = packing.decompress(stored.packed)
        recorded = offers.selections_of(uow.session, draw.id)
        params, digest, seed_hex = json.loads(draw.params), draw.entries_digest, draw.seed
    seed = draw_seed(window, packing.digest(packed), secret)
    entries = packing.unpack(packed, epoch_us(schedule.opens_at(window)))
    rules = DrawParams(params["reserve_share"], params["seniority_share"], params["weight"])
    seats = [params["seats"][slug] for slug in SLUGS]
    again = {(r, SLUGS[p], s.value) for r, p, s in allocate(entries, seats, rules, seed).selected}
    return VerifyReport(
        window=window,
        digest_ok=packing.digest(packed) == digest,
        commitment_ok=commit_secret(secret) == secret_hash,
        seed_ok=seed.hex() == seed_hex,
        allocation_ok=again == recorded,
        differences=len(again ^ recorded),
    )


def latest_window_with_draw(*, uow: UnitOfWork) -> dt.date | None:
    with uow:
        return uow.session.scalar(select(func.max(Draw.window)))


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
