"""What the fault tests share: people loaded in bulk, and `puerta` run as real processes.

The fault tests are black boxes: `puerta serve`, `puerta draw run` and `puerta jobs tick`
run as the operating system runs them, are killed with SIGKILL (their whole process group,
workers included) and started again, and the tests read the database afterwards. The people
are written straight into the tables, thousands at a time, as the draw benchmark does: going
through the API would cost seconds per hundred of them.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.engine import make_url

from puerta.accounts.service import token_hash
from puerta.accounts.tables import Account, AuthToken, Group, epoch_us
from puerta.appointments.commitments import ensure_commitment
from puerta.appointments.domain import WindowSchedule
from puerta.appointments.tables import AppointmentRequest
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import make_engine
from puerta.geo.domain import PORT_SLUGS
from puerta.runtime import Runtime, build_runtime
from tests.conftest import FAST_HASHER

PUERTA = str(Path(sys.prefix) / "bin" / "puerta")
WINDOW = dt.date(2024, 9, 2)
SCHEDULE = WindowSchedule()
OPEN = "2024-09-02T13:00:00-05:00"  # the window of WINDOW is open
AFTER_CLOSE = "2024-09-03T11:30:00-05:00"  # it has closed; its draw may run
OPEN_AT = dt.datetime.fromisoformat(OPEN)
# Never a password anyone can log in with: these people hold bearer tokens instead.
NO_PASSWORD = "$argon2id$v=19$m=65536,t=3,p=4$bm90LWEtc2FsdA$bm90LWEtcGFzc3dvcmQ"
BATCH = 5000
SERVE_SECONDS = 60


@dataclass(frozen=True)
class Person:
    """A registrant with a family group and a live bearer token."""

    account_id: int
    group_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def load_people(
    engine: Engine, count: int, *, role: str = "registrant", sizes: list[int] | None = None
) -> list[Person]:
    """``count`` accounts with a group each (no member rows: the intake reads only their
    nationalities, and without any the place alone decides) and a token valid for 30 days."""
    created = OPEN_AT - dt.timedelta(days=30)
    tag, sizes = secrets.token_hex(3), sizes or [1] * count
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    with engine.begin() as conn:
        first_account, first_group = _next_id(conn, Account), _next_id(conn, Group)
        ids = range(first_account, first_account + count)
        group_ids = range(first_group, first_group + count)
        _insert(conn, Account, [
            {"id": a, "username": f"+52 55 {tag} {a:07d}", "password_hash": NO_PASSWORD,
             "language": "es", "role": role, "created_at": created}
            for a in ids
        ])  # fmt: skip
        _insert(conn, Group, [
            {"id": g, "account_id": a, "registered_us": epoch_us(created) + g,
             "updated_at": created, "size": size, "vulnerability_approved": False}
            for g, a, size in zip(group_ids, ids, sizes, strict=True)
        ])  # fmt: skip
        _insert(conn, AuthToken, [
            {"token_hash": token_hash(t), "account_id": a, "created_at": created,
             "expires_at": created + dt.timedelta(days=60)}
            for t, a in zip(tokens, ids, strict=True)
        ])  # fmt: skip
    return [Person(a, g, t) for a, g, t in zip(ids, group_ids, tokens, strict=True)]


def _next_id(conn: Connection, table: Any) -> int:
    return int(conn.scalar(select(func.max(table.id))) or 0) + 1


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Plain executemany on SQLite (RETURNING would run row by row there), COPY on
    PostgreSQL; ids are given here, so PostgreSQL's sequence is moved past them after."""
    name, columns = table.__table__.name, list(rows[0])
    if conn.dialect.name != "postgresql":
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(table), rows[start : start + BATCH])
        return
    listed = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {name} ({listed}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
    if "id" in columns:
        last = f"(SELECT max(id) FROM {name})"
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {last})"))


def load_pending_requests(engine: Engine, count: int, *, seed: int) -> list[Person]:
    """``count`` groups of 1 to 6 persons with a pending request each in WINDOW, and the
    window's commitment: a draw's worth of entries."""
    rng = random.Random(seed)
    sizes = [rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 6)) for _ in range(count)]
    people = load_people(engine, count, sizes=sizes)
    at = OPEN_AT + dt.timedelta(minutes=5)
    rows = []
    for i, person in enumerate(people):
        ports = rng.sample(PORT_SLUGS, rng.choice((1, 2, 3)))
        rows.append(
            {"group_id": person.group_id, "account_id": person.account_id, "window": WINDOW,
             "port_1": ports[0], "port_2": ports[1] if len(ports) > 1 else None,
             "port_3": ports[2] if len(ports) > 2 else None, "status": "pending",
             "geofence_eligible": True, "geofence_state": "Baja California",
             "geofence_policy": "mx-2024-08-23", "standing": rng.random() < 0.5,
             "idempotency_key": f"load-{i}", "created_at": at}
        )  # fmt: skip
    with engine.begin() as conn:
        _insert(conn, AppointmentRequest, rows)
    commit_window(str(engine.url.render_as_string(hide_password=False)), seed=seed)
    return people


@contextmanager
def runtime_on(database_url: str, now: dt.datetime = OPEN_AT, seed: int = 7) -> Iterator[Runtime]:
    """A runtime on the database as a `puerta` process of PUERTA_ENV=test has it (the same
    test data keys open the sealed columns)."""
    settings = Settings(env="test", database_url=database_url)
    rt = build_runtime(settings, clock=FixedClock(now), rng=random.Random(seed), hasher=FAST_HASHER)
    try:
        yield rt
    finally:
        rt.engine.dispose()


def commit_window(database_url: str, *, seed: int) -> None:
    """The window's commitment, made as the first request would."""
    with runtime_on(database_url, seed=seed) as rt, rt.uow() as uow:
        ensure_commitment(uow.session, window=WINDOW, clock=rt.clock, rng=rt.rng)
        uow.commit()


def puerta_env(database_url: str, now: str = OPEN, **settings: str) -> dict[str, str]:
    """The environment of a `puerta` process: this one's without its PUERTA_* settings, a
    pinned clock and the jobs ticker off (each test ticks when it means to)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUERTA_")}
    loopback = "127.0.0.1,localhost"
    return env | {
        "PUERTA_ENV": "test", "PUERTA_DATABASE_URL": database_url, "PUERTA_NOW": now,
        "PUERTA_JOBS_INTERVAL_SECONDS": "0", "NO_PROXY": loopback, "no_proxy": loopback,
        # Every client of these tests is 127.0.0.1: the per-address limits are not the point.
        "PUERTA_RATE_LIMIT_ADDRESS_SCALE": "100000",
    } | {f"PUERTA_{k.upper()}": v for k, v in settings.items()}  # fmt: skip


def run_puerta(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """One `puerta` command to its end; its exit status and output."""
    return subprocess.run(
        [PUERTA, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def start_puerta(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """A `puerta` command in a process group of its own (so that a kill reaches all of it)."""
    return subprocess.Popen(
        [PUERTA, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def kill_group(process: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process and everything it started; reap it."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`puerta serve` on a free port, as a process group of its own."""

    def __init__(self, env: dict[str, str], *, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [PUERTA, "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + SERVE_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"puerta serve exited:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/api/v1/ports", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"puerta serve did not answer:\n{self.output()}")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read()[-4000:]

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no rollback; what the database kept, it kept."""
        if self.process.poll() is None:
            kill_group(self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            kill_group(self.process, signal.SIGTERM)
        self._log.close()


@contextmanager
def serving(env: dict[str, str], *, workers: int = 1) -> Iterator[Server]:
    server = Server(env, workers=workers)
    try:
        yield server
    finally:
        server.kill()
        server.stop()


def request_body(person: Person) -> dict[str, Any]:
    """A request naming one to three ports, chosen from the group's id (so a retry sends
    the same body)."""
    rng = random.Random(person.group_id)
    ports = rng.sample(PORT_SLUGS, rng.choice((1, 2, 3)))
    return {"ports": ports, "location": {"lat": 32.5149, "lon": -117.0382}, "standing": False}


@dataclass
class PgDatabases:
    """PostgreSQL databases of this test's own (CREATE DATABASE), dropped at the end."""

    admin_url: str

    def __post_init__(self) -> None:
        self.made: list[str] = []

    def create(self, stem: str) -> str:
        name = f"durability_{stem}_{os.getpid()}_{secrets.token_hex(3)}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.made:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = make_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()


def requests_by_group(engine: Engine) -> dict[int, list[tuple[int, str, list[str]]]]:
    """Every stored request of WINDOW: group id -> [(id, idempotency key, ports)]."""
    req = AppointmentRequest
    found: dict[int, list[tuple[int, str, list[str]]]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(req.group_id, req.id, req.idempotency_key, req.port_1, req.port_2, req.port_3)
            .where(req.window == WINDOW)
        ).all()  # fmt: skip
    for group, rid, key, *ports in rows:
        found.setdefault(group, []).append((rid, key, [p for p in ports if p]))
    return found
