"""The draw's fast column reader against the plain reference reader, on real databases.

Populations are written straight into the tables (any ids, sizes up to the packed field's
limit, every request status, windows before and after the drawn one), so that the bit
packing, the casts and the join are tried on what the services would never produce.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Engine,
    create_engine,
    delete,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session

from puerta.accounts.tables import Account, Group
from puerta.appointments.domain import RequestStatus
from puerta.appointments.tables import AppointmentRequest
from puerta.db import Base, make_engine
from puerta.draws import readers
from puerta.draws.allocation import Entries

WINDOW = dt.date(2024, 9, 2)
REFERENCE_US = 1_725_296_400_000_000  # 2024-09-02 12:00 Chicago
AT = dt.datetime(2024, 9, 2, 18, 0, tzinfo=dt.UTC)
MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER
MAX_SIZE = 32_767  # the largest group the column reader packs (readers.GROUP_FIELDS)
# The limits of the packed fields come up often, not only when chance reaches them.
IDS = st.one_of(st.integers(1, MAX_ID), st.integers(MAX_ID - 3, MAX_ID))
SIZES = st.one_of(st.integers(0, 12), st.integers(MAX_SIZE - 3, MAX_SIZE), st.integers(0, MAX_SIZE))


@dataclass(frozen=True)
class Family:
    id: int
    size: int
    vulnerable: bool
    registered_us: int


@dataclass(frozen=True)
class Ask:
    id: int
    group_id: int
    window: dt.date
    ports: tuple[str | None, str | None, str | None]
    status: str
    standing: bool


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[Family], list[Ask]]:
    ids = draw(st.lists(IDS, max_size=8, unique=True))
    families = [
        Family(i, draw(SIZES), draw(st.booleans()),
               draw(st.integers(-(2**55), 2**55)))
        for i in ids
    ]  # fmt: skip
    keys = st.tuples(st.sampled_from(ids), st.integers(-3, 2)) if ids else st.nothing()
    # One live request a group and day, as the unique index wants.
    slots = draw(st.lists(keys, max_size=16 if ids else 0, unique=True))
    request_ids = draw(st.lists(IDS, min_size=len(slots), max_size=len(slots), unique=True))
    asks = []
    for request_id, (group_id, day) in zip(request_ids, slots, strict=True):
        named = draw(
            st.lists(st.sampled_from(readers.PORT_SLUGS), min_size=1, max_size=3, unique=True)
        )
        ports = (named + [None, None])[:3]
        status = draw(st.sampled_from([s.value for s in RequestStatus]))
        window = WINDOW + dt.timedelta(days=day)
        asks.append(Ask(request_id, group_id, window, (ports[0], ports[1], ports[2]), status,
                        draw(st.booleans())))  # fmt: skip
    return families, asks


def rows(family: Family) -> tuple[dict[str, object], dict[str, object]]:
    """The account and the group row of a family (its account has the group's id)."""
    account = {"id": family.id, "username": f"u{family.id}", "password_hash": "-",
               "language": "es", "created_at": AT}  # fmt: skip
    group = {"id": family.id, "account_id": family.id, "registered_us": family.registered_us,
             "size": family.size, "vulnerability_approved": family.vulnerable,
             "updated_at": AT}  # fmt: skip
    return account, group


def request_row(ask: Ask) -> dict[str, object]:
    return {"id": ask.id, "group_id": ask.group_id, "account_id": ask.group_id,
            "window": ask.window, "port_1": ask.ports[0], "port_2": ask.ports[1],
            "port_3": ask.ports[2], "status": ask.status, "standing": ask.standing,
            "geofence_eligible": True, "idempotency_key": f"k{ask.id}",
            "created_at": AT}  # fmt: skip


def store(engine: Engine, families: list[Family], asks: list[Ask]) -> None:
    """Only these families and requests in the database, committed."""
    with Session(engine) as session:
        for table in (AppointmentRequest, Group, Account):
            session.execute(delete(table))
        pairs = [rows(family) for family in families]
        for table, values in (
            (Account, [a for a, _ in pairs]),
            (Group, [g for _, g in pairs]),
            (AppointmentRequest, [request_row(ask) for ask in asks]),
        ):
            if values:
                session.execute(insert(table), values)
        session.commit()


def assert_same(got: Entries, expected: Entries) -> None:
    for name in ("ids", "sizes", "ports", "registered", "days", "vulnerable"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)
        assert getattr(got, name).dtype == getattr(expected, name).dtype, name


def withdraw_all(session: Session) -> Callable[[], None]:
    """A change the reads must not see: every request withdrawn, in the session."""
    return lambda: session.execute(
        update(AppointmentRequest).values(status=RequestStatus.WITHDRAWN.value)
    )


def read_while(session: Session, meanwhile: Callable[[], None]) -> Entries:
    with ThreadPoolExecutor(max_workers=2) as executor:
        return readers.read_entries_while(
            session, WINDOW, REFERENCE_US, meanwhile=meanwhile, executor=executor
        )


def assert_every_reader_agrees(session: Session) -> Entries:
    expected = readers.reference_entries(session, WINDOW, REFERENCE_US)
    assert_same(readers.read_entries(session, WINDOW, REFERENCE_US), expected)
    assert_same(read_while(session, withdraw_all(session)), expected)
    session.rollback()
    return expected


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


class TestReadEntries:
    @settings(
        max_examples=40, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )  # fmt: skip
    @given(population=populations())
    def test_the_column_reader_returns_what_the_reference_reader_does(
        self, engine: Engine, population: tuple[list[Family], list[Ask]]
    ) -> None:
        store(engine, *population)
        with Session(engine) as session:
            entries = assert_every_reader_agrees(session)
        families, asks = population
        registered = {f.id: f.registered_us for f in families}
        entered = sorted(a.id for a in asks if a.status == "pending" and a.window <= WINDOW)
        assert entries.ids.tolist() == entered
        assert entries.registered.tolist() == [
            registered[a.group_id] for a in sorted(asks, key=lambda a: a.id) if a.id in entered
        ]

    def test_a_window_with_no_pending_request_has_no_entries(self, engine: Engine) -> None:
        store(engine, [Family(1, 2, False, 0)], [])
        with Session(engine) as session:
            assert len(assert_every_reader_agrees(session)) == 0

    def test_reads_run_on_connections_of_their_own_where_they_see_the_same_data(
        self, engine: Engine
    ) -> None:
        with Session(engine) as session:
            assert readers.separate_reads(session) is engine

    def test_a_row_with_a_null_is_refused_rather_than_misread(self, engine: Engine) -> None:
        query = select(literal(1, BigInteger), null())
        with Session(engine) as session, pytest.raises(RuntimeError, match="0 values from 1"):
            readers.integer_rows(session, query)


class TestReadsInOneConnection:
    """Where other connections would not see the session's data, the reads come first."""

    def _agrees_in_one_connection(self, engine: Engine, session: Session) -> None:
        Base.metadata.create_all(engine)
        store_in(session)
        assert readers.separate_reads(session) is None
        expected = readers.reference_entries(session, WINDOW, REFERENCE_US)
        assert len(expected) == 2
        assert_same(read_while(session, withdraw_all(session)), expected)
        assert len(readers.reference_entries(session, WINDOW, REFERENCE_US)) == 0

    def test_sqlite_in_memory(self) -> None:
        engine = make_engine("sqlite:///:memory:")
        with Session(engine) as session:
            self._agrees_in_one_connection(engine, session)
        engine.dispose()

    def test_sqlite_out_of_wal_mode(self, tmp_path: Path) -> None:
        engine = create_engine(f"sqlite:///{tmp_path / 'rollback-journal.db'}")
        with Session(engine) as session:
            self._agrees_in_one_connection(engine, session)
        engine.dispose()

    def test_a_session_bound_to_one_connection(self, engine: Engine) -> None:
        with engine.connect() as connection, Session(bind=connection) as session:
            self._agrees_in_one_connection(engine, session)


def store_in(session: Session) -> None:
    """Two pending requests of two groups, in the session's transaction (not committed)."""
    for table in (AppointmentRequest, Group, Account):
        session.execute(delete(table))
    for i in (1, 2):
        session.add(Account(id=i, username=f"u{i}", password_hash="-", language="es",
                            created_at=AT))  # fmt: skip
        session.add(Group(id=i, account_id=i, registered_us=i, size=i, updated_at=AT))
        session.flush()
        session.add(AppointmentRequest(
            id=10 + i, group_id=i, account_id=i, window=WINDOW, port_1="laredo", status="pending",
            standing=False, geofence_eligible=True, idempotency_key="k", created_at=AT,
        ))  # fmt: skip
    session.flush()


class TestPageCache:
    def test_sqlite_s_cache_is_enlarged_for_the_block_then_put_back(self, engine: Engine) -> None:
        with Session(engine) as session:
            connection = session.connection()
            if connection.dialect.name != "sqlite":
                pytest.skip("a PRAGMA of SQLite's")
            before = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
            with pytest.raises(KeyError), readers.page_cache(session, 4096):
                assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == -4096
                raise KeyError("the block failed")
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar_one() == before

    def test_other_databases_run_the_block_as_they_are(self, engine: Engine) -> None:
        with Session(engine) as session:
            if session.connection().dialect.name == "sqlite":
                pytest.skip("SQLite's cache is changed")
            with readers.page_cache(session, 4096):
                assert session.scalar(select(literal(1))) == 1


class TestJoin:
    def test_a_request_whose_group_is_gone_is_left_out_as_an_inner_join_would(self) -> None:
        fields = readers.PORT_FIELDS
        requests = np.array([[5, 7 * fields + 1], [6, 8 * fields + 2]], dtype=np.int64)
        groups = np.array([[7 * readers.GROUP_FIELDS + 3 * 2 + 1, 42]], dtype=np.int64)
        entries = readers.join(requests, groups, REFERENCE_US)
        assert entries.ids.tolist() == [5]
        assert entries.sizes.tolist() == [3] and entries.vulnerable.tolist() == [True]
        assert entries.ports.tolist() == [[0, -1, -1]] and entries.registered.tolist() == [42]
