"""docs/operations.md states the durability settings the code sets, and the new commands."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from puerta.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
DB = (ROOT / "src" / "puerta" / "db.py").read_text(encoding="utf-8")


def _pragma(name: str) -> str:
    found = re.findall(rf'PRAGMA {name}=(\w+)"', DB)
    assert len(found) == 1, found
    return found[0]


class TestOperationsDoc:
    def test_states_the_journal_mode_and_synchronous_level_db_py_sets(self) -> None:
        for name in ("journal_mode", "synchronous"):
            assert f"| `{name}` | `{_pragma(name)}` |" in DOC

    def test_marks_the_level_puerta_runs_in_the_table_of_levels(self) -> None:
        assert f"| `{_pragma('synchronous')}` (puerta) |" in DOC
        assert DOC.count("(puerta) |") == 1

    def test_is_linked_from_the_readme_with_the_new_commands(self) -> None:
        assert "docs/operations.md" in README
        for command in ("puerta db backup PATH", "puerta db restore PATH"):
            assert f".venv/bin/{command}" in README

    def test_names_every_refusal_of_the_backup_commands(self) -> None:
        from puerta import backup

        errors = [backup.BackupExists, backup.NoDatabase, backup.NotABackup,
                  backup.RestoreTargetNotEmpty, backup.BackupToolMissing,
                  backup.BackupFailed]  # fmt: skip
        for error in errors:
            assert f"`{error.code}`" in DOC

    def test_the_commands_it_names_exist(self) -> None:
        for args in (["db", "backup", "--help"], ["db", "restore", "--help"]):
            assert CliRunner().invoke(app, args).exit_code == 0
