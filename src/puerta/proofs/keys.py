"""The proof signing keys: a file (PUERTA_PROOF_KEYS_FILE) and/or a setting
(PUERTA_PROOF_KEY), never the database, so a copy of the database cannot sign a proof.

The file is a JSON list of ``{"kid", "private_key", "signs_from", "signs_until"}`` (mode
0600). ``init_keys`` writes the first; ``rotate_keys`` adds one and ends the old one's
signing, which stays published so that what it signed stays valid until it expires.
Without any key: development generates the file on first use, tests use a key held in
memory for the process, production refuses (``ProofKeysMissing``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from puerta.clock import Clock, SystemClock
from puerta.config import Settings
from puerta.proofs import cose
from puerta.proofs.domain import (
    EPOCH,
    BadKeysFile,
    KeyPeriod,
    ProofKeysExist,
    ProofKeysMissing,
    b64url,
    from_b64url,
)


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    period: KeyPeriod

    @property
    def kid(self) -> bytes:
        return cose.kid_of(cose.raw_public(self.private.public_key()))

    def public(self) -> cose.PublicKey:
        return cose.PublicKey(self.private.public_key(), self.period)

    def jwk(self) -> dict[str, Any]:
        """The key as the JWKS publishes it (RFC 8037's OKP, plus its signing period)."""
        until = self.period.signs_until
        x = b64url(cose.raw_public(self.private.public_key()))
        return {
            "kty": "OKP", "crv": "Ed25519", "x": x, "kid": b64url(self.kid), "alg": "EdDSA",
            "use": "sig", "signs_from": _iso(self.period.signs_from),
            "signs_until": _iso(until) if until else None,
        }  # fmt: skip

    def stored(self) -> dict[str, Any]:
        seed = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return {"kid": b64url(self.kid), "private_key": b64url(seed)} | {
            k: v for k, v in self.jwk().items() if k.startswith("signs_")
        }


@dataclass(frozen=True)
class KeyRing:
    """Every published key, oldest first; ``signer`` is the one that signs now."""

    keys: tuple[SigningKey, ...]
    signer: SigningKey

    def public(self) -> dict[bytes, cose.PublicKey]:
        return {key.kid: key.public() for key in self.keys}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys]}


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _instant(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise BadKeysFile()
    parsed = dt.datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise BadKeysFile()
    return parsed.astimezone(dt.UTC)


def private_key(text: str) -> Ed25519PrivateKey:
    """A private key from the base64url of its 32-byte seed."""
    try:
        return Ed25519PrivateKey.from_private_bytes(from_b64url(text.strip()))
    except ValueError:
        raise BadKeysFile() from None


def _key_from(entry: Any) -> SigningKey:
    try:
        until = entry.get("signs_until")
        period = KeyPeriod(_instant(entry["signs_from"]), _instant(until) if until else None)
        key = SigningKey(private_key(entry["private_key"]), period)
    except (AttributeError, KeyError, TypeError, ValueError):
        raise BadKeysFile() from None
    if entry.get("kid") not in (None, b64url(key.kid)):
        raise BadKeysFile()  # a kid that is not its key's: the file was edited wrongly
    return key


def read_keys(path: Path) -> list[SigningKey]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BadKeysFile() from None
    if not isinstance(entries, list) or not entries:
        raise BadKeysFile()
    return [_key_from(entry) for entry in entries]


def _ring(keys: list[SigningKey], signer: SigningKey | None = None) -> KeyRing:
    if signer is None:
        current = [k for k in keys if k.period.signs_until is None]
        if not current:
            raise BadKeysFile()
        signer = max(current, key=lambda k: k.period.signs_from)
    published = {k.kid: k for k in keys} | {signer.kid: signer}
    return KeyRing(tuple(sorted(published.values(), key=lambda k: k.period.signs_from)), signer)


def _write_new(path: Path, keys: list[SigningKey]) -> None:
    """Create ``path`` (mode 0600); ``ProofKeysExist`` if it is already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ProofKeysExist() from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump([k.stored() for k in keys], out, indent=2)
        out.write("\n")


def new_key(now: dt.datetime) -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate(), KeyPeriod(now.replace(microsecond=0), None))


def init_keys(path: Path, *, now: dt.datetime) -> SigningKey:
    """Write a first key that signs from ``now``; never overwrites a file."""
    key = new_key(now)
    _write_new(path, [key])
    return key


def _ended(key: SigningKey, now: dt.datetime) -> SigningKey:
    return SigningKey(key.private, KeyPeriod(key.period.signs_from, now))


def rotate_keys(path: Path, *, now: dt.datetime) -> SigningKey:
    """Add a key that signs from ``now``; the current ones sign until ``now`` and stay."""
    keys = read_keys(path)
    ended = [k if k.period.signs_until else _ended(k, now) for k in keys]
    key = new_key(now)
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    _write_new(temporary, [*ended, key])
    os.replace(temporary, path)  # atomic: a server reading it sees the old or the new file
    return key


def load_ring(settings: Settings, clock: Clock) -> KeyRing:
    """The ring as configured now (see the module's docstring)."""
    path = settings.proof_keys_file
    keys = read_keys(path) if path.exists() else []
    injected = None
    if settings.proof_key:
        injected = SigningKey(private_key(settings.proof_key), KeyPeriod(EPOCH, None))
    if keys or injected:
        return _ring(keys, injected)
    if settings.env == "development":
        try:
            init_keys(path, now=clock.now())
        except ProofKeysExist:
            pass  # another worker wrote it first: its key stands
        return _ring(read_keys(path))
    if settings.env == "test":
        return _ring([], _process_key())
    raise ProofKeysMissing()


_lock = threading.Lock()
_cache: dict[tuple[object, ...], tuple[object, KeyRing]] = {}
_test_key: list[SigningKey] = []


def _process_key() -> SigningKey:
    if not _test_key:
        _test_key.append(SigningKey(Ed25519PrivateKey.generate(), KeyPeriod(EPOCH, None)))
    return _test_key[0]


def _file_state(path: Path) -> object:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def key_ring(settings: Settings, clock: Clock) -> KeyRing:
    """``load_ring``, read again only when the keys file changes (``puerta keys rotate``)."""
    name = (settings.env, str(settings.proof_keys_file.resolve()), settings.proof_key)
    with _lock:
        state = _file_state(settings.proof_keys_file)
        cached = _cache.get(name)
        if cached is not None and cached[0] == state:
            return cached[1]
        ring = load_ring(settings, clock)
        _cache[name] = (_file_state(settings.proof_keys_file), ring)
        return ring


def require_keys(settings: Settings) -> None:
    """Production does not start without a readable signing key (``puerta serve``)."""
    if settings.env == "production":
        load_ring(settings, SystemClock())  # production's clock is never pinned


def keys_command(action: str, *, settings: Settings, clock: Clock) -> dict[str, Any]:
    """`puerta keys init|rotate|list`: what it prints (public keys only)."""
    path = settings.proof_keys_file
    if action == "list":
        return key_ring(settings, clock).jwks()
    run = init_keys if action == "init" else rotate_keys
    return {"file": str(path), "added": run(path, now=clock.now()).jwk()}
