"""The key-encryption keys (KEKs), which never enter the database.

PUERTA_DATA_KEY_FILE is a JSON list of ``{"id", "key", "created_at"}`` (mode 0600), the last
entry the one that wraps new data keys; PUERTA_DATA_KEY holds base64url keys separated by
commas, the first the one that wraps (secrets injected by the deployment). A KEK's id is a
digest of the key. Without either: development writes the file on first use, tests use a
fixed test key, production refuses to start (``DataKeysMissing``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from puerta.clock import Clock, SystemClock
from puerta.config import Settings
from puerta.errors import Conflict, DomainError

# Tests only (PUERTA_ENV=test without a key): fixed, so that test servers agree.
TEST_KEK = hashlib.sha256(b"puerta test data key: never for real data").digest()


class DataKeysMissing(DomainError):
    code = "data_keys_missing"
    status = 503
    message = "Personal data cannot be stored or read now: the server has no data encryption key."


class BadDataKeys(DomainError):
    code = "bad_data_keys"
    status = 503
    message = "The data keys file or setting cannot be read."


class DataKeysExist(Conflict):
    code = "data_keys_exist"
    message = "The data keys file already exists; it was not changed."


@dataclass(frozen=True)
class Keks:
    keys: Mapping[str, bytes]
    current: str


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def kek_id(key: bytes) -> str:
    """A KEK's id: a digest of it, so that the file cannot pair a key with a wrong id."""
    return hashlib.sha256(b"puerta kek id\0" + key).hexdigest()[:16]


def _key(text: str) -> tuple[str, bytes]:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError:
        raise BadDataKeys() from None
    if len(key) != 32:
        raise BadDataKeys()
    return kek_id(key), key


def _entries(path: Path) -> list[dict[str, str]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BadDataKeys() from None
    if not isinstance(entries, list) or not entries:
        raise BadDataKeys()
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise BadDataKeys()
        if entry.get("id") not in (None, _key(entry["key"])[0]):
            raise BadDataKeys()  # an id that is not its key's: the file was edited wrongly
    return entries


def _write(path: Path, entries: list[dict[str, str]], *, replace: bool) -> None:
    """Write the file (mode 0600): new (``DataKeysExist`` if there), or atomically replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(path.name + ".new") if replace else path
    if replace:
        target.unlink(missing_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise DataKeysExist() from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(entries, out, indent=2)
        out.write("\n")
    if replace:
        os.replace(target, path)  # a process reading it sees the old file or the new one


def _new_entry(now: dt.datetime) -> dict[str, str]:
    key = secrets.token_bytes(32)
    return {"id": kek_id(key), "key": b64(key), "created_at": now.isoformat(timespec="seconds")}


def init_kek_file(path: Path, *, now: dt.datetime) -> str:
    """Write a first KEK; never overwrites a file. Returns its id."""
    entry = _new_entry(now)
    _write(path, [entry], replace=False)
    return entry["id"]


def add_kek(path: Path, *, now: dt.datetime) -> str:
    """Add a KEK to the file, which from now on wraps; the others stay until ``keep_only``."""
    if not path.exists():
        raise DataKeysMissing()  # `puerta keys data-init` first
    entry = _new_entry(now)
    _write(path, [*_entries(path), entry], replace=True)
    return entry["id"]


def keep_only(path: Path, kek: str) -> list[str]:
    """Drop from the file every KEK but ``kek``; returns the ids dropped."""
    entries = _entries(path)
    _write(path, [e for e in entries if _key(e["key"])[0] == kek], replace=True)
    return [_key(e["key"])[0] for e in entries if _key(e["key"])[0] != kek]


def load_keks(settings: Settings, clock: Clock) -> Keks:
    """The KEKs as configured now (see the module's docstring)."""
    path = settings.data_key_file
    filed = [_key(e["key"]) for e in _entries(path)] if path.exists() else []
    injected = [_key(k) for k in settings.data_key.split(",")] if settings.data_key else []
    if filed or injected:
        return Keks(dict(filed) | dict(injected), (injected or filed[::-1])[0][0])
    if settings.env == "development":
        try:
            init_kek_file(path, now=clock.now())
        except DataKeysExist:
            pass  # another process wrote it first: its key stands
        return load_keks(settings, clock)
    if settings.env == "test":
        return Keks({kek_id(TEST_KEK): TEST_KEK}, kek_id(TEST_KEK))
    raise DataKeysMissing()


def require_data_keys(settings: Settings) -> None:
    """Production does not start, nor migrate, without a readable KEK."""
    if settings.env == "production":
        load_keks(settings, SystemClock())
