"""Reading a draw's entries from the database: a fast column reader and a plain reference.

A draw reads every pending request of its window with its group's size, registration and
exception: a million rows. Handed to Python one value at a time through SQLAlchemy rows,
that cost more than all the rest of the draw (27 s of a 28 s draw, BENCHMARKS.md), so
``read_entries`` has the database pack each row into a few integers and write them all
into one text, which numpy parses. ``reference_entries`` reads the same entries row by
row, as plainly as it can be written; tests hold the two to the same answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from functools import reduce
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, Connection, Engine, Select, String, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from puerta.accounts.tables import Group
from puerta.appointments.domain import RequestStatus
from puerta.appointments.tables import AppointmentRequest
from puerta.config import DEFAULT_PORT_SEATS
from puerta.draws import entries as packing
from puerta.draws.allocation import Entries
from puerta.geo.domain import PORT_SLUGS

MEMORY = (None, "", ":memory:")  # SQLite database names private to a connection
IntRows = npt.NDArray[np.int64]

# The entries are read as two pairs of integers and joined in numpy: (request id, group id *
# PORT_FIELDS + ports) per pending request, and (group id * GROUP_FIELDS + size * 2 +
# vulnerable, registered_us) per group. The fewer the values the faster the read, and one
# scan of every group costs less than a million primary-key lookups for a join in SQL (as
# long as groups are not many times the pending requests).
PORT_FIELDS = 16**3  # three 4-bit fields, first choice lowest: port index + 1, 0 for none
GROUP_FIELDS = 2**16  # size (up to 32,767) * 2 + vulnerable


def reference_entries(session: Session, window: dt.date, reference_us: int) -> Entries:
    """The entries of ``window``'s draw read row by row: slow, plainly right."""
    req = AppointmentRequest
    rows = session.execute(
        select(req.id, Group.size, req.port_1, req.port_2, req.port_3, Group.registered_us,
               Group.vulnerability_approved)
        .join(Group, Group.id == req.group_id)
        .where(req.status == RequestStatus.PENDING.value, req.window <= window)
    ).all()  # fmt: skip
    index: dict[str | None, int] = {slug: i for i, slug in enumerate(PORT_SLUGS)}

    def column(values: list[Any]) -> IntRows:
        return np.array(values, dtype=np.int64)

    return packing.from_columns(
        ids=column([r.id for r in rows]),
        sizes=column([r.size for r in rows]),
        ports=column([[index.get(p, -1) for p in r[2:5]] for r in rows]).reshape(-1, 3),
        registered=column([r.registered_us for r in rows]),
        vulnerable=column([r.vulnerability_approved for r in rows]),
        reference_us=reference_us,
    )


def read_entries(session: Session, window: dt.date, reference_us: int) -> Entries:
    """The entries of ``window``'s draw (every pending request up to it), as columns."""
    requests = integer_rows(session, requests_query(window))
    return join(requests, integer_rows(session, groups_query()), reference_us)


def read_entries_while(
    session: Session,
    window: dt.date,
    reference_us: int,
    *,
    meanwhile: Callable[[], None],
    executor: Executor,
) -> Entries:
    """The entries as the session sees them before ``meanwhile`` runs in it.

    Where other connections see the session's data (see ``separate_reads``), the two reads
    run on them in ``executor`` while ``meanwhile`` runs; they cannot see its changes before
    the session commits. Elsewhere the reads come first, then ``meanwhile``.
    """
    engine = separate_reads(session)
    if engine is None:
        entries = read_entries(session, window, reference_us)
        meanwhile()
        return entries
    requests = executor.submit(_read_apart, engine, requests_query(window))
    groups = executor.submit(_read_apart, engine, groups_query())
    meanwhile()
    return join(requests.result(), groups.result(), reference_us)


def separate_reads(session: Session) -> Engine | None:
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


@contextmanager
def page_cache(session: Session, kib: int) -> Iterator[None]:
    """SQLite's page cache at ``kib`` on the session's connection, then back as it was.

    A bulk UPDATE that rewrites most of a large table's pages and two of its indexes takes
    about half the time when those pages stay in the cache (SQLite's default is 2 MiB).
    Other databases are left as they are.
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


def _port_index(column: Any) -> Any:
    # CASE tries its branches in order: the busiest ports (by default seats) first.
    busiest = sorted(PORT_SLUGS, key=lambda slug: -DEFAULT_PORT_SEATS.get(slug, 0))
    return case({slug: PORT_SLUGS.index(slug) for slug in busiest}, value=column, else_=-1)


def _port_fields() -> Any:
    req = AppointmentRequest
    columns = (req.port_1, req.port_2, req.port_3)
    first, second, third = ((_port_index(column) + 1) * 16**k for k, column in enumerate(columns))
    return first + second + third


def requests_query(window: dt.date) -> Select[int, int]:
    """The pending requests entered in ``window``'s draw: every one made up to that window.

    A drawn window closes its requests that do not stand, so an earlier pending one either
    stands or comes from a window whose draw never ran; both are entered here.
    """
    req = AppointmentRequest
    return select(req.id, cast(req.group_id, BigInteger) * PORT_FIELDS + _port_fields()).where(
        req.status == RequestStatus.PENDING.value, req.window <= window
    )


def groups_query() -> Select[int, int]:
    vulnerable = case((Group.vulnerability_approved, 1), else_=0)
    key = cast(Group.id, BigInteger) * GROUP_FIELDS + Group.size * 2 + vulnerable
    return select(key, Group.registered_us)


def integer_rows(db: Session | Connection, query: Select[int, int]) -> IntRows:
    """The query's rows, all integers, as an (n, columns) array.

    The database writes them into one comma-separated text, parsed by numpy. (SQLite and
    PostgreSQL cap a text at 1 GB, some 40 million rows of two values.) A row with a NULL
    drops out of the text, so the values are counted against the rows.
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


def _read_apart(engine: Engine, query: Select[int, int]) -> IntRows:
    """``integer_rows`` on a connection of its own, for another thread."""
    with engine.connect() as connection:
        return integer_rows(connection, query)


def join(requests: IntRows, groups: IntRows, reference_us: int) -> Entries:
    """The entries from the rows of ``requests_query`` and ``groups_query``, joined."""
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
