"""The audit log's rules: canonical JSON, event hashes and chain verification (stdlib only).

Every state change appends one event; each event's hash covers the previous event's hash,
so changing, deleting or reordering any stored event breaks the chain from that point on.
An event's ``data`` never carries personal data (names, birth dates, usernames,
coordinates, passwords, ID documents): only ids, slugs, dates, counts and codes, because
the log is published for auditors and is never edited or deleted.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS = "0" * 64
MAX_SUBJECT_LENGTH = 64

# Keys that would put a person's identity into a log that can never be erased.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "given_names",
        "family_names",
        "birth_date",
        "username",
        "lat",
        "lon",
        "password",
        "id_document",
    }
)


class EventKind(enum.StrEnum):
    """What happened; each value is stored and hashed as is, so it never changes."""

    REQUEST_MADE = "request_made"
    REQUEST_WITHDRAWN = "request_withdrawn"
    DRAW_RUN = "draw_run"
    OFFER_MADE = "offer_made"
    OFFER_EXPIRED = "offer_expired"
    APPOINTMENT_CONFIRMED = "appointment_confirmed"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPEAL_OPENED = "appeal_opened"
    APPEAL_DECIDED = "appeal_decided"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    CAPACITY_SET = "capacity_set"
    ROLE_CHANGED = "role_changed"
    ACCOUNT_CREATED = "account_created"
    GROUP_SET = "group_set"
    DOCUMENT_RECORDED = "document_recorded"
    DOCUMENT_UPDATED = "document_updated"
    ORGANIZATION_CREATED = "organization_created"
    ASSISTED_ACCOUNT_CREATED = "assisted_account_created"
    DELEGATION_STARTED = "delegation_started"
    ACCOUNT_CLAIMED = "account_claimed"
    CASE_REASSIGNED = "case_reassigned"
    # A login lockout lifted early by an admin or the account's caseworker (puerta.ratelimits).
    ACCOUNT_UNLOCKED = "account_unlocked"
    SCREENING_SET = "screening_set"
    EXCEPTION_REQUESTED = "exception_requested"
    EXCEPTION_ASSIGNED = "exception_assigned"
    EXCEPTION_DECIDED = "exception_decided"
    EXCEPTION_REVIEW_REQUESTED = "exception_review_requested"
    URGENT_PROPOSED = "urgent_proposed"
    URGENT_APPROVED = "urgent_approved"
    # Incident triage: report ids and status codes only, never what happened, who or where
    # (those are published only with small counts suppressed). Nothing at submission.
    INCIDENTS_UNLOCKED = "incidents_unlocked"
    INCIDENT_OPENED = "incident_opened"
    INCIDENT_STATUS_CHANGED = "incident_status_changed"
    INCIDENT_NOTE_ADDED = "incident_note_added"
    INCIDENT_MESSAGE_SENT = "incident_message_sent"
    INCIDENTS_EXPORTED = "incidents_exported"
    # A person's right to their data (puerta.accounts.rights): counts and codes only.
    DATA_EXPORTED = "data_exported"
    ACCOUNT_ERASED = "account_erased"


class Reason(enum.StrEnum):
    """Why a link of the chain is broken."""

    HASH_MISMATCH = "hash_mismatch"  # the event's fields do not give its stored hash
    PREV_MISMATCH = "prev_mismatch"  # the event does not point at the previous event's hash
    GAP = "gap"  # the event with this seq is missing (deleted, truncated or out of order)
    HEAD_MISMATCH = "head_mismatch"  # the last event is not the one the head row records


@dataclass(frozen=True)
class Broken:
    seq: int
    reason: Reason


@dataclass(frozen=True)
class Head:
    """The chain's end: the last seq and its hash (``Head(0, GENESIS)`` when empty)."""

    seq: int
    last_hash: str


EMPTY = Head(0, GENESIS)


@dataclass(frozen=True)
class OnBehalf:
    """A caseworker acting for a person through a delegated token (assisted registration)."""

    actor_id: int
    account_id: int


# Where a unit of work carries its OnBehalf (puerta.db.UnitOfWork's ``info``).
ON_BEHALF = "puerta.on_behalf"


def acting_for(
    on_behalf: OnBehalf | None, actor_id: int | None, data: Mapping[str, object]
) -> tuple[int | None, Mapping[str, object]]:
    """The actor and data an event records: under a delegation, the caseworker acting and
    ``on_behalf_of`` the person's account id, whatever the use case passed."""
    if on_behalf is None:
        return actor_id, data
    return on_behalf.actor_id, {**data, "on_behalf_of": on_behalf.account_id}


def format_at(at: dt.datetime) -> str:
    """An instant as UTC ISO-8601 with microseconds and a Z, the form that is hashed."""
    if at.utcoffset() is None:
        raise ValueError("audit events need an aware datetime")
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        return format_at(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in audit data")


def canonical_json(data: object) -> str:
    """One JSON text per value: sorted keys, no spaces, UTF-8 kept, dates as ISO strings."""
    return json.dumps(
        data,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def personal_keys(data: object) -> set[str]:
    """The denylisted keys found anywhere in ``data``, nested dicts and lists included."""
    found: set[str] = set()
    if isinstance(data, Mapping):
        for key, value in data.items():
            if str(key).lower() in PERSONAL_KEYS:
                found.add(str(key))
            found |= personal_keys(value)
    elif isinstance(data, list | tuple):
        for item in data:
            found |= personal_keys(item)
    return found


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    kind: str,
    actor_id: int | None,
    subject: str,
    data: str,
) -> str:
    """SHA-256 (hex) of the event's fields; ``data`` is the stored canonical JSON text."""
    # Hashing the stored text, not a re-encoding of it, means verification needs no JSON
    # parsing and any byte changed in the column is caught.
    fields = [prev_hash, seq, format_at(at), str(kind), actor_id, subject, data]
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Event:
    seq: int
    at: dt.datetime
    kind: str
    actor_id: int | None
    subject: str
    data: str
    prev_hash: str
    hash: str

    def recomputed_hash(self) -> str:
        return event_hash(
            prev_hash=self.prev_hash,
            seq=self.seq,
            at=self.at,
            kind=self.kind,
            actor_id=self.actor_id,
            subject=self.subject,
            data=self.data,
        )


@dataclass(frozen=True)
class NewEvent:
    """An event to append (``record``'s arguments), one of a batch for ``record_many``."""

    at: dt.datetime
    kind: EventKind
    actor_id: int | None
    subject: str
    data: Mapping[str, object]


@dataclass(frozen=True)
class Draft:
    """A checked event that has no place in the chain yet."""

    at: dt.datetime
    kind: EventKind
    actor_id: int | None
    subject: str
    data: str

    def seal(self, after: Head) -> Event:
        """The event that follows ``after`` in the chain."""
        seq = after.seq + 1
        digest = event_hash(
            prev_hash=after.last_hash,
            seq=seq,
            at=self.at,
            kind=self.kind,
            actor_id=self.actor_id,
            subject=self.subject,
            data=self.data,
        )
        return Event(
            seq, self.at, self.kind, self.actor_id, self.subject, self.data, after.last_hash, digest
        )


def draft(
    *,
    at: dt.datetime,
    kind: EventKind,
    actor_id: int | None,
    subject: str,
    data: Mapping[str, object],
) -> Draft:
    """Check an event before anything is written; a ValueError here is a programming error."""
    format_at(at)
    if not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
        raise ValueError(f"an audit subject has 1 to {MAX_SUBJECT_LENGTH} characters")
    found = personal_keys(data)
    if found:
        raise ValueError(f"personal data never goes into the audit log: {sorted(found)}")
    return Draft(at, EventKind(kind), actor_id, subject, canonical_json(dict(data)))


class Chain:
    """Walks a chain one event at a time, so millions of events need no memory."""

    def __init__(self, start: Head = EMPTY) -> None:
        self.head = start
        self.count = 0

    def add(self, event: Event) -> Broken | None:
        """Accept the next event, or say how it breaks the chain."""
        expected = self.head.seq + 1
        if event.seq != expected:
            return Broken(expected, Reason.GAP)
        if event.prev_hash != self.head.last_hash:
            return Broken(event.seq, Reason.PREV_MISMATCH)
        if event.recomputed_hash() != event.hash:
            return Broken(event.seq, Reason.HASH_MISMATCH)
        self.head = Head(event.seq, event.hash)
        self.count += 1
        return None

    def ends_at(self, head: Head) -> Broken | None:
        """Compare the walked chain with the recorded head: a truncated tail is a gap."""
        if self.head == head:
            return None
        if self.head.seq < head.seq:
            return Broken(self.head.seq + 1, Reason.GAP)
        if self.head.seq > head.seq:
            return Broken(head.seq + 1, Reason.HEAD_MISMATCH)
        return Broken(head.seq, Reason.HEAD_MISMATCH)


def first_broken(events: Iterable[Event], *, head: Head | None = None) -> Broken | None:
    """The first broken link of events given in seq order; with ``head``, a cut tail too."""
    chain = Chain()
    for event in events:
        broken = chain.add(event)
        if broken is not None:
            return broken
    return chain.ends_at(head) if head is not None else None
