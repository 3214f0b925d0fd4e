"""Sealing the reports: to the triage team's key, to the receipt, and to a caseworker's token.

- Free text, contact, follow-ups and notes are sealed to the team's X25519 public key with
  PyNaCl's ``SealedBox``: the server that receives a report holds only the public key and
  cannot open what it sealed.
- Messages to the reporter are sealed with ``SecretBox`` under a key derived (HKDF-SHA-256)
  from the receipt, so the reporter opens them with the receipt alone; that key is also
  kept sealed to the team's key, so that an unlocked caseworker can write to the reporter.
- The receipt is stored only as an HMAC-SHA-256 under a key derived from the deployment's
  secret.
- An unlocked session holds the team's private keys encrypted under a key derived from the
  caller's bearer (or session) token, which the database stores only as a SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox

from puerta.errors import Forbidden

SEALED_PREFIX = "x1."
MESSAGE_PREFIX = "m1."
_RECEIPT_INFO = b"puerta incidents v1: receipt hashes"
_MESSAGE_INFO = b"puerta incidents v1: messages to the reporter"
_UNLOCK_INFO = b"puerta incidents v1: a session's unlocked team keys"


class SealError(ValueError):
    """A sealed value that does not open with the keys given."""


class Locked(Forbidden):
    code = "incidents_locked"
    message = "Unlock the incident reports with the team's passphrase first."


def key_id(public: bytes) -> str:
    """The first 8 bytes of SHA-256 of the raw 32-byte public key, in hex."""
    return hashlib.sha256(public).digest()[:8].hex()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise SealError("not a sealed value") from None


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def seal_to(public: bytes, text: str) -> str:
    """``text`` sealed to the team's public key: only its private key opens it."""
    return SEALED_PREFIX + _b64(SealedBox(PublicKey(public)).encrypt(text.encode()))


def open_sealed(private: bytes, sealed: str) -> str:
    if not sealed.startswith(SEALED_PREFIX):
        raise SealError("not a sealed value")
    try:
        raw = SealedBox(PrivateKey(private)).decrypt(_unb64(sealed[len(SEALED_PREFIX) :]))
    except CryptoError:
        raise SealError("does not open with this key") from None
    return raw.decode()


def receipt_hash(secret: bytes, digits: str) -> str:
    """The receipt as stored: HMAC-SHA-256 under a key derived from the deployment's secret."""
    return hmac.new(_hkdf(secret, _RECEIPT_INFO), digits.encode(), hashlib.sha256).hexdigest()


def message_key(digits: str) -> bytes:
    """The key of the messages to the reporter, derived from the receipt's digits."""
    return _hkdf(digits.encode(), _MESSAGE_INFO)


def seal_message(key: bytes, text: str) -> str:
    return MESSAGE_PREFIX + _b64(bytes(SecretBox(key).encrypt(text.encode())))


def open_message(key: bytes, sealed: str) -> str:
    if not sealed.startswith(MESSAGE_PREFIX):
        raise SealError("not a sealed message")
    try:
        return SecretBox(key).decrypt(_unb64(sealed[len(MESSAGE_PREFIX) :])).decode()
    except CryptoError:
        raise SealError("does not open with this key") from None


def lock_for_session(token: str, keys: dict[str, bytes]) -> str:
    """The unlock value: the team's private keys (by key id) under a key from ``token``."""
    if not token:
        raise Locked()  # a key from no token would be a key anyone can compute
    payload = json.dumps({kid: raw.hex() for kid, raw in sorted(keys.items())}).encode()
    box = SecretBox(_hkdf(token.encode(), _UNLOCK_INFO))
    return _b64(bytes(box.encrypt(payload)))


def keys_of_session(token: str | None, value: str | None) -> dict[str, bytes]:
    """The private keys an unlock value holds for ``token``; anything else is locked."""
    if not token or not value or len(value) > 4096:
        raise Locked()
    try:
        raw = SecretBox(_hkdf(token.encode(), _UNLOCK_INFO)).decrypt(_unb64(value))
        found = json.loads(raw)
        return {str(kid): bytes.fromhex(str(hexed)) for kid, hexed in found.items()}
    except (CryptoError, SealError, ValueError, AttributeError):
        raise Locked() from None
