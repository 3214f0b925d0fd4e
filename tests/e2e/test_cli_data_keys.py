"""`puerta keys data-*` and the start-up checks, run through Typer's test runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from puerta.cli import app
from puerta.config import get_settings
from puerta.datakeys.keks import b64

runner = CliRunner()
NOW = "2024-09-02T13:00:00-05:00"


@pytest.fixture
def kek_file(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "secrets" / "data-keys.json"
    monkeypatch.setenv("PUERTA_ENV", "test")
    monkeypatch.setenv("PUERTA_DATABASE_URL", database_url)
    monkeypatch.setenv("PUERTA_NOW", NOW)
    monkeypatch.setenv("PUERTA_DATA_KEY_FILE", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> Any:
    get_settings.cache_clear()
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if code == 0 and result.stdout.startswith("{") else result


class TestDataKeyCommands:
    def test_init_writes_a_private_file_once(self, kek_file: Path) -> None:
        made = run("keys", "data-init")
        assert made["file"] == str(kek_file) and kek_file.stat().st_mode & 0o777 == 0o600
        refused = run("keys", "data-init", code=2)
        assert "data_keys_exist" in refused.stderr
        assert json.loads(kek_file.read_text())[0]["id"] == made["added"]

    def test_rotate_reencrypt_and_retire_move_every_value_to_the_new_key(
        self, kek_file: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run("keys", "data-init")
        assert run("demo").exit_code == 0
        assert run("keys", "data-rotate") == {"current": 2}
        listed = run("keys", "data-list")["data_keys"]
        assert [k["id"] for k in listed] == [1, 2] and listed[0]["values"] > 0
        resealed = run("keys", "data-reencrypt", "--batch", "2")
        assert sum(resealed["resealed"].values()) == listed[0]["values"]
        assert run("keys", "data-retire")["retired"] == []  # too soon after the rotation
        monkeypatch.setenv("PUERTA_NOW", "2024-09-02T13:05:00-05:00")
        assert run("keys", "data-retire")["retired"] == [1]
        assert [k["id"] for k in run("keys", "data-list")["data_keys"]] == [2]
        assert "request in window 2024-09-02" in run("demo").stdout  # still reads its rows

    def test_rewrap_replaces_the_kek_in_the_file(self, kek_file: Path) -> None:
        first = run("keys", "data-init")["added"]
        assert run("demo").exit_code == 0
        done = run("keys", "data-rewrap")
        assert done["removed"] == [first] and done["wrapped_by"] != first
        assert [e["id"] for e in json.loads(kek_file.read_text())] == [done["wrapped_by"]]
        assert {k["kek_id"] for k in run("keys", "data-list")["data_keys"]} == {done["wrapped_by"]}
        assert run("demo").exit_code == 0


class TestProductionWithoutAKek:
    @pytest.fixture
    def production(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setenv("PUERTA_ENV", "production")
        monkeypatch.setenv("PUERTA_SECRET_KEY", "k" * 32)
        monkeypatch.setenv("PUERTA_PROOF_KEY", b64(bytes(32)))
        monkeypatch.setenv("PUERTA_DATA_KEY_FILE", str(tmp_path / "absent.json"))
        monkeypatch.setenv("PUERTA_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
        monkeypatch.delenv("PUERTA_NOW", raising=False)
        yield
        get_settings.cache_clear()

    @pytest.mark.usefixtures("production")
    @pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"]])
    def test_refuses_to_start_or_migrate(self, command: list[str]) -> None:
        result = run(*command, code=2)
        assert "data_keys_missing" in result.stderr and "Traceback" not in result.output

    @pytest.mark.usefixtures("production")
    def test_a_kek_in_the_environment_is_enough(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PUERTA_DATA_KEY", b64(bytes(range(32))))
        assert "database at revision head" in run("db", "upgrade").stdout
