"""A person's right to their data: everything puerta holds about an account and its group,
as one JSON document, and its erasure.

Each context answers for its own tables. Those above accounts (appointments, vulnerability,
documents, proofs) do it through a ``Holder`` that the runtime passes in (Runtime.holders),
in the order the erasure runs them: a live offer or appointment is given up first, its seats
going back to the next draw, before anything the group is made of goes.

An erasure keeps the audit log (ids, codes and counts, never a name: puerta.audit.domain)
and what the published draws and the seat counts need, with nothing left that names the
person: the rows of their requests and offers (ports, dates, persons, statuses), and an
empty account row and group row for those to point at. The two empty rows are kept, not
deleted, because SQLite gives the number of a deleted last row to the next row made: the
next account would be handed the erased person's audit events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, Select, delete, inspect, select, update
from sqlalchemy.orm import Session

from puerta.accounts.domain import Consent, InvalidToken, Role, require_role
from puerta.accounts.service import AccountView
from puerta.accounts.tables import Account, AuthToken, Group
from puerta.audit.domain import EventKind
from puerta.audit.service import events_about, record
from puerta.clock import Clock
from puerta.db import Base, UnitOfWork
from puerta.errors import Forbidden, Invalid
from puerta.notifications.tables import Notification

FORMAT = "puerta-export/1"
# Each list of the export holds at most this many rows (a person has a few dozen at most);
# a list cut short is named in the export's ``truncated``.
MAX_ROWS = 1000
# An erased account's username: neither an e-mail nor a phone, so no one can log in with it,
# register it, or be sent anything to it.
ERASED_PREFIX = "erased-"
# What an account's row keeps of its secrets in an export: nothing (one-way hashes).
SECRETS = frozenset({"password_hash", "claim_code_hash", "token_hash"})


class WrongPassword(Forbidden):
    code = "wrong_password"
    message = "The password is not correct. Nothing was erased."


class PasswordRequired(Invalid):
    code = "password_required"
    message = "Type your password to confirm that everything is to be erased."


class ErasureConsentRequired(Invalid):
    code = "consent_required"
    message = (
        "Nothing was erased: the person must agree to the erasure, spoken or signed, "
        "and you must record it."
    )


@dataclass(frozen=True)
class NotIncluded:
    """Something the export leaves out, and why (``why`` is an English message id)."""

    what: str
    why: str


NOT_INCLUDED = (
    NotIncluded(
        "incident_reports",
        "Crime reports are anonymous: they are not linked to any account, so no one can tell "
        "which are yours. Follow yours with the receipt you were given.",
    ),
    NotIncluded(
        "draw_records",
        "The published draw records hold request numbers, group sizes and registration "
        "times, never a name. They are public and never change, so that anyone can check "
        "the draws.",
    ),
    NotIncluded(
        "secrets",
        "Your password, your login sessions and a claim code are kept only as one-way "
        "codes, which cannot be turned back into them.",
    ),
    NotIncluded(
        "signed_proofs",
        "Proofs are signed anew each time you open them and are not kept; the list shows "
        "the status numbers they carry.",
    ),
    NotIncluded(
        "staff",
        "The staff who acted on your records (caseworkers, officers, administrators) appear "
        "only as account numbers.",
    ),
)
# What an erasure keeps, for the page that warns before it.
KEPT_AFTER_ERASURE = (
    "The audit log: what happened and when, with account and record numbers but no names.",
    "The published draw records and the numbers of seats, persons and dates of your "
    "requests and appointments, with nothing that names you.",
)


def message_ids() -> list[str]:
    """The texts the pages show from here, for the catalogs."""
    return [note.why for note in NOT_INCLUDED] + list(KEPT_AFTER_ERASURE)


@dataclass(frozen=True)
class Held:
    """What one context holds of a person: the export's lists by name, the audit subjects
    of those records, and the lists cut at ``MAX_ROWS``."""

    sections: dict[str, Any]
    subjects: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)


class Holder(Protocol):
    """One context's part of a person's data (``group_id`` None: no group yet)."""

    def export(self, session: Session, account_id: int, group_id: int | None) -> Held: ...

    def erase(
        self, session: Session, account_id: int, group_id: int | None, now: dt.datetime
    ) -> dict[str, int]:
        """Remove or strip the context's records of the person; counts for the audit."""
        ...


@dataclass(frozen=True)
class DataExport:
    """Everything puerta holds about an account and its group (format ``FORMAT``)."""

    format: str
    exported_at: dt.datetime
    account: dict[str, Any]
    sessions: list[dict[str, Any]]
    group: dict[str, Any] | None
    requests: list[dict[str, Any]]
    appointments: list[dict[str, Any]]
    appeals: list[dict[str, Any]]
    screening: dict[str, Any] | None
    exception: dict[str, Any] | None
    documents: list[dict[str, Any]]
    proofs: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    audit_events: list[dict[str, Any]]
    not_included: list[NotIncluded]
    truncated: list[str]


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: when, and how many records of each kind it removed or closed."""

    erased_at: dt.datetime
    counts: dict[str, int]


def columns(row: Base, *, leave_out: Collection[str] = ()) -> dict[str, Any]:
    """Every column of a row by name (an encrypted one as its plain value), secrets never."""
    names = [attr.key for attr in inspect(row).mapper.column_attrs]
    return {
        name: getattr(row, name) for name in names if name not in SECRETS and name not in leave_out
    }


def capped(session: Session, query: Select[Any]) -> tuple[list[Any], bool]:
    """At most ``MAX_ROWS`` rows of ``query``, and whether there were more."""
    found = list(session.scalars(query.limit(MAX_ROWS + 1)))
    return found[:MAX_ROWS], len(found) > MAX_ROWS


def export_data(
    *, uow: UnitOfWork, clock: Clock, account: AccountView, holders: Sequence[Holder]
) -> DataExport:
    """Everything puerta holds about the account and its group, as one document; a
    caseworker's export for the person is recorded in the audit log."""
    now = clock.now()
    with uow:
        session = uow.session
        row = session.get(Account, account.id)
        if row is None:
            raise InvalidToken()
        group = session.scalar(select(Group).where(Group.account_id == account.id))
        held = _gather(session, row, group, holders)
        if account.acting_id is not None:
            record(
                session, at=now, kind=EventKind.DATA_EXPORTED, actor_id=account.id,
                subject=f"account:{account.id}", data={},
            )  # fmt: skip
            uow.commit()
    return DataExport(format=FORMAT, exported_at=now, not_included=list(NOT_INCLUDED), **held)


def _gather(
    session: Session, account: Account, group: Group | None, holders: Sequence[Holder]
) -> dict[str, Any]:
    group_id = group.id if group is not None else None
    subjects = [f"account:{account.id}"] + ([f"group:{group_id}"] if group_id else [])
    sections, truncated = _own(session, account, group)
    for holder in holders:
        part = holder.export(session, account.id, group_id)
        sections |= part.sections
        subjects += part.subjects
        truncated += part.truncated
    events = events_about(session, subjects, limit=MAX_ROWS + 1)
    if len(events) > MAX_ROWS:
        truncated.append("audit_events")
    sections["audit_events"] = [
        {**dataclasses.asdict(e), "data": json.loads(e.data)} for e in events[:MAX_ROWS]
    ]
    return sections | {"truncated": truncated}


def _own(
    session: Session, account: Account, group: Group | None
) -> tuple[dict[str, Any], list[str]]:
    """The account, its sessions, its group and members, its notifications."""
    tokens, more_tokens = capped(
        session, select(AuthToken).where(AuthToken.account_id == account.id).order_by(
            AuthToken.created_at
        )
    )  # fmt: skip
    notes, more_notes = capped(
        session,
        select(Notification).where(Notification.account_id == account.id).order_by(
            Notification.id
        ),
    )  # fmt: skip
    sections = {
        "account": columns(account),
        "sessions": [columns(t) for t in tokens],
        "group": _group(group) if group is not None else None,
        "notifications": [columns(n) | {"params": json.loads(n.params)} for n in notes],
    }
    truncated = ["sessions"] * more_tokens + ["notifications"] * more_notes
    return sections, truncated


def _group(group: Group) -> dict[str, Any]:
    members = [
        columns(m, leave_out={"group_id"}) | {"languages": [x for x in m.languages.split(",") if x]}
        for m in group.members
    ]
    return columns(group) | {"registered_at": group.registered_at, "members": members}


# Erasure ---------------------------------------------------------------------------------


def erase_account(
    *,
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    account: AccountView,
    password: str,
    consent: str | None,
    holders: Sequence[Holder],
) -> Erasure:
    """Erase the person's data in one transaction, keeping only pseudonymous records.

    The account's own password confirms it; a caseworker acting for the person (a delegated
    token) confirms with their own password and records the person's consent."""
    require_role(account.role, frozenset({Role.REGISTRANT}))
    how = _consent(account, consent)
    if not password:
        raise PasswordRequired()
    now = clock.now()
    with uow:
        session = uow.session
        _check_password(session, hasher, account, password)
        _hold(session, account.id)
        with _zeroed(session):
            counts = _erase(session, account.id, holders, now)
        data: dict[str, object] = {**counts, **({"consent": how} if how else {})}
        record(
            session, at=now, kind=EventKind.ACCOUNT_ERASED, actor_id=account.id,
            subject=f"account:{account.id}", data=data,
        )  # fmt: skip
        uow.commit()
    return Erasure(erased_at=now, counts=counts)


def _consent(account: AccountView, consent: str | None) -> str | None:
    """The person's consent, recorded when a caseworker erases for them (else None)."""
    if account.acting_id is None:
        return None
    if consent not in set(Consent):
        raise ErasureConsentRequired()
    return consent


def _check_password(
    session: Session, hasher: PasswordHasher, account: AccountView, password: str
) -> None:
    """Against the account's own hash, or the acting caseworker's; before any lock is held
    (a hash costs tens of milliseconds that no other writer should wait for)."""

    def hash_of(account_id: int) -> str:
        return session.scalar(select(Account.password_hash).where(Account.id == account_id)) or ""

    own = hash_of(account.id)
    if not own:
        raise InvalidToken()  # erased meanwhile, with the sessions it had
    stored = own if account.acting_id is None else hash_of(account.acting_id)
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise WrongPassword() from None


def _hold(session: Session, account_id: int) -> None:
    """Take the account's row, unless it was erased meanwhile (then its token has ended)."""
    # An UPDATE, not a SELECT: it waits for another erasure's commit (a row lock on
    # PostgreSQL, the write lock on SQLite) and then sees what that one wrote.
    taken = session.execute(
        update(Account)
        .where(Account.id == account_id, Account.password_hash != "")
        .values(password_hash=Account.password_hash)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], taken).rowcount != 1:
        raise InvalidToken()


@contextmanager
def _zeroed(session: Session) -> Iterator[None]:
    """On SQLite, what is deleted here is overwritten with zeros in the database file,
    not only unlinked (PostgreSQL's rows are not readable once deleted and vacuumed)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    # Debian's SQLite does it always (built with SQLITE_SECURE_DELETE); others do not.
    before = connection.exec_driver_sql("PRAGMA secure_delete").scalar_one()
    connection.exec_driver_sql("PRAGMA secure_delete = ON")
    try:
        yield
        session.flush()
    finally:
        connection.exec_driver_sql(f"PRAGMA secure_delete = {int(before)}")


def _erase(
    session: Session, account_id: int, holders: Sequence[Holder], now: dt.datetime
) -> dict[str, int]:
    group = session.scalar(select(Group).where(Group.account_id == account_id))
    group_id = group.id if group is not None else None
    counts: dict[str, int] = {}
    for holder in holders:
        counts |= holder.erase(session, account_id, group_id, now)
    counts |= _erase_own(session, account_id, group, now)
    return counts


def _deleted(session: Session, statement: Any) -> int:
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def _erase_own(
    session: Session, account_id: int, group: Group | None, now: dt.datetime
) -> dict[str, int]:
    """Members, notifications and sessions go; the account and group rows stay, empty."""
    members = 0
    if group is not None:
        members = len(group.members)
        group.members.clear()
        group.vulnerability_approved, group.updated_at = False, now
    notes = _deleted(session, delete(Notification).where(Notification.account_id == account_id))
    tokens = _deleted(session, delete(AuthToken).where(AuthToken.account_id == account_id))
    session.execute(
        update(Account).where(Account.id == account_id).values(
            username=f"{ERASED_PREFIX}{account_id}", password_hash="", language="", port=None,
            organization_id=None, assigned_to=None, claim_code_hash=None, consent_how=None,
            consent_at=None,
        ).execution_options(synchronize_session=False)
    )  # fmt: skip
    return {"members": members, "notifications": notes, "sessions": tokens}
