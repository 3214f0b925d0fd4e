"""The two documents a verifier caches: the keys (JWKS) and the signed status list.

``status_document`` signs a status list; ``keys_from_jwks`` and ``revoked_bits`` read them
back, as an offline verifier (``puerta proof verify --keys --status``) does.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from puerta.proofs import cose, domain
from puerta.proofs.domain import BadStatusDocument, KeyPeriod, b64url, from_b64url
from puerta.proofs.keys import KeyRing

# How long a fetched list is meant to serve before a verifier fetches it again; an offline
# verifier keeps using an older one and shows its age.
STATUS_VALID_FOR = dt.timedelta(days=1)
# What a damaged or foreign document raises on the way (gzip raises OSError and EOFError).
_UNREADABLE = (KeyError, TypeError, ValueError, InvalidSignature, OSError, EOFError, zlib.error)


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def status_document(
    ring: KeyRing, *, revoked: Iterable[int], size: int, now: dt.datetime
) -> dict[str, str]:
    """{"payload", "kid", "signature"}: the list's JSON text, signed by the current key."""
    inner = {
        "issuer": domain.ISSUER, "statusPurpose": "revocation", "validFrom": _iso(now),
        "validUntil": _iso(now + STATUS_VALID_FOR), "size": size,
        "encodedList": domain.encode_list(revoked, size),
    }  # fmt: skip
    payload = json.dumps(inner, separators=(",", ":")).encode("utf-8")
    return {
        "payload": b64url(payload),
        "kid": b64url(ring.signer.kid),
        "signature": b64url(ring.signer.private.sign(payload)),
    }


def _when(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("not an instant")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.utcoffset() is None:
        raise ValueError("not an instant")
    return parsed


def _jwk(entry: Mapping[str, Any]) -> tuple[bytes, cose.PublicKey]:
    if (entry.get("kty"), entry.get("crv")) != ("OKP", "Ed25519"):
        raise ValueError("not an Ed25519 key")
    raw = from_b64url(str(entry["x"]))
    key = Ed25519PublicKey.from_public_bytes(raw)
    until = entry.get("signs_until")
    period = KeyPeriod(_when(entry["signs_from"]), _when(until) if until else None)
    kid = cose.kid_of(raw)
    if entry.get("kid") != b64url(kid):
        raise ValueError("a kid that is not its key's")
    return kid, cose.PublicKey(key, period)


def keys_from_jwks(document: object) -> dict[bytes, cose.PublicKey]:
    """The keys of a puerta-keys.json (``ValueError`` if it is not one)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS")
    try:
        return dict(_jwk(entry) for entry in document["keys"])
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError("not a JWKS") from error


def revoked_bits(document: object, keys: Mapping[bytes, cose.PublicKey]) -> tuple[bytes, str]:
    """The bitstring of a puerta-status.json and its validFrom, once its signature checks
    with one of ``keys``; ``BadStatusDocument`` otherwise."""
    if not isinstance(document, dict):
        raise BadStatusDocument()
    try:
        payload = from_b64url(document["payload"])
        published = keys[from_b64url(document["kid"])]
        published.key.verify(from_b64url(document["signature"]), payload)
        inner = json.loads(payload)
        bits = domain.decode_list(inner["encodedList"])
        if inner["issuer"] != domain.ISSUER or len(bits) * 8 != inner["size"]:
            raise ValueError("not puerta's list")
        return bits, str(inner["validFrom"])
    except _UNREADABLE:
        raise BadStatusDocument() from None


def check(
    token: str, *, keys: Mapping[bytes, cose.PublicKey], status: object | None, now: dt.datetime
) -> domain.Verdict:
    """A token's verdict against published keys and, when given, a status document."""
    revoked = revoked_bits(status, keys)[0] if status is not None else None
    return cose.verify(token, keys=keys, now=now, revoked=revoked)


def _iso_of(seconds: int | None) -> str | None:
    return None if seconds is None else _iso(domain.instant(seconds))


def verdict_json(verdict: domain.Verdict) -> dict[str, Any]:
    """The outcome and the minimal facts, as ``puerta proof verify`` prints them."""
    facts: dict[str, Any] | None = None
    c = verdict.claims
    if c is not None:
        facts = {
            "kind": c.kind.value, "issued_at": _iso_of(c.issued_at),
            "expires_at": _iso_of(c.expires_at), "port": c.port,
            "service_date": c.service_date.isoformat() if c.service_date else None,
            "slot_starts_at": _iso_of(c.slot_starts_at), "persons": c.persons,
            "members": [{"initials": m.initials, "birth_year": m.birth_year} for m in c.members],
            "status_index": c.status_index,
        }  # fmt: skip
    return {"outcome": verdict.outcome.value, "reason": verdict.reason, "kid": verdict.kid,
            "facts": facts}  # fmt: skip
