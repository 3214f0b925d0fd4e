"""The codec of a proof: COSE_Sign1 (RFC 9052) over a CWT (RFC 8392), Ed25519, Base45.

``sign`` makes a token; ``verify`` reads any text and answers a ``Verdict`` with the facts:
valid, expired, revoked, forged, unknown_key or not_a_proof (docs/proofs.md, byte by byte).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from puerta.proofs import domain
from puerta.proofs.domain import Claims, KeyPeriod, Malformed, Outcome, Verdict

COSE_SIGN1_TAG = 18
ALG, KID = 1, 4
EDDSA = -8
KID_BYTES = 8


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def kid_of(public_raw: bytes) -> bytes:
    """The key id: the first 8 bytes of SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public_raw).digest()[:KID_BYTES]


def _dumps(value: object) -> bytes:
    return cbor2.dumps(value, canonical=True)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """What Ed25519 signs: ["Signature1", protected, h'' (no external aad), payload]."""
    return _dumps(["Signature1", protected, b"", payload])


def sign(claims: Claims, key: Ed25519PrivateKey) -> str:
    """The token: "PU1:" and the Base45 of the COSE_Sign1 of the claims."""
    protected = _dumps({ALG: EDDSA, KID: kid_of(raw_public(key.public_key()))})
    payload = _dumps(domain.to_map(claims))
    signature = key.sign(sig_structure(protected, payload))
    cose = _dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    encoded: bytes = base45.b45encode(cose)
    return domain.PREFIX + encoded.decode("ascii")


@dataclass(frozen=True)
class Parsed:
    kid: bytes
    protected: bytes
    payload: bytes
    signature: bytes


class NotAProof(Exception):
    """Text without the "PU1:" prefix: another kind of QR code, or none."""


def _loads(data: bytes) -> Any:
    """Exactly one CBOR item: bytes after it are not signed, so they make the token forged."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception:  # cbor2 raises several kinds on arbitrary bytes
        raise Malformed("not CBOR") from None
    if stream.tell() != len(data):
        raise Malformed("trailing bytes")
    return item


def _unwrap(token: str) -> bytes:
    text = token.strip()
    if not text.startswith(domain.PREFIX):
        raise NotAProof()
    try:
        return bytes(base45.b45decode(text[len(domain.PREFIX) :]))
    except (ValueError, KeyError, TypeError):
        raise Malformed("not Base45") from None


def parse(token: str) -> Parsed:
    """The parts of a token; ``NotAProof`` without the prefix, ``Malformed`` if they do not
    parse as a COSE_Sign1 of EdDSA with an 8-byte key id."""
    cose = _loads(_unwrap(token))
    if not isinstance(cose, cbor2.CBORTag) or cose.tag != COSE_SIGN1_TAG:
        raise Malformed("not a COSE_Sign1")
    parts = cose.value
    if not isinstance(parts, (list, tuple)) or len(parts) != 4:
        raise Malformed("not a COSE_Sign1")
    protected, unprotected, payload, signature = parts
    if not all(isinstance(p, bytes) for p in (protected, payload, signature)):
        raise Malformed("not a COSE_Sign1")
    header = _loads(protected)
    if not isinstance(unprotected, Mapping) or not isinstance(header, Mapping):
        raise Malformed("bad headers")
    kid = header.get(KID)
    if header.get(ALG) != EDDSA or not isinstance(kid, bytes) or len(kid) != KID_BYTES:
        raise Malformed("not EdDSA with an 8-byte key id")
    return Parsed(kid=kid, protected=protected, payload=payload, signature=signature)


@dataclass(frozen=True)
class PublicKey:
    """A published key and when it signs (the JWKS's x, signs_from and signs_until)."""

    key: Ed25519PublicKey
    period: KeyPeriod


def verify(
    token: str,
    *,
    keys: Mapping[bytes, PublicKey],
    now: dt.datetime,
    revoked: bytes | None,
) -> Verdict:
    """What ``token`` is worth at ``now`` against ``keys`` (by key id) and a status list."""
    try:
        parsed = parse(token)
    except NotAProof:
        return Verdict(Outcome.NOT_A_PROOF, reason="no_prefix")
    except Malformed as error:
        return Verdict(Outcome.FORGED, reason=f"malformed: {error}")
    kid = domain.b64url(parsed.kid)
    published = keys.get(parsed.kid)
    if published is None:
        return Verdict(Outcome.UNKNOWN_KEY, kid=kid)
    try:
        published.key.verify(parsed.signature, sig_structure(parsed.protected, parsed.payload))
    except InvalidSignature:
        return Verdict(Outcome.FORGED, kid=kid, reason="bad_signature")
    try:
        claims = domain.from_map(_loads(parsed.payload))
    except Malformed as error:
        return Verdict(Outcome.FORGED, kid=kid, reason=f"malformed: {error}")
    return domain.judge(claims, kid=kid, period=published.period, now=now, revoked=revoked)
