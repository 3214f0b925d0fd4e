"""Fields kept encrypted at rest: AES-256-GCM, with a key derived from the deployment's secret.

What is sealed here (screening answers, and later anything as sensitive) is unreadable in
the database file, its backups and its dumps without PUERTA_SECRET_KEY (in development, the
deployment's generated key). Each sealed value is bound to its *purpose* (say
``"screening:group:12"``) as associated data, so a value copied into another row, or into
another kind of field, fails to open instead of being read as that row's.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1."
_NONCE_BYTES = 12
_INFO = b"puerta vault v1: fields encrypted at rest"


class VaultError(ValueError):
    """A sealed value that does not open: tampered with, moved, or sealed with another key."""


class Vault:
    """Seals and opens text; the key is derived on first use from ``root`` (the secret)."""

    def __init__(self, root: Callable[[], bytes]) -> None:
        self._root = root
        self._aead: AESGCM | None = None

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
            self._aead = AESGCM(hkdf.derive(self._root()))
        return self._aead

    def seal(self, text: str, *, purpose: str) -> str:
        """``text`` sealed for ``purpose``: ``v1.`` then URL-safe base64, a new nonce each time."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._cipher().encrypt(nonce, text.encode(), purpose.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: str, *, purpose: str) -> str:
        """The text sealed for ``purpose``; raises VaultError for anything else."""
        if not token.startswith(PREFIX):
            raise VaultError("not a sealed value")
        body = token[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            raise VaultError("not a sealed value") from None
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        try:
            return self._cipher().decrypt(nonce, sealed, purpose.encode()).decode()
        except (InvalidTag, ValueError):
            raise VaultError("the value does not open with this key and purpose") from None
