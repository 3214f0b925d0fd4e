"""Fields kept encrypted at rest, each bound to its purpose: sealed under the deployment's data
keys (puerta.datakeys), whose keys are wrapped by a key that is never in the database.

What is sealed here (screening answers, decisions' reasons) is unreadable in the database
file, its backups and its dumps without the key-encryption key (docs/encryption.md). Each
sealed value is bound to its *purpose* (say ``"screening:group:12"``) as associated data, so
a value copied into another row, or into another kind of field, fails to open instead of
being read as that row's. A column holding such values names its purpose's template in
``Column.info["vault_purpose"]``, so that rotating the data keys can seal it again.

A token is ``v2.`` and the URL-safe base64 of the data keys' envelope. ``v1.`` tokens (a key
derived from the signing secret, which development keeps in the database) were re-sealed by
migration 0011; ``legacy_open`` and ``legacy_seal`` remain for that migration only.
"""

from __future__ import annotations

import base64
import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v2."
LEGACY_PREFIX = "v1."
_NONCE_BYTES = 12
_LEGACY_INFO = b"puerta vault v1: fields encrypted at rest"


class VaultError(ValueError):
    """A sealed value that does not open: tampered with, moved, or sealed with another key."""


class Envelope(Protocol):
    """What seals the bytes (puerta.datakeys.DataKeys); ``open`` raises ValueError."""

    def seal(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def open(self, sealed: bytes, aad: bytes) -> bytes: ...


def purpose_aad(purpose: str) -> bytes:
    return b"vault:" + purpose.encode()


def token_of(envelope: bytes) -> str:
    return PREFIX + base64.urlsafe_b64encode(envelope).decode().rstrip("=")


def _unbase64(body: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise VaultError("not a sealed value") from None


def envelope_of(token: str) -> bytes:
    """The envelope inside a ``v2.`` token; VaultError for anything else."""
    if not isinstance(token, str) or not token.startswith(PREFIX):
        raise VaultError("not a sealed value")
    return _unbase64(token[len(PREFIX) :])


class Vault:
    """Seals and opens text under the data keys, bound to a purpose."""

    def __init__(self, envelope: Envelope) -> None:
        self._envelope = envelope

    def seal(self, text: str, *, purpose: str) -> str:
        """``text`` sealed for ``purpose``, under the current data key, a new nonce each time."""
        return token_of(self._envelope.seal(text.encode(), purpose_aad(purpose)))

    def open(self, token: str, *, purpose: str) -> str:
        """The text sealed for ``purpose``; raises VaultError for anything else."""
        sealed = envelope_of(token)
        try:
            return self._envelope.open(sealed, purpose_aad(purpose)).decode()
        except ValueError:
            raise VaultError("the value does not open with this key and purpose") from None


def _legacy_cipher(root: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LEGACY_INFO)
    return AESGCM(hkdf.derive(root))


def legacy_open(token: str, *, purpose: str, root: bytes) -> str:
    """A ``v1.`` token's text (its key derived from the signing secret ``root``)."""
    if not token.startswith(LEGACY_PREFIX):
        raise VaultError("not a sealed value")
    raw = _unbase64(token[len(LEGACY_PREFIX) :])
    nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    try:
        return _legacy_cipher(root).decrypt(nonce, sealed, purpose.encode()).decode()
    except (InvalidTag, ValueError):
        raise VaultError("the value does not open with this key and purpose") from None


def legacy_seal(text: str, *, purpose: str, root: bytes) -> str:
    """``text`` as a ``v1.`` token (migration 0011's downgrade)."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _legacy_cipher(root).encrypt(nonce, text.encode(), purpose.encode())
    return LEGACY_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
