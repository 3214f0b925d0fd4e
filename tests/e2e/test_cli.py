"""The ``puerta`` command line, run through Typer's test runner on a real database."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from puerta.cli import app
from puerta.config import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PUERTA_DATABASE_URL", database_url)
    monkeypatch.setenv("PUERTA_NOW", "2024-09-02T13:00:00-05:00")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class TestGeofenceCheck:
    def test_prints_one_json_object_and_exits_0_when_eligible(self) -> None:
        result = runner.invoke(
            app, ["geofence", "check", "--lat", "31.69", "--lon", "-106.42", "--date", "2024-05-01"]
        )
        assert result.exit_code == 0
        assert json.loads(result.stdout)["state"] == "Chihuahua"

    def test_without_a_date_checks_the_clocks_day_in_the_windows_zone(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # 23:30 on 22 Aug in Chicago is already 23 Aug in UTC, when Tapachula became eligible.
        monkeypatch.setenv("PUERTA_NOW", "2024-08-22T23:30:00-05:00")
        get_settings.cache_clear()
        result = runner.invoke(app, ["geofence", "check", "--lat", "14.9", "--lon", "-92.26"])
        get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["eligible"] is False

    def test_exits_0_when_not_eligible(self) -> None:
        result = runner.invoke(
            app, ["geofence", "check", "--lat", "14.9", "--lon", "-92.26", "--date", "2024-08-22"]
        )
        assert result.exit_code == 0
        assert json.loads(result.stdout)["eligible"] is False

    def test_counts_the_nationality(self) -> None:
        args = ["geofence", "check", "--lat", "17.07", "--lon", "-96.73", "--date", "2024-09-01"]
        result = runner.invoke(app, [*args, "--nationality", "mex"])
        assert json.loads(result.stdout)["reason"] == "eligible_nationality"

    @pytest.mark.parametrize(("lat", "lon"), [("91", "0"), ("20", "-200"), ("north", "0")])
    def test_bad_coordinates_exit_2_with_a_message(self, lat: str, lon: str) -> None:
        result = runner.invoke(app, ["geofence", "check", "--lat", lat, "--lon", lon])
        assert result.exit_code == 2
        assert "invalid_coordinates" in result.stderr


@pytest.mark.usefixtures("cli_env")
class TestStaffAndCapacity:
    def test_creates_an_officer_for_a_port(self) -> None:
        result = runner.invoke(
            app,
            ["users", "create", "--username", "of@cbp.example", "--password", "long enough",
             "--role", "officer", "--port", "laredo"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["port"] == "laredo"

    @pytest.mark.parametrize(
        "extra",
        [["--role", "boss"], ["--role", "officer"], ["--role", "officer", "--port", "atlantis"]],
    )
    def test_refuses_unknown_roles_and_officers_without_a_port(self, extra: list[str]) -> None:
        base = ["users", "create", "--username", "x@cbp.example", "--password", "long enough"]
        result = runner.invoke(app, base + extra)
        assert result.exit_code == 2

    def test_plans_capacity_and_lists_it(self) -> None:
        result = runner.invoke(app, ["ports", "capacity", "nogales", "2024-09-16", "70"])
        assert result.exit_code == 0, result.output
        listed = runner.invoke(app, ["ports", "list", "--date", "2024-09-16"])
        seats = {
            json.loads(line)["slug"]: json.loads(line)["seats"]
            for line in listed.stdout.splitlines()
        }
        assert seats["nogales"] == 70

    def test_refuses_capacity_in_the_past(self) -> None:
        result = runner.invoke(app, ["ports", "capacity", "nogales", "2024-08-01", "70"])
        assert result.exit_code == 2 and "date_in_past" in result.stderr

    def test_refuses_capacity_beyond_the_horizon(self) -> None:
        result = runner.invoke(app, ["ports", "capacity", "nogales", "9999-12-31", "70"])
        assert result.exit_code == 2 and "date_too_far" in result.stderr

    def test_the_horizon_is_a_setting(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PUERTA_CAPACITY_HORIZON_DAYS", "30")
        get_settings.cache_clear()
        ok = runner.invoke(app, ["ports", "capacity", "nogales", "2024-10-02", "70"])
        assert ok.exit_code == 0, ok.output
        far = runner.invoke(app, ["ports", "capacity", "nogales", "2024-10-03", "70"])
        assert far.exit_code == 2 and "date_too_far" in far.stderr and "30 days" in far.stderr


@pytest.mark.usefixtures("cli_env")
class TestDemo:
    def test_loads_accounts_and_requests_and_is_safe_to_run_twice(self) -> None:
        first = runner.invoke(app, ["demo"])
        assert first.exit_code == 0, first.output
        assert first.stdout.count("request in window 2024-09-02") == 3
        second = runner.invoke(app, ["demo"])
        assert second.exit_code == 0, second.output
        assert second.stdout.count("request in window 2024-09-02") == 3  # replayed, not doubled

    def test_is_refused_in_production(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("PUERTA_NOW")
        monkeypatch.setenv("PUERTA_ENV", "production")
        monkeypatch.setenv("PUERTA_SECRET_KEY", "k" * 32)
        get_settings.cache_clear()
        result = runner.invoke(app, ["demo"])
        assert result.exit_code == 2 and "demo_in_production" in result.stderr


class TestDemoOnANewDatabase:
    def test_asks_for_db_upgrade_first_and_prints_no_traceback(
        self, tmp_path: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from pathlib import Path

        monkeypatch.setenv("PUERTA_DATABASE_URL", f"sqlite:///{Path(str(tmp_path)) / 'new.db'}")
        monkeypatch.setenv("PUERTA_NOW", "2024-09-02T13:00:00-05:00")
        get_settings.cache_clear()
        result = runner.invoke(app, ["demo"])
        get_settings.cache_clear()
        assert result.exit_code == 2, result.output
        assert "database_not_migrated" in result.stderr and "puerta db upgrade" in result.stderr
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
        assert result.stdout == ""


class TestDbUpgrade:
    def test_migrates_a_fresh_sqlite_file(
        self, tmp_path: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from pathlib import Path

        from sqlalchemy import inspect

        from puerta.db import make_engine

        url = f"sqlite:///{Path(str(tmp_path)) / 'fresh' / 'puerta.db'}"
        monkeypatch.setenv("PUERTA_DATABASE_URL", url)
        get_settings.cache_clear()
        result = runner.invoke(app, ["db", "upgrade"])
        get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        engine = make_engine(url)
        assert {"accounts", "groups", "appointment_requests"} <= set(
            inspect(engine).get_table_names()
        )
        engine.dispose()


@pytest.mark.usefixtures("cli_env")
class TestDrawAndJobs:
    def test_runs_verifies_and_audits_a_draw(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert runner.invoke(app, ["demo"]).exit_code == 0
        assert runner.invoke(app, ["draw", "run", "--window", "2024-09-02"]).exit_code == 2
        monkeypatch.setenv("PUERTA_NOW", "2024-09-03T11:30:00-05:00")
        get_settings.cache_clear()
        ran = runner.invoke(app, ["draw", "run", "--window", "2024-09-02"])
        assert ran.exit_code == 0, ran.output
        record = json.loads(ran.stdout)
        assert record["entries"] == 3 and "secret" not in record
        verified = runner.invoke(app, ["draw", "verify", "--window", "2024-09-02"])
        assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"] is True
        ticked = json.loads(runner.invoke(app, ["jobs", "tick"]).stdout)
        assert ticked["notifications_sent"] == 3
        audited = runner.invoke(app, ["audit", "verify"])
        assert audited.exit_code == 0 and json.loads(audited.stdout)["ok"] is True

    def test_a_caseworker_needs_an_organization_that_exists(self) -> None:
        base = ["users", "create", "--username", "cw2@ngo.example", "--password", "long enough",
                "--role", "caseworker"]  # fmt: skip
        alone = runner.invoke(app, base)
        assert alone.exit_code == 2 and "caseworker_needs_organization" in alone.stderr
        unknown = runner.invoke(app, [*base, "--organization", "nowhere"])
        assert unknown.exit_code == 2 and "unknown_organization" in unknown.stderr
        twice = [runner.invoke(app, ["orgs", "create", "--slug", "ngo2", "--name", "N"])
                 for _ in range(2)]  # fmt: skip
        assert twice[1].exit_code == 2 and "organization_taken" in twice[1].stderr
        bad = runner.invoke(app, ["orgs", "create", "--slug", "Not A Slug", "--name", "N"])
        assert bad.exit_code == 2 and "invalid_organization" in bad.stderr

    def test_draw_errors_exit_2_with_their_code(self) -> None:
        result = runner.invoke(app, ["draw", "verify", "--window", "2024-01-01"])
        assert result.exit_code == 2 and "no_draw" in result.stderr

    def test_changes_a_role_and_audits_it(self) -> None:
        org = runner.invoke(app, ["orgs", "create", "--slug", "ngo", "--name", "An NGO"])
        assert org.exit_code == 0 and json.loads(org.stdout)["slug"] == "ngo"
        created = runner.invoke(
            app,
            ["users", "create", "--username", "cw@ngo.example", "--password", "long enough",
             "--role", "caseworker", "--organization", "ngo"],
        )  # fmt: skip
        assert created.exit_code == 0
        assert json.loads(created.stdout)["organization_id"] == json.loads(org.stdout)["id"]
        changed = runner.invoke(
            app, ["users", "role", "--username", "cw@ngo.example", "--role", "officer",
                  "--port", "nogales"],
        )  # fmt: skip
        assert changed.exit_code == 0 and json.loads(changed.stdout)["port"] == "nogales"
        unknown = runner.invoke(app, ["users", "role", "--username", "x@y.org", "--role", "admin"])
        assert unknown.exit_code == 2 and "not_found" in unknown.stderr
