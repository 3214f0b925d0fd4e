"""Backups and restores of the database (``puerta db backup PATH``, ``puerta db restore PATH``).

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the file in one step
under a read transaction, so the copy is the database as one commit left it, while requests
keep arriving (in WAL mode readers never block the writer). The copy is written beside its
destination, checked (``PRAGMA integrity_check``), made a single self-contained file (rollback
journal, no ``-wal``), flushed to disk and only then renamed into place.

PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot) and ``pg_restore
--single-transaction`` (all or nothing) into a new, empty database, run with the URL's
connection settings; the password, if any, goes in PGPASSWORD, never on the command line.
docs/operations.md has the commands, and what a restore needs besides the database: the key
files, which are never in it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from puerta.db import make_engine
from puerta.errors import Conflict, DomainError, Invalid

# Tables a backup of puerta holds whatever its version: the schema's revision and the log.
_MARKERS = {"alembic_version", "audit_events"}


class BackupExists(Conflict):
    code = "backup_exists"
    message = "There is already a file at {path}: a backup never overwrites one."


class NoDatabase(Invalid):
    code = "no_database"
    message = "There is no database at {path} to back up."


class NotABackup(Invalid):
    code = "not_a_backup"
    message = "{path} is not a backup of a puerta database made by `puerta db backup`."


class RestoreTargetNotEmpty(Conflict):
    code = "restore_target_not_empty"
    message = "The database to restore into is not empty: restore into a new one."


class BackupToolMissing(DomainError):
    code = "backup_tool_missing"
    status = 503
    message = "{tool} was not found: install PostgreSQL's client programs (postgresql-client)."


class BackupFailed(DomainError):
    code = "backup_failed"
    status = 500
    message = "{tool} failed with exit status {status}; nothing was replaced."


@dataclass(frozen=True)
class BackupReport:
    """What was written or restored, and how (the command run, for PostgreSQL)."""

    database: str
    path: str
    bytes: int
    command: str | None = None


def backup(*, database_url: str, path: Path) -> BackupReport:
    """Copy the database to ``path`` (which must not exist) while it keeps serving."""
    if path.exists():
        raise BackupExists(path=str(path))
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_backup(_sqlite_file(url), path)
        return BackupReport("sqlite", str(path), path.stat().st_size)
    partial = _partial(path)
    command = ["pg_dump", "--format=custom", f"--file={partial}", _conninfo(url)]
    try:
        _run(command, url)
        _durable(partial)
        partial.replace(path)
        _sync_directory(path.parent)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport("postgresql", str(path), path.stat().st_size, _shown(command))


def restore(*, database_url: str, path: Path) -> BackupReport:
    """Restore a backup made by :func:`backup` into the database, which must be empty."""
    url = make_url(database_url)
    engine = make_engine(database_url)
    try:
        if inspect(engine).get_table_names():
            raise RestoreTargetNotEmpty()
    finally:
        engine.dispose()
    if url.get_backend_name() == "sqlite":
        _sqlite_restore(path, _sqlite_file(url))
        return BackupReport("sqlite", str(path), path.stat().st_size)
    if not path.is_file() or _run(["pg_restore", "--list", str(path)], url, check=False) != 0:
        raise NotABackup(path=str(path))
    command = ["pg_restore", "--exit-on-error", "--single-transaction", "--no-owner",
               "--no-privileges", f"--dbname={_conninfo(url)}", str(path)]  # fmt: skip
    _run(command, url)
    return BackupReport("postgresql", str(path), path.stat().st_size, _shown(command))


def _sqlite_file(url: URL) -> Path:
    if url.database in (None, "", ":memory:"):
        raise NoDatabase(path=str(url.database or ":memory:"))
    return Path(url.database)


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def _sqlite_backup(source: Path, path: Path) -> None:
    if not source.is_file():
        raise NoDatabase(path=str(source))
    partial = _partial(path)
    partial.unlink(missing_ok=True)
    try:
        with (
            _closing(sqlite3.connect(source, timeout=30)) as src,
            _closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)  # every page in one step: one snapshot, however busy the source
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            if dst.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupFailed(tool="PRAGMA integrity_check", status=1)
        _durable(partial)
        partial.replace(path)
        _sync_directory(path.parent)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_restore(path: Path, target: Path) -> None:
    if not path.is_file():
        raise NotABackup(path=str(path))
    try:
        with _closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as src:
            tables = {row[0] for row in src.execute("SELECT name FROM sqlite_master")}
            if src.execute("PRAGMA integrity_check").fetchone() != ("ok",) or not (
                _MARKERS <= tables
            ):
                raise NotABackup(path=str(path))
            target.parent.mkdir(parents=True, exist_ok=True)
            # Through SQLite, not a file copy: the target's own journal and locks stay right.
            with _closing(sqlite3.connect(target, timeout=30)) as dst:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")  # as puerta runs it
    except sqlite3.DatabaseError:
        raise NotABackup(path=str(path)) from None


class _closing:
    """``with`` for a sqlite3 connection that closes it (its own ``with`` only commits)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        return self.connection

    def __exit__(self, *_: object) -> None:
        self.connection.close()


def _durable(path: Path) -> None:
    with path.open("rb+") as written:
        os.fsync(written.fileno())


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _conninfo(url: URL) -> str:
    """libpq's keyword=value form of the URL, without its password."""
    from psycopg.conninfo import make_conninfo

    fields: dict[str, str | int] = {"dbname": url.database or ""}
    for key, value in (("host", url.host), ("port", url.port), ("user", url.username)):
        if value:
            fields[key] = value
    fields.update({k: str(v) for k, v in url.query.items() if isinstance(v, str)})
    return make_conninfo(**fields)  # type: ignore[arg-type]


def _run(command: list[str], url: URL, *, check: bool = True) -> int:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupToolMissing(tool=command[0])
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run([tool, *command[1:]], env=env, stdout=subprocess.DEVNULL,
                          stderr=None if check else subprocess.DEVNULL, check=False)  # fmt: skip
    if check and done.returncode != 0:
        raise BackupFailed(tool=command[0], status=done.returncode)
    return done.returncode


def _shown(command: list[str]) -> str:
    return " ".join(command)
