"""Shared fixtures: a database per test (SQLite, and PostgreSQL when configured), a pinned
clock, a fast password hasher, the app and an HTTP client."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text

import puerta.models  # noqa: F401  (registers every table)
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.runtime import Runtime, build_runtime
from puerta.web.app import create_app

PG_URL = os.environ.get("PUERTA_TEST_DATABASE_URL", "")
# 13:00 Chicago on 2 Sep 2024: the window of 2024-09-02 is open, after the Aug 2024 policy.
OPEN_INSTANT = dt.datetime(2024, 9, 2, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# No Hypothesis deadline and no "too slow" health check for any test: both are wall-clock
# assertions, and on a busy 2-core machine (or traced by mutmut) a database round-trip can
# take longer than 200 ms and a large population longer than a second to generate.
hypothesis_settings.register_profile(
    "puerta", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("puerta")

_pg_engines: dict[str, Engine] = {}


def _postgres_url(worker: str) -> str:
    """One schema per test process, created once, emptied between tests.

    The process id keeps two test runs on one database (a developer's and a helper's, say)
    out of each other's tables; the schema is dropped when the process ends.
    """
    schema = f"puerta_test_{worker}_{os.getpid()}"
    if worker not in _pg_engines:
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        Base.metadata.create_all(engine)
        _pg_engines[worker] = engine
        atexit.register(_drop_schema, engine, schema)
    engine = _pg_engines[worker]
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}"


def _drop_schema(engine: Engine, schema: str) -> None:
    engine.dispose()
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut (`make mutation`, which sets MUTANT_UNDER_TEST), let a Hypothesis method
    run in several sessions: mutmut runs the suite many times in one process, and pytest's
    fresh instance of the test class each time looks to Hypothesis like another executor."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    for item in items:
        test = getattr(getattr(item, "obj", None), "__func__", None)
        current = getattr(test, "_hypothesis_internal_use_settings", None)
        if current is not None:
            quiet = {*current.suppress_health_check, HealthCheck.differing_executors}
            test._hypothesis_internal_use_settings = hypothesis_settings(  # type: ignore[union-attr]
                current, suppress_health_check=list(quiet)
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'puerta.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        return url
    if not PG_URL:
        pytest.skip("PostgreSQL: set PUERTA_TEST_DATABASE_URL (CI does) to run this on it")
    return _postgres_url(worker_id)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(OPEN_INSTANT)


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Tokens outlive a whole window here, so tests can move the clock without logging in again.
    return Settings(env="test", database_url=database_url, token_ttl_hours=72)


@pytest.fixture
def runtime(settings: Settings, clock: FixedClock) -> Iterator[Runtime]:
    rt = build_runtime(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.runtime.engine.dispose()
