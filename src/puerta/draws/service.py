"""Use cases of the daily draw: commit to a window's secret, run the draw, show and verify it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Select,
    String,
    case,
    cast,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from puerta.accounts.tables import Group, epoch_us
from puerta.appointments import offers
from puerta.appointments.domain import PORTS, RequestStatus, WindowSchedule
from puerta.appointments.tables import AppointmentRequest, CapacityPlan
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.config import DEFAULT_PORT_SEATS
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
MEMORY = (None, "", ":memory:")  # SQLite database names private to a connection
BULK_CACHE_KIB = 131_072  # see _page_cache


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
    # CASE tries its branches in order: the busiest ports (by default seats) first.
    busiest = sorted(SLUGS, key=lambda slug: -DEFAULT_PORT_SEATS.get(slug, 0))
    return case({slug: SLUGS.index(slug) for slug in busiest}, value=column, else_=-1)


# The entries are read as two pairs of integers and joined in numpy: (request id, group id *
# PORT_FIELDS + ports) per pending request, and (group id * GROUP_FIELDS + size * 2 +
# vulnerable, registered_us) per group. The fewer the values the faster the read, and one
# scan of every group costs less than a million primary-key lookups for a join in SQL (as
# long as groups are not many times the pending requests).
PORT_FIELDS = 16**3  # three 4-bit fields, first choice lowest: port index + 1, 0 for none
GROUP_FIELDS = 2**16  # size (up to 32,767) * 2 + vulnerable


def _port_fields() -> Any:
    req = AppointmentRequest
    columns = (req.port_1, req.port_2, req.port_3)
    first, second, third = ((_port_index(column) + 1) * 16**k for k, column in enumerate(columns))
    return first + second + third


def _requests_query(window: dt.date) -> Select[int, int]:
    """The pending requests entered in ``window``'s draw: every one made up to that window.

    A drawn window closes its requests that do not stand, so an earlier pending one either
    stands or comes from a window whose draw never ran; both are entered here.
    """
    req = AppointmentRequest
    return select(req.id, cast(req.group_id, BigInteger) * PORT_FIELDS + _port_fields()).where(
        req.status == RequestStatus.PENDING.value, req.window <= window
    )


def _groups_query() -> Select[int, int]:
    vulnerable = case((Group.vulnerability_approved, 1), else_=0)
    key = cast(Group.id, BigInteger) * GROUP_FIELDS + Group.size * 2 + vulnerable
    return select(key, Group.registered_us)


def _integers(db: Session | Connection, query: Select[int, int]) -> npt.NDArray[np.int64]:
    """The query's rows, all integers, as an (n, columns) array.

    Handed to Python one value at a time, a million rows would cost more than all the rest
    of the draw; so the database writes them into one comma-separated text, parsed by numpy.
    (SQLite and PostgreSQL cap a text at 1 GB, some 40 million rows of two values.)
    """
    width = len(query.selected_columns)
    texts: list[ColumnElement[str]] = [cast(c, String) for c in query.selected_columns]
    line = reduce(lambda a, b: a + "," + b, texts)
    count, text = db.execute(
        query.with_only_columns(
            func.count(), func.aggregate_strings(line, ","), maintain_column_froms=True
        )
    ).one()
    values = np.fromstring(text or "", dtype=np.int64, sep=",")
    if values.size != count * width:
        raise RuntimeError(f"read {values.size} values from {count} rows of {width}")
    return values.reshape(count, width)


def _read_apart(engine: Engine, query: Select[int, int]) -> npt.NDArray[np.int64]:
    """``_integers`` on a connection of its own, for another thread."""
    with engine.connect() as connection:
        return _integers(connection, query)


def load_entries(session: Session, window: dt.date, reference_us: int) -> Entries:
    """Every pending request entered in ``window``'s draw, as columns."""
    requests = _integers(session, _requests_query(window))
    return _entries(requests, _integers(session, _groups_query()), reference_us)


def _entries(
    requests: npt.NDArray[np.int64], groups: npt.NDArray[np.int64], reference_us: int
) -> Entries:
    """The entries from the rows of ``_requests_query`` and ``_groups_query``, joined."""
    groups = groups[np.argsort(groups[:, 0])]
    group_ids, group_fields = np.divmod(groups[:, 0], GROUP_FIELDS)
    wanted, port_fields = np.divmod(requests[:, 1], PORT_FIELDS)
    # Looked up in group order, several times faster than at random; the requests themselves
    # stay in the order read, nearly by id already (from_columns then sorts them quickly).
    by_group = np.argsort(wanted)
    at = np.empty_like(by_group)
    at[by_group] = np.searchsorted(group_ids, wanted[by_group])
    found = at < len(group_ids)
    found[found] = group_ids[at[found]] == wanted[found]  # an inner join, as SQL's would be
    at, port_fields = at[found], port_fields[found]
    return packing.from_columns(
        ids=requests[found, 0],
        sizes=group_fields[at] >> 1,
        ports=np.stack([(port_fields >> (4 * k)) % 16 - 1 for k in range(3)], axis=1),
        registered=groups[at, 1],
        vulnerable=group_fields[at] & 1,
        reference_us=reference_us,
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
        for slug in SLUGS
    }


def _summary(allocation: Allocation, entries: Entries, seats: list[int]) -> dict[str, Any]:
    by_port = {
        slug: {"seats": seats[i], **{s.value: allocation.persons[s][i] for s in Share}}
        for i, slug in enumerate(SLUGS)
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
        raise WindowStillOpen(
            closes_at=sched.closes_at(window).isoformat(), timezone=sched.timezone
        )
    later = session.scalar(select(func.max(Draw.window)).where(Draw.window > window))
    if later is not None:
        raise DrawOutOfOrder(later=later.isoformat())


def _run(
    session: Session, window: dt.date, now: dt.datetime, config: DrawConfig, actor_id: int | None
) -> Draw:
    commitment = session.get(WindowCommitment, window)
    assert commitment is not None
    service_date = window + config.service_date_offset
    reference_us = epoch_us(config.schedule.opens_at(window))
    with ThreadPoolExecutor(max_workers=2) as background:
        entries = _load_and_close(session, background, window, reference_us)
        capacity = _seats(session, service_date, config)
        seats = [max(0, c["planned"] - c["held"]) + c["released"] for c in capacity.values()]
        packed = packing.pack(entries)
        # zlib lets go of the GIL: the stored copy is compressed on another core meanwhile.
        compressed = background.submit(packing.compress, packed)
        digest = packing.digest(packed)
        seed = draw_seed(window, digest, bytes.fromhex(commitment.secret))
        allocation = allocate(entries, seats, config.params, seed)
        draw = Draw(
            window=window, service_date=service_date, entries_count=len(entries),
            entries_digest=digest, seed=seed.hex(),
            params=json.dumps(_params(config, seats, capacity), sort_keys=True),
            summary=json.dumps(_summary(allocation, entries, seats), sort_keys=True),
            ran_at=now, ran_by=actor_id,
        )  # fmt: skip
        session.add(draw)
        session.flush()
        offers.release_to(session, draw.id)
        record(
            session, at=now, kind="draw_run", actor_id=actor_id,
            subject=f"draw:{window.isoformat()}",
            data={"entries": len(entries), "digest": digest, "seed": seed.hex(),
                  "groups_selected": len(allocation.selected)},
        )  # fmt: skip
        offers.make_offers(session, draw, allocation, now=now, hours=config.offer_hours)
        _mark_selected(session, [r for r, _, _ in allocation.selected])
        session.add(DrawEntries(draw_id=draw.id, packed=compressed.result()))
    return draw


def _load_and_close(
    session: Session, background: Executor, window: dt.date, reference_us: int
) -> Entries:
    """The entries, read while this window's requests are closed in the draw's transaction.

    The slowest steps run side by side where they can: the two reads on connections of
    their own, which cannot see the draw's changes before it commits.
    """
    engine = _separate_reads(session)
    if engine is None:
        entries = load_entries(session, window, reference_us)
        _close_window(session, window)
        return entries
    requests = background.submit(_read_apart, engine, _requests_query(window))
    groups = background.submit(_read_apart, engine, _groups_query())
    _close_window(session, window)
    return _entries(requests.result(), groups.result(), reference_us)


def _separate_reads(session: Session) -> Engine | None:
    """The engine, if other connections would see the same data as the session's without
    waiting for its writes: not for a session bound to a connection, nor for SQLite in
    memory or out of WAL mode (there a writer and readers can lock each other out)."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return None
    if bind.dialect.name != "sqlite":
        return bind
    if bind.url.database in MEMORY:
        return None
    mode = session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
    return bind if mode == "wal" else None


def _params(
    config: DrawConfig, seats: list[int], capacity: dict[str, dict[str, int]]
) -> dict[str, Any]:
    """What the draw was run with, recorded so that it can be re-run."""
    return {
        "reserve_share": config.params.reserve_share,
        "seniority_share": config.params.seniority_share,
        "weight": config.params.weight,
        "seats": dict(zip(SLUGS, seats, strict=True)),
        "capacity": capacity,
        "offer_hours": config.offer_hours,
    }


def _close_window(session: Session, window: dt.date) -> None:
    """The entries that do not stand are not selected, unless marked so afterwards by
    ``_mark_selected``; standing ones wait for the next draw."""
    req = AppointmentRequest
    with _page_cache(session, BULK_CACHE_KIB):
        session.execute(
            update(req)
            .where(req.window <= window, req.status == RequestStatus.PENDING.value)
            .where(req.standing.is_(False))
            .values(status=RequestStatus.NOT_SELECTED.value)
        )


@contextmanager
def _page_cache(session: Session, kib: int) -> Iterator[None]:
    """SQLite's page cache at ``kib`` on the session's connection, then back as it was.

    A bulk UPDATE that rewrites most of a large table's pages and two of its indexes takes
    about half the time when those pages stay in the cache (SQLite's default is 2 MiB).
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _mark_selected(session: Session, selected: list[int]) -> None:
    req = AppointmentRequest
    for start in range(0, len(selected), 500):
        session.execute(
            update(req)
            .where(req.id.in_(selected[start : start + 500]))
            .values(status=RequestStatus.SELECTED.value)
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
