"""Pure rules of signed proofs: the claims, their expiry, the status list and the verdict.

The wire format is docs/proofs.md's (the COSE and CBOR codec is ``puerta.proofs.cose``).
A proof says only what an official needs to let a family pass: its kind, for an appointment
the port, date and slot, the number of people, and each member's initials and birth year;
never a name, a document number or a nationality. Standard library only.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import gzip
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from puerta.errors import Conflict, DomainError, NotFound

ISSUER = "puerta"
PREFIX = "PU1:"
# RFC 8392: claim labels below -65536 are for private use; puerta's claims live under one.
PRIVATE_CLAIM = -65537
ISS, EXP, IAT = 1, 4, 6
TYPE, PORT, SERVICE_DATE, SLOT, PERSONS, MEMBERS, INDEX = range(1, 8)
MIN_LIST_SIZE = 131_072
# Indexes below 2**16 are three-byte CBOR integers (five above): that keeps a 12-member
# appointment proof inside QR version 14. They are drawn there until half of them are taken.
SMALL_INDEXES = 65_536
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ProofKind(enum.StrEnum):
    REGISTRATION = "registration"
    APPOINTMENT = "appointment"


class Outcome(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    FORGED = "forged"
    UNKNOWN_KEY = "unknown_key"
    NOT_A_PROOF = "not_a_proof"


class NoConfirmedAppointment(NotFound):
    code = "no_confirmed_appointment"
    message = "Your group has no confirmed appointment, so there is no proof of one."


class ProofKeysMissing(DomainError):
    code = "proof_keys_missing"
    status = 503
    message = "Proofs cannot be signed now: the server has no signing key."


class ProofKeysExist(Conflict):
    code = "proof_keys_exist"
    message = "The proof keys file already exists; it was not changed."


class BadKeysFile(DomainError):
    code = "bad_proof_keys"
    status = 503
    message = "The proof keys file or setting cannot be read."


class BadStatusDocument(DomainError):
    code = "bad_status_document"
    status = 422
    message = "The status list is not a status document signed with a published key."


class Malformed(Exception):
    """Bytes that do not parse as a proof of this format (the verdict is ``forged``)."""


@dataclass(frozen=True)
class MemberClaim:
    initials: str
    birth_year: int


@dataclass(frozen=True)
class Claims:
    """What a proof says; instants in whole seconds since 1970 (UTC)."""

    kind: ProofKind
    issued_at: int
    expires_at: int
    persons: int
    members: tuple[MemberClaim, ...]
    status_index: int
    port: str | None = None
    service_date: dt.date | None = None
    slot_starts_at: int | None = None


def seconds(instant: dt.datetime) -> int:
    return (instant - EPOCH) // dt.timedelta(seconds=1)


def instant(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=value)


# The last second a datetime holds: a claim past it (or before 1970) is no proof's instant.
LATEST_SECOND = seconds(dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))


def _initial(name: str) -> str:
    words = name.split()
    if not words:
        return ""
    first = words[0][0].upper()
    # "É" reads "E" on a passport's machine-readable line; letters of other scripts stay.
    folded = unicodedata.normalize("NFKD", first)[:1]
    return folded if folded.isascii() and folded.isalpha() else first


def initials(given_names: str, family_names: str) -> str:
    """ "MJ" for Marie Joseph: the first letters of the first given and family name.

    No dots: two bytes each across 12 members would push a proof past QR version 14."""
    return _initial(given_names) + _initial(family_names)


def registration_expiry(issued: dt.datetime, days: int) -> dt.datetime:
    return issued + dt.timedelta(days=days)


def appointment_expiry(service_date: dt.date, timezone: str, grace_days: int) -> dt.datetime:
    """The end of the day ``grace_days`` after the service date, in the port's zone."""
    day_after = service_date + dt.timedelta(days=grace_days + 1)
    return dt.datetime.combine(day_after, dt.time(0), tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def to_map(claims: Claims) -> dict[int, Any]:
    """The CWT claims map (RFC 8392) of docs/proofs.md, integer labels throughout."""
    own: dict[int, Any] = {TYPE: claims.kind.value}
    if claims.kind is ProofKind.APPOINTMENT:
        assert claims.service_date is not None
        own |= {PORT: claims.port, SERVICE_DATE: claims.service_date.isoformat(),
                SLOT: claims.slot_starts_at}  # fmt: skip
    own |= {
        PERSONS: claims.persons,
        MEMBERS: [[m.initials, m.birth_year] for m in claims.members],
        INDEX: claims.status_index,
    }
    return {ISS: ISSUER, IAT: claims.issued_at, EXP: claims.expires_at, PRIVATE_CLAIM: own}


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed("not an integer")
    return value


def _seconds(value: object) -> int:
    number = _int(value)
    if not 0 <= number <= LATEST_SECOND:
        raise Malformed("an instant out of range")
    return number


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise Malformed("not a text")
    return value


def _members(value: object) -> tuple[MemberClaim, ...]:
    if not isinstance(value, (list, tuple)):
        raise Malformed("members are not an array")
    found = []
    for item in value:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise Malformed("a member is not [initials, birth year]")
        found.append(MemberClaim(_text(item[0]), _int(item[1])))
    return tuple(found)


def _appointment_fields(own: Mapping[Any, Any]) -> dict[str, Any]:
    try:
        day = dt.date.fromisoformat(_text(own.get(SERVICE_DATE)))
    except ValueError:
        raise Malformed("the service date is not YYYY-MM-DD") from None
    return {"port": _text(own.get(PORT)), "service_date": day,
            "slot_starts_at": _seconds(own.get(SLOT))}  # fmt: skip


def from_map(payload: object) -> Claims:
    """The claims of a decoded payload; ``Malformed`` unless it is exactly this format."""
    if not isinstance(payload, dict) or set(payload) != {ISS, IAT, EXP, PRIVATE_CLAIM}:
        raise Malformed("not puerta's claims")
    own = payload[PRIVATE_CLAIM]
    if payload[ISS] != ISSUER or not isinstance(own, dict):
        raise Malformed("not puerta's claims")
    try:
        kind = ProofKind(_text(own.get(TYPE)))
    except ValueError:
        raise Malformed("unknown proof type") from None
    expected = {TYPE, PERSONS, MEMBERS, INDEX}
    if kind is ProofKind.APPOINTMENT:
        expected |= {PORT, SERVICE_DATE, SLOT}
    if set(own) != expected:
        raise Malformed("unexpected claims")
    extra = _appointment_fields(own) if kind is ProofKind.APPOINTMENT else {}
    return Claims(
        kind=kind, issued_at=_seconds(payload[IAT]), expires_at=_seconds(payload[EXP]),
        persons=_int(own[PERSONS]), members=_members(own[MEMBERS]),
        status_index=_int(own[INDEX]), **extra,
    )  # fmt: skip


# --- The status list (W3C Bitstring Status List's encodedList) ------------------------------


def list_size(live: int, highest: int) -> int:
    """At least 131,072 bits, four times the live indexes, and room for the highest one."""
    size = MIN_LIST_SIZE
    while size < 4 * live or size <= highest:
        size *= 2
    return size


def index_range(live: int, size: int) -> int:
    """Indexes are drawn from ``[0, index_range)``: the small ones while half are free."""
    return SMALL_INDEXES if live < SMALL_INDEXES // 2 else size


def bitstring(revoked: Iterable[int], size: int) -> bytes:
    """Bit i is byte i // 8, bit 7 - i % 8: the first index is the left-most bit."""
    bits = bytearray(size // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    return bytes(bits)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_list(revoked: Iterable[int], size: int) -> str:
    """Multibase "u" + base64url (no padding) of the GZIP of the bitstring."""
    return "u" + b64url(gzip.compress(bitstring(revoked, size), mtime=0))


def decode_list(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("an encodedList starts with the multibase prefix 'u'")
    return gzip.decompress(from_b64url(encoded[1:]))


def is_set(bits: bytes, index: int) -> bool:
    """Whether bit ``index`` is 1; an index past the list (newer than it) is not revoked."""
    if not 0 <= index < len(bits) * 8:
        return False
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


# --- The verdict ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPeriod:
    """When a published key signs: from ``signs_from`` until ``signs_until`` (None: still)."""

    signs_from: dt.datetime
    signs_until: dt.datetime | None

    def covers(self, issued: dt.datetime) -> bool:
        return self.signs_from <= issued and (self.signs_until is None or issued < self.signs_until)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    claims: Claims | None = None
    kid: str | None = None
    reason: str | None = None

    @property
    def valid(self) -> bool:
        return self.outcome is Outcome.VALID


def judge(
    claims: Claims, *, kid: str, period: KeyPeriod, now: dt.datetime, revoked: bytes | None
) -> Verdict:
    """A proof whose signature verified with key ``kid``: forged, expired, revoked or valid.

    In this order: a key that did not sign at ``iat`` makes it forged; then expiry; then the
    status bit (``revoked`` is the bitstring, None when no list is at hand)."""
    if not period.covers(instant(claims.issued_at)):
        return Verdict(Outcome.FORGED, claims, kid, "issued_outside_key_period")
    if seconds(now) >= claims.expires_at:
        return Verdict(Outcome.EXPIRED, claims, kid)
    if revoked is not None and is_set(revoked, claims.status_index):
        return Verdict(Outcome.REVOKED, claims, kid)
    return Verdict(Outcome.VALID, claims, kid)


# --- What revokes a proof: derived from the state of what it attests ---------------------------


@dataclass(frozen=True)
class Subject:
    """A status index's subject as the database holds it now."""

    kind: ProofKind
    account_exists: bool
    # Registration: the group's updated_at now and when the proof was issued (None: no group).
    group_updated_at: dt.datetime | None = None
    issued_for: dt.datetime | None = None
    # Appointment: its status now (None: the row is gone).
    appointment_status: str | None = None


REVOKING_STATUSES = frozenset({"cancelled", "expired", "no_show"})


def is_revoked(subject: Subject) -> bool:
    """A registration proof: account or group gone, or the group changed since it was issued.
    An appointment proof: the appointment gone, cancelled, expired or not attended."""
    if not subject.account_exists:
        return True
    if subject.kind is ProofKind.REGISTRATION:
        group = subject.group_updated_at
        return group is None or group != subject.issued_for
    status = subject.appointment_status
    return status is None or status in REVOKING_STATUSES
