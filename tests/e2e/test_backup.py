"""`puerta db backup` and `puerta db restore` while requests keep arriving, on SQLite (the
online backup API) and, with PUERTA_TEST_DATABASE_URL, PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from puerta.audit.service import verify_chain
from puerta.cli import app
from puerta.config import get_settings
from puerta.db import make_engine
from puerta.migrate import upgrade
from tests.conftest import PG_URL
from tests.e2e.fault_helpers import (
    Person,
    PgDatabases,
    Server,
    load_people,
    puerta_env,
    request_body,
    requests_by_group,
    run_puerta,
    runtime_on,
    serving,
)

pytestmark = pytest.mark.xdist_group("faults")

GROUPS = 400
BEFORE = 40  # requests answered before the backup starts


@pytest.fixture
def pg() -> Iterator[PgDatabases]:
    if not PG_URL:
        pytest.skip("PostgreSQL: set PUERTA_TEST_DATABASE_URL (CI does) to run this on it")
    databases = PgDatabases(PG_URL)
    yield databases
    databases.drop_all()


Prepared = tuple[str, str, list[Person]]


@pytest.fixture(params=["sqlite", "postgresql"])
def prepared(request: pytest.FixtureRequest, tmp_path: Path) -> Prepared:
    """A migrated database with people in it, and the URL of a new one to restore into."""
    if request.param == "sqlite":
        live, target = f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'new/p.db'}"
    else:
        pg = request.getfixturevalue("pg")
        live, target = pg.create("live"), pg.create("restored")
    upgrade(live)
    engine = make_engine(live)
    people = load_people(engine, GROUPS)
    engine.dispose()
    return live, target, people


class Intake:
    """A client thread that keeps making requests, one group after another, until told."""

    def __init__(self, server: Server, people: list[Person]) -> None:
        self.answered: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(server, people))
        self._thread.start()

    def _run(self, server: Server, people: list[Person]) -> None:
        with server.client() as client:
            for person in people:
                if self.stop.is_set():
                    return
                headers = person.headers | {"Idempotency-Key": f"b-{person.group_id}"}
                answer = client.post("/api/v1/requests", json=request_body(person), headers=headers)
                assert answer.status_code == 201, answer.text
                self.answered.append(answer.json() | {"group": person.group_id})

    def wait_for(self, count: int) -> None:
        while len(self.answered) < count:
            assert self._thread.is_alive(), "the intake stopped"
            self._thread.join(timeout=0.01)

    def finish(self) -> None:
        self.stop.set()
        self._thread.join(timeout=60)


def schema_of(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        found = inspect(engine)
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        tables = {
            name: sorted(c["name"] for c in found.get_columns(name))
            for name in found.get_table_names()
        }
        return {"revision": revision, "tables": tables}
    finally:
        engine.dispose()


class TestBackupWhileServing:
    def test_a_restored_backup_migrates_verifies_and_holds_every_request_made_before_it(
        self, prepared: Prepared, tmp_path: Path
    ) -> None:
        live, target, people = prepared
        backup_file = tmp_path / "puerta.backup"
        with serving(puerta_env(live)) as server:
            intake = Intake(server, people)
            intake.wait_for(BEFORE)
            before = list(intake.answered)  # all answered before the backup starts
            made = run_puerta(["db", "backup", str(backup_file)], puerta_env(live))
            during = len(intake.answered) - len(before)
            intake.finish()
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["bytes"] == backup_file.stat().st_size > 0
        assert during > 0 or len(intake.answered) == GROUPS, "no request arrived during it"
        restored = run_puerta(["db", "restore", str(backup_file)], puerta_env(target))
        assert restored.returncode == 0, restored.stderr
        schema = schema_of(target)
        upgraded = run_puerta(["db", "upgrade"], puerta_env(target))
        assert upgraded.returncode == 0, upgraded.stderr
        assert schema_of(target) == schema == schema_of(live)  # already at head: a no-op
        with runtime_on(target) as rt:
            assert verify_chain(uow=rt.uow()).ok
            stored = requests_by_group(rt.engine)
        for answer in before:
            rows = stored.get(answer["group"], [])
            assert [(rid, ports) for rid, _, ports in rows] == [(answer["id"], answer["ports"])]
        assert len(before) <= sum(map(len, stored.values())) <= len(intake.answered)


runner = CliRunner()


@pytest.fixture
def cli_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    monkeypatch.setenv("PUERTA_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    yield url
    get_settings.cache_clear()


class TestRefusals:
    def test_a_backup_never_overwrites_a_file(self, cli_on: str, tmp_path: Path) -> None:
        there = tmp_path / "there.backup"
        there.write_bytes(b"keep me")
        result = runner.invoke(app, ["db", "backup", str(there)])
        assert result.exit_code == 2 and "backup_exists" in result.stderr
        assert there.read_bytes() == b"keep me"

    def test_a_restore_into_a_database_with_tables_is_refused(
        self, cli_on: str, tmp_path: Path
    ) -> None:
        copy = tmp_path / "copy.backup"
        assert runner.invoke(app, ["db", "backup", str(copy)]).exit_code == 0
        result = runner.invoke(app, ["db", "restore", str(copy)])
        assert result.exit_code == 2 and "restore_target_not_empty" in result.stderr

    def test_a_file_that_is_no_backup_is_refused(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PUERTA_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
        get_settings.cache_clear()
        junk = tmp_path / "junk.backup"
        junk.write_bytes(b"not a database" * 100)
        result = runner.invoke(app, ["db", "restore", str(junk)])
        get_settings.cache_clear()
        assert result.exit_code == 2 and "not_a_backup" in result.stderr
