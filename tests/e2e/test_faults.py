"""Nothing lost: `puerta serve` and `puerta draw run` killed with SIGKILL mid-work, then
started again, on SQLite and (with PUERTA_TEST_DATABASE_URL) PostgreSQL.

Black boxes: real processes over real HTTP; the tests read the database afterwards.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import random
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, text

from puerta.appointments.rules import AppointmentStatus
from puerta.appointments.tables import Appointment, AppointmentRequest
from puerta.audit.service import verify_chain
from puerta.audit.tables import AuditEvent
from puerta.db import Base, make_engine
from puerta.draws.service import verify_draw
from puerta.draws.tables import Draw
from tests.conftest import PG_URL
from tests.e2e.fault_helpers import (
    AFTER_CLOSE,
    WINDOW,
    Person,
    Server,
    kill_group,
    load_pending_requests,
    load_people,
    puerta_env,
    request_body,
    requests_by_group,
    run_puerta,
    runtime_on,
    serving,
    start_puerta,
)

pytestmark = pytest.mark.xdist_group("faults")

BURST_GROUPS = 240
CLIENTS = 12
DRAW_ENTRIES = 20_000
KILLS = 2
RACE_ENTRIES = 4_000


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


# --- kill -9 during a burst of requests ---------------------------------------------------


@dataclass
class Burst:
    """What the clients saw: the 201s answered, and the requests that got no answer."""

    answered: dict[int, dict[str, Any]] = field(default_factory=dict)
    unanswered: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def post(client: httpx.Client, person: Person) -> httpx.Response:
    headers = person.headers | {"Idempotency-Key": f"burst-{person.group_id}"}
    return client.post("/api/v1/requests", json=request_body(person), headers=headers)


def burst(server: Server, people: list[Person], seen: Burst, stop: threading.Event) -> None:
    """CLIENTS clients send one request per group, at once, until ``stop`` or none is left."""
    todo: queue.SimpleQueue[Person] = queue.SimpleQueue()
    for person in people:
        todo.put(person)

    def client_loop() -> None:
        with server.client() as client:
            while not stop.is_set():
                try:
                    person = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    answer = post(client, person)
                except httpx.HTTPError:
                    with seen.lock:
                        seen.unanswered.add(person.group_id)
                    continue
                assert answer.status_code == 201, answer.text
                with seen.lock:
                    seen.answered[person.group_id] = answer.json()

    threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def kill_when_answered(server: Server, seen: Burst, count: int, stop: threading.Event) -> None:
    deadline = time.monotonic() + 60
    while len(seen.answered) < count and time.monotonic() < deadline:
        time.sleep(0.002)
    server.kill()
    stop.set()


class TestKillDuringABurst:
    def test_every_answered_request_survives_and_retries_never_make_a_second(
        self, database_url: str, engine: Engine
    ) -> None:
        people = load_people(engine, BURST_GROUPS)
        env = puerta_env(database_url)
        seen, stop = Burst(), threading.Event()
        kill_at = random.randint(BURST_GROUPS // 5, BURST_GROUPS // 2)
        with serving(env, workers=2) as server:
            killer = threading.Thread(target=kill_when_answered, args=(server, seen, kill_at, stop))
            killer.start()
            burst(server, people, seen, stop)
            killer.join()
        assert len(seen.answered) >= kill_at
        self._check_answered_are_stored(engine, seen)
        with serving(env) as again:
            retried = self._retry_everyone(again, people)
        stored = requests_by_group(engine)
        assert {g: len(rows) for g, rows in stored.items() if len(rows) != 1} == {}
        assert set(stored) == {p.group_id for p in people}
        for person in people:
            ((rid, key, ports),) = stored[person.group_id]
            assert retried[person.group_id]["id"] == rid
            assert (key, ports) == (f"burst-{person.group_id}", request_body(person)["ports"])
            if person.group_id in seen.answered:
                assert seen.answered[person.group_id] == retried[person.group_id]

    @staticmethod
    def _check_answered_are_stored(engine: Engine, seen: Burst) -> None:
        stored = requests_by_group(engine)
        for group, answer in seen.answered.items():
            assert [(rid, ports) for rid, _, ports in stored.get(group, [])] == [
                (answer["id"], answer["ports"])
            ], f"group {group}: answered 201 {answer}, stored {stored.get(group)}"

    @staticmethod
    def _retry_everyone(server: Server, people: list[Person]) -> dict[int, dict[str, Any]]:
        """Each group's request sent again with its key (the first time for some)."""
        seen = Burst()
        burst(server, people, seen, threading.Event())
        assert not seen.unanswered
        return seen.answered


# --- kill -9 during a draw ----------------------------------------------------------------


class Database:
    """The draw's database on SQLite or PostgreSQL (a schema of its own), and whether a
    process is part-way through writing to it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = not url.startswith("sqlite")

    def writing(self, app: str) -> bool:
        """Whether the process named ``app`` holds an open write transaction."""
        if not self.pg:
            probe = sqlite3.connect(self.url.split("///", 1)[1], timeout=0)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.rollback()
                return False
            except sqlite3.OperationalError:
                return True
            finally:
                probe.close()
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                found = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
                         "AND backend_xid IS NOT NULL"),
                    {"app": app},
                ).scalar()  # fmt: skip
            return bool(found)
        finally:
            engine.dispose()


def draw_env(url: str, app: str) -> dict[str, str]:
    return puerta_env(url, AFTER_CLOSE) | {"PGAPPNAME": app}


def timed_draw(url: str) -> tuple[dict[str, Any], float]:
    """A clean `puerta draw run`: its record, and the seconds from its first write to its
    last (its commit)."""
    watch, app = Database(url), f"puerta-clean-{secrets.token_hex(4)}"
    process = start_puerta(["draw", "run", "--window", WINDOW.isoformat()], draw_env(url, app))
    began = last = None
    while process.poll() is None:
        if watch.writing(app):
            began, last = began or time.monotonic(), time.monotonic()
        time.sleep(0.002)
    out, err = process.communicate()
    assert process.returncode == 0 and began is not None and last is not None, err
    return json.loads(out), last - began


def kill_part_way(db: Database, upto: float) -> None:
    """Start the draw, wait for its first write, SIGKILL it at a random point of the next
    ``upto`` seconds."""
    app = f"puerta-killed-{secrets.token_hex(4)}"
    process = start_puerta(["draw", "run", "--window", WINDOW.isoformat()], draw_env(db.url, app))
    deadline = time.monotonic() + 60
    while not db.writing(app):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the draw never wrote"
        time.sleep(0.002)
    time.sleep(random.uniform(0, upto))
    kill_group(process)


def killed_before_commit(db: Database, upto: float) -> bool:
    kill_part_way(db, upto)
    return bool(outcome(db.url)["draws"] == [])


def outcome(url: str) -> dict[str, Any]:
    """Everything a draw decides: its record, its offers and the requests' statuses."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            offers = conn.execute(
                select(Appointment.request_id, Appointment.group_id, Appointment.port,
                       Appointment.share, Appointment.persons, Appointment.status)
                .order_by(Appointment.request_id)
            ).all()  # fmt: skip
            statuses = conn.execute(
                select(AppointmentRequest.status, func.count()).group_by(AppointmentRequest.status)
            ).all()
            draws = conn.execute(select(Draw.entries_digest, Draw.seed, Draw.summary)).all()
        return {"offers": [tuple(o) for o in offers], "statuses": dict(statuses),
                "draws": [tuple(d) for d in draws]}  # fmt: skip
    finally:
        engine.dispose()


def check_no_seat_given_twice(result: dict[str, Any], record: dict[str, Any]) -> None:
    groups = [o[1] for o in result["offers"] if o[5] == AppointmentStatus.OFFERED.value]
    assert len(groups) == len(set(groups)) == record["summary"]["groups_selected"]
    persons: dict[str, int] = {}
    for _, _, port, _, count, _ in result["offers"]:
        persons[port] = persons.get(port, 0) + count
    seats = record["params"]["seats"]
    assert {p: n for p, n in persons.items() if n > seats[p]} == {}


@pytest.fixture
def pg_schemas() -> Iterator[list[str]]:
    """Schemas of this test's own in PUERTA_TEST_DATABASE_URL's database, dropped after."""
    made: list[str] = []
    yield made
    if not made:  # a SQLite run, or one that failed before making any
        return
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        for schema in made:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def pg_schema(made: list[str], stem: str) -> str:
    schema = f"durability_{stem}_{os.getpid()}_{secrets.token_hex(3)}"
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    made.append(schema)
    return PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}"


@dataclass
class DrawSetup:
    """A clean database with a window's entries, and more like it on demand."""

    clean_url: str
    fresh: Callable[[], Database]


@pytest.fixture(params=["sqlite", "postgresql"])
def draw_setup(request: pytest.FixtureRequest, tmp_path: Path, pg_schemas: list[str]) -> DrawSetup:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL: set PUERTA_TEST_DATABASE_URL (CI does) to run this on it")
    made = itertools.count()
    if request.param == "postgresql":

        def loaded() -> Database:
            url = pg_schema(pg_schemas, f"draw{next(made)}")
            _load_entries(url)  # the same seed each time: the same rows, ids and secret
            return Database(url)

        return DrawSetup(loaded().url, loaded)
    pristine = tmp_path / "pristine.db"
    _load_entries(f"sqlite:///{pristine}")

    def copied() -> Database:
        copy = tmp_path / f"draw{next(made)}.db"
        with sqlite3.connect(pristine) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        return Database(f"sqlite:///{copy}")

    return DrawSetup(copied().url, copied)


def _load_entries(url: str) -> None:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    load_pending_requests(engine, DRAW_ENTRIES, seed=12)
    engine.dispose()


class TestKillDuringADraw:
    def test_the_draw_run_again_allocates_as_a_clean_run_and_gives_no_seat_twice(
        self, draw_setup: DrawSetup
    ) -> None:
        clean_record, write_seconds = timed_draw(draw_setup.clean_url)
        # Killed KILLS times, each at a random point before the commit; a busy machine can
        # make a run much faster than the clean one, so a kill that came too late (the draw
        # was stored) is tried again on a fresh copy, sooner.
        for share in (0.6, 0.3, 0.1):
            db = draw_setup.fresh()
            if all(killed_before_commit(db, share * write_seconds) for _ in range(KILLS)):
                break
        else:
            pytest.fail("every kill came after the draw had committed")
        again = run_puerta(["draw", "run", "--window", WINDOW.isoformat()], draw_env(db.url, "x"))
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout) == clean_record
        result, clean = outcome(db.url), outcome(draw_setup.clean_url)
        assert result == clean and result["offers"]
        check_no_seat_given_twice(result, clean_record)
        with runtime_on(db.url) as rt:
            assert verify_draw(uow=rt.uow(), schedule=rt.schedule, window=WINDOW).ok
            assert verify_chain(uow=rt.uow()).ok


# --- two servers asked to run one draw at once --------------------------------------------


class TestTwoServersOneDraw:
    def test_two_servers_asked_at_once_run_exactly_one_draw(
        self, database_url: str, engine: Engine
    ) -> None:
        load_pending_requests(engine, RACE_ENTRIES, seed=5)
        (admin,) = load_people(engine, 1, role="admin")
        env = puerta_env(database_url, AFTER_CLOSE)
        with serving(env) as one, serving(env) as two:
            answers = at_once([one, two], admin)
        assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Draw)) == 1
            offers = conn.scalar(select(func.count()).select_from(Appointment))
            runs = conn.scalar(select(func.count()).where(AuditEvent.kind == "draw_run"))
        assert offers == answers[0].json()["summary"]["groups_selected"] > 0
        assert runs == 1


def at_once(servers: list[Server], admin: Person) -> list[httpx.Response]:
    start = threading.Barrier(len(servers))
    answers: list[Any] = [None] * len(servers)

    def ask(i: int) -> None:
        with servers[i].client(timeout=120) as client:
            start.wait()
            answers[i] = client.post(
                "/api/v1/draws", json={"window": WINDOW.isoformat()}, headers=admin.headers
            )

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers
