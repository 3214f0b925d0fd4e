"""The triage team's key file: X25519 key pairs, each private key kept only encrypted.

A file (``PUERTA_INCIDENTS_KEY_FILE``) holds a JSON list of key pairs, newest last; new
reports are sealed to the newest. Each private key is encrypted with ``SecretBox`` under a
key derived from its passphrase with Argon2id (``nacl.pwhash.argon2id``), with its own salt
and cost. Rotation adds a pair and keeps the old ones, so reports sealed to an old key stay
readable by whoever knows that key's passphrase. See docs/incidents.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from nacl import pwhash
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey
from nacl.secret import SecretBox
from nacl.utils import random as random_bytes

from puerta.errors import Conflict, DomainError, Forbidden, Invalid
from puerta.incidents.sealing import key_id
from puerta.incidents.service import TeamKey

MIN_PASSPHRASE_LENGTH = 12
FORMAT = "puerta-incidents-keys/1"


class Strength(enum.Enum):
    """Argon2id's cost: ``moderate`` for real keys, ``minimal`` only for tests."""

    MODERATE = (pwhash.argon2id.OPSLIMIT_MODERATE, pwhash.argon2id.MEMLIMIT_MODERATE)
    INTERACTIVE = (pwhash.argon2id.OPSLIMIT_INTERACTIVE, pwhash.argon2id.MEMLIMIT_INTERACTIVE)
    MINIMAL = (pwhash.argon2id.OPSLIMIT_MIN, pwhash.argon2id.MEMLIMIT_MIN)


class NotConfigured(DomainError):
    code = "incidents_not_configured"
    status = 503
    message = "Incident reporting is not set up on this server yet. Please try again later."


class KeyFileExists(Conflict):
    code = "incidents_key_file_exists"
    message = "The key file exists already. To add a new key, rotate."


class PassphraseTooShort(Invalid):
    code = "passphrase_too_short"
    message = "The passphrase needs at least {minimum} characters."


class WrongPassphrase(Forbidden):
    code = "unlock_failed"
    message = "This passphrase does not unlock any key of the incident reports."


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    public: str  # hex of the raw 32-byte X25519 public key
    created_at: str
    salt: str  # base64
    opslimit: int
    memlimit: int
    box: str  # base64 of the SecretBox holding the 32-byte private key


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return pwhash.argon2id.kdf(
        SecretBox.KEY_SIZE, passphrase.encode(), salt, opslimit=opslimit, memlimit=memlimit
    )


def _new_entry(passphrase: str, now: dt.datetime, strength: Strength) -> KeyEntry:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise PassphraseTooShort(minimum=MIN_PASSPHRASE_LENGTH)
    private = PrivateKey.generate()
    public = bytes(private.public_key)
    salt = random_bytes(pwhash.argon2id.SALTBYTES)
    opslimit, memlimit = strength.value
    box = SecretBox(_derive(passphrase, salt, opslimit, memlimit)).encrypt(bytes(private))
    return KeyEntry(
        kid=key_id(public), public=public.hex(), created_at=now.isoformat(),
        salt=base64.b64encode(salt).decode(), opslimit=opslimit, memlimit=memlimit,
        box=base64.b64encode(bytes(box)).decode(),
    )  # fmt: skip


def read_entries(path: Path) -> list[KeyEntry]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [KeyEntry(**entry) for entry in data["keys"]]
    except FileNotFoundError:
        raise NotConfigured() from None
    except (ValueError, KeyError, TypeError):
        raise NotConfigured() from None


def _write(path: Path, entries: list[KeyEntry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    body = json.dumps({"format": FORMAT, "keys": [asdict(e) for e in entries]}, indent=2)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(body + "\n")
    os.replace(temporary, path)


def create_key_file(
    path: Path, passphrase: str, *, now: dt.datetime, strength: Strength = Strength.MODERATE
) -> str:
    """A new key file holding one key pair; returns its key id."""
    if path.exists():
        raise KeyFileExists()
    entry = _new_entry(passphrase, now, strength)
    _write(path, [entry])
    return entry.kid


def rotate_key_file(
    path: Path, passphrase: str, *, now: dt.datetime, strength: Strength = Strength.MODERATE
) -> str:
    """Add a key pair, to which new reports are sealed; the old ones are kept as they are."""
    entries = read_entries(path)
    entry = _new_entry(passphrase, now, strength)
    _write(path, [*entries, entry])
    return entry.kid


def current_key(path: Path) -> tuple[str, bytes]:
    """The newest key pair's id and public key: what new reports are sealed to."""
    entry = read_entries(path)[-1]
    return entry.kid, bytes.fromhex(entry.public)


def unlock(path: Path, passphrase: str) -> dict[str, bytes]:
    """Every private key of the file that ``passphrase`` opens, by key id; none: refused."""
    opened: dict[str, bytes] = {}
    for entry in read_entries(path):
        try:
            key = _derive(passphrase, base64.b64decode(entry.salt), entry.opslimit, entry.memlimit)
            opened[entry.kid] = SecretBox(key).decrypt(base64.b64decode(entry.box))
        except (CryptoError, ValueError):
            continue
    if not opened:
        raise WrongPassphrase()
    return opened


def team_key(path: Path) -> TeamKey:
    """The key new reports are sealed to, from the key file; none yet: not configured."""
    kid, public = current_key(path)
    return TeamKey(kid=kid, public=public)
