"""Lifting a login lockout before it ends: an admin, or the person's caseworker.

A username is locked after repeated failed logins (puerta.ratelimits); time lifts it, and
so may someone the person can walk up to. An admin may unlock any account; a caseworker the
assisted accounts assigned to them and, once such an account is claimed, the one its
caseworker last was (the audit log remembers it): unlocking lets the person try their own
password again, it gives the caseworker nothing of theirs. The unlock is an audit event, in
the transaction that clears the counters.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from puerta.accounts.domain import Role, normalize_username
from puerta.accounts.service import AccountView
from puerta.accounts.tables import Account
from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.audit.tables import AuditEvent
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.errors import Forbidden, NotFound
from puerta.ratelimits.limiter import LoginGuard

_ASSIGNMENTS = (EventKind.ASSISTED_ACCOUNT_CREATED, EventKind.CASE_REASSIGNED)


class UnlockNotAllowed(Forbidden):
    code = "unlock_not_allowed"
    message = "Only an administrator, or the caseworker this account is assigned to, can unlock it."


def caseworker_of(session: Session, account: Account) -> int | None:
    """The caseworker of an assisted account: the one it is assigned to, or (claimed) the
    one it was last assigned to; None for an account no caseworker made."""
    if account.assigned_to is not None:
        return account.assigned_to
    if account.consent_how is None:
        return None
    last = session.execute(
        select(AuditEvent.kind, AuditEvent.actor_id, AuditEvent.data)
        .where(AuditEvent.subject == f"account:{account.id}", AuditEvent.kind.in_(_ASSIGNMENTS))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    if last.kind == EventKind.CASE_REASSIGNED:
        caseworker = json.loads(last.data).get("caseworker")
        return caseworker if isinstance(caseworker, int) else None
    actor: int | None = last.actor_id
    return actor


def _allowed(session: Session, staff: AccountView, account: Account | None) -> Account:
    if staff.role is Role.ADMIN:
        if account is None:
            raise NotFound()
        return account
    # A caseworker is told the same for an account that does not exist: no oracle.
    if staff.role is not Role.CASEWORKER or account is None:
        raise UnlockNotAllowed()
    if caseworker_of(session, account) != staff.id:
        raise UnlockNotAllowed()
    return account


def _unlock(
    uow: UnitOfWork, clock: Clock, guard: LoginGuard, staff: AccountView, found: Account | None
) -> None:
    account = _allowed(uow.session, staff, found)
    guard.unlock(account.username, uow.session.connection())
    record(
        uow.session, at=clock.now(), kind=EventKind.ACCOUNT_UNLOCKED, actor_id=staff.id,
        subject=f"account:{account.id}", data={},
    )  # fmt: skip
    uow.commit()


def unlock_account(
    *, uow: UnitOfWork, clock: Clock, guard: LoginGuard, staff: AccountView, account_id: int
) -> None:
    """Let the account log in again now: its failed logins and its lockout are forgotten."""
    with uow:
        _unlock(uow, clock, guard, staff, uow.session.get(Account, account_id))


def unlock_username(
    *, uow: UnitOfWork, clock: Clock, guard: LoginGuard, staff: AccountView, username: str
) -> None:
    """``unlock_account`` for the account with this username (the staff pages' form)."""
    name = normalize_username(username)
    with uow:
        found = uow.session.scalar(select(Account).where(Account.username == name))
        _unlock(uow, clock, guard, staff, found)
