"""Use cases for accounts, login and family groups."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from puerta.accounts import domain
from puerta.accounts.codes import common_passwords, known_codes
from puerta.accounts.domain import Member, Role
from puerta.accounts.tables import (
    Account,
    AuthToken,
    Group,
    GroupMember,
    Organization,
    epoch_us,
)
from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.errors import NotFound
from puerta.geo.domain import check_port_slug
from puerta.ratelimits.limiter import LoginGuard


def dummy_hash(hasher: PasswordHasher) -> str:
    """Verified when a username is unknown, so that a wrong username costs what a wrong
    password does: a hash of ``hasher``'s own parameters, made once per process."""
    return _dummy_hash(
        hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len,
        hasher.salt_len, hasher.type,
    )  # fmt: skip


@functools.cache
def _dummy_hash(
    time_cost: int, memory_cost: int, parallelism: int, hash_len: int, salt_len: int, kind: Type
) -> str:
    hasher = PasswordHasher(time_cost, memory_cost, parallelism, hash_len, salt_len, type=kind)
    return hasher.hash("not-a-real-password")


class GroupNotFound(NotFound):
    code = "group_missing"
    status = 409
    message = "Register your family group first."


@dataclass(frozen=True)
class AccountView:
    id: int
    username: str
    role: Role
    language: str
    port: str | None
    created_at: dt.datetime
    # A caseworker's organization (its row id).
    organization_id: int | None = None
    # Set when the call is made with a delegated token: the caseworker acting for the person.
    acting_id: int | None = None


@dataclass(frozen=True)
class GroupView:
    id: int
    registered_at: dt.datetime
    updated_at: dt.datetime
    members: list[Member]


def account_view(account: Account) -> AccountView:
    """The view of an account row (no delegation)."""
    return _view(account)


def _view(account: Account, acting_id: int | None = None) -> AccountView:
    return AccountView(
        id=account.id,
        username=account.username,
        role=Role(account.role),
        language=account.language,
        port=account.port,
        created_at=account.created_at,
        organization_id=account.organization_id,
        acting_id=acting_id,
    )


def create_account(
    *,
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    username: str,
    password: str,
    language: str,
    languages: frozenset[str],
    role: Role = Role.REGISTRANT,
    port: str | None = None,
    organization: str | None = None,
) -> AccountView:
    """Register an account; staff roles come only from the CLI.

    An officer needs a port and a caseworker an organization (its slug); others get neither.
    """
    name = domain.normalize_username(username)
    domain.check_password(password, common=common_passwords())
    domain.check_language(language, languages)
    port = _staff_port(role, port)
    if role is Role.CASEWORKER and organization is None:
        raise domain.CaseworkerNeedsOrganization()
    with uow:
        if uow.session.scalar(select(Account.id).where(Account.username == name)) is not None:
            raise domain.UsernameTaken()
        account = Account(
            username=name,
            password_hash=hasher.hash(password),
            language=language,
            role=role.value,
            port=port,
            created_at=clock.now(),
            organization_id=(
                organization_id(uow.session, organization)
                if role is Role.CASEWORKER and organization is not None
                else None
            ),
        )
        uow.session.add(account)
        uow.session.flush()
        if role is not Role.REGISTRANT:
            _record_role(uow, account, clock.now())
        view = _view(account)
        uow.commit()
    return view


def _staff_port(role: Role, port: str | None) -> str | None:
    if role is not Role.OFFICER:
        return None
    if port is None:
        raise domain.OfficerNeedsPort()
    check_port_slug(port)
    return port


def organization_id(session: Session, slug: str) -> int:
    """The row id of the organization ``slug``, or ``unknown_organization``."""
    # A text no slug can be is not looked up (PostgreSQL refuses a NUL in a query).
    query = select(Organization.id).where(Organization.slug == slug)
    found = session.scalar(query) if domain.is_organization_slug(slug) else None
    if found is None:
        raise domain.UnknownOrganization(slug=slug)
    return found


def token_hash(token: str) -> str:
    """What is stored of a bearer token (and of a claim code): its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def log_in(
    *,
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    username: str,
    password: str,
    ttl: dt.timedelta,
    guard: LoginGuard | None = None,
) -> tuple[str, dt.datetime]:
    """Check the password and issue a bearer token; returns (token, expiry).

    With a ``guard``, a locked username is refused before its password is checked, and a
    failure is counted towards a lockout whether or not an account has the username."""
    try:
        name = domain.normalize_username(username)
    except domain.InvalidUsername:
        name = ""
    guard = guard if name else None  # a malformed username is nobody's: nothing to lock
    if guard is not None:
        guard.check(name)
    try:
        issued = _issue_token(uow, clock, hasher, name=name, password=password, ttl=ttl)
    except domain.BadCredentials:
        if guard is not None:
            guard.failed(name)
        raise
    if guard is not None:
        guard.succeeded(name)
    return issued


def _issue_token(
    uow: UnitOfWork, clock: Clock, hasher: PasswordHasher, *, name: str, password: str,
    ttl: dt.timedelta,
) -> tuple[str, dt.datetime]:  # fmt: skip
    with uow:
        account = uow.session.scalar(select(Account).where(Account.username == name))
        try:
            hasher.verify(account.password_hash if account else dummy_hash(hasher), password)
        except (VerificationError, InvalidHashError):
            raise domain.BadCredentials() from None
        if account is None:
            raise domain.BadCredentials()
        token = secrets.token_urlsafe(32)
        now = clock.now()
        uow.session.execute(
            delete(AuthToken).where(AuthToken.account_id == account.id, AuthToken.expires_at <= now)
        )
        uow.session.add(
            AuthToken(
                token_hash=token_hash(token),
                account_id=account.id,
                created_at=now,
                expires_at=now + ttl,
            )
        )
        uow.commit()
    return token, now + ttl


def account_for_token(*, uow: UnitOfWork, clock: Clock, token: str) -> AccountView:
    """The account a live bearer token belongs to."""
    with uow:
        found = accounts_for_tokens(uow.session, [token_hash(token)], clock.now())
    if not found:
        raise domain.InvalidToken()
    return next(iter(found.values()))


def accounts_for_tokens(
    session: Session, hashes: Sequence[str], now: dt.datetime
) -> dict[str, AccountView]:
    """The accounts that live bearer tokens (given as ``token_hash``) belong to, by hash, in
    one statement: the request intake looks up a whole batch of callers at once."""
    a, t = Account, AuthToken
    rows = session.execute(
        select(a.id, a.username, a.role, a.language, a.port, a.created_at, a.organization_id,
               t.acting_id, t.token_hash, t.expires_at)
        .join(t, t.account_id == a.id)
        .where(t.token_hash.in_(set(hashes)))
    )  # fmt: skip
    found = {}
    for row in rows:
        if row.expires_at > now:
            found[row.token_hash] = AccountView(
                id=row.id, username=row.username, role=Role(row.role), language=row.language,
                port=row.port, created_at=row.created_at, organization_id=row.organization_id,
                acting_id=row.acting_id,
            )  # fmt: skip
    return found


def log_out(*, uow: UnitOfWork, token: str) -> None:
    """Revoke one bearer token."""
    with uow:
        uow.session.execute(delete(AuthToken).where(AuthToken.token_hash == token_hash(token)))
        uow.commit()


def get_account(*, uow: UnitOfWork, username: str) -> AccountView:
    with uow:
        account = uow.session.scalar(
            select(Account).where(Account.username == domain.normalize_username(username))
        )
        if account is None:
            raise NotFound()
        return _view(account)


def _record_role(
    uow: UnitOfWork, account: Account, now: dt.datetime, actor_id: int | None = None
) -> None:
    record(
        uow.session, at=now, kind=EventKind.ROLE_CHANGED, actor_id=actor_id,
        subject=f"account:{account.id}", data={"role": account.role, "port": account.port},
    )  # fmt: skip


def set_role(
    *,
    uow: UnitOfWork,
    clock: Clock,
    username: str,
    role: Role,
    port: str | None,
    actor_id: int | None = None,
    organization: str | None = None,
) -> AccountView:
    """Change an account's role (the CLI, or an admin's page with ``actor_id``).

    A caseworker keeps the organization they had unless ``organization`` names another."""
    port = _staff_port(role, port)
    with uow:
        account = uow.session.scalar(
            select(Account).where(Account.username == domain.normalize_username(username))
        )
        if account is None:
            raise NotFound()
        if role is Role.CASEWORKER:
            if organization is not None:
                account.organization_id = organization_id(uow.session, organization)
            if account.organization_id is None:
                raise domain.CaseworkerNeedsOrganization()
        else:
            account.organization_id = None
        account.role = role.value
        account.port = port
        _record_role(uow, account, clock.now(), actor_id)
        view = _view(account)
        uow.commit()
    return view


def set_language(
    *, uow: UnitOfWork, account_id: int, language: str, languages: frozenset[str]
) -> AccountView:
    """Remember the language an account reads, for its pages and notifications."""
    domain.check_language(language, languages)
    with uow:
        account = uow.session.get(Account, account_id)
        if account is None:
            raise NotFound()
        account.language = language
        view = _view(account)
        uow.commit()
    return view


def _members(group: Group) -> list[Member]:
    return [
        Member(
            given_names=m.given_names,
            family_names=m.family_names,
            birth_date=m.birth_date,
            nationality=m.nationality,
            languages=tuple(x for x in m.languages.split(",") if x),
            id_document=m.id_document,
        )
        for m in group.members
    ]


def _group_view(group: Group) -> GroupView:
    return GroupView(
        id=group.id,
        registered_at=group.registered_at,
        updated_at=group.updated_at,
        members=_members(group),
    )


# Refuses, raising a DomainError, while a group's members may not change. The contexts above
# decide when (appointments: while the group holds seats, as changing its persons would split
# or overfill a slot); accounts cannot import them, so the runtime passes the check in
# (Runtime.group_lock).
GroupLock = Callable[[Session, int], None]


def set_group(
    *, uow: UnitOfWork, clock: Clock, account_id: int, members: list[Member], lock: GroupLock
) -> GroupView:
    """Create or replace the account's family group; registration seniority is kept."""
    now = clock.now()
    cleaned = domain.clean_group(members, today=now.date(), known=known_codes())
    with uow:
        group = uow.session.scalar(select(Group).where(Group.account_id == account_id))
        if group is not None:
            lock(uow.session, group.id)
        else:
            group = Group(account_id=account_id, registered_us=epoch_us(now), updated_at=now)
            uow.session.add(group)
        group.updated_at = now
        group.size = len(cleaned)
        group.members.clear()
        uow.session.flush()
        for position, member in enumerate(cleaned):
            group.members.append(
                GroupMember(
                    position=position,
                    given_names=member.given_names,
                    family_names=member.family_names,
                    birth_date=member.birth_date,
                    nationality=member.nationality,
                    languages=",".join(member.languages),
                    id_document=member.id_document,
                )
            )
        uow.session.flush()
        view = _group_view(group)
        uow.commit()
    return view


def get_group(*, uow: UnitOfWork, account_id: int) -> GroupView:
    """The account's family group, or ``group_missing``."""
    with uow:
        group = uow.session.scalar(select(Group).where(Group.account_id == account_id))
        if group is None:
            raise GroupNotFound()
        return _group_view(group)


def username_of(session: Session, account_id: int) -> str | None:
    """Where the account's notifications go: its username (notifications.service.Recipients)."""
    return session.scalar(select(Account.username).where(Account.id == account_id))


# Organizations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizationView:
    id: int
    slug: str
    name: str
    created_at: dt.datetime


def create_organization(*, uow: UnitOfWork, clock: Clock, slug: str, name: str) -> OrganizationView:
    """Register a shelter, legal-aid or humanitarian organization (the CLI)."""
    slug, name = domain.clean_organization(slug, name)
    with uow:
        if uow.session.scalar(select(Organization.id).where(Organization.slug == slug)):
            raise domain.OrganizationTaken()
        org = Organization(slug=slug, name=name, created_at=clock.now())
        uow.session.add(org)
        uow.session.flush()
        record(
            uow.session, at=clock.now(), kind=EventKind.ORGANIZATION_CREATED, actor_id=None,
            subject=f"organization:{org.id}", data={"slug": slug},
        )  # fmt: skip
        view = OrganizationView(org.id, org.slug, org.name, org.created_at)
        uow.commit()
    return view


def list_organizations(*, uow: UnitOfWork) -> list[OrganizationView]:
    with uow:
        rows = uow.session.scalars(select(Organization).order_by(Organization.slug)).all()
        return [OrganizationView(o.id, o.slug, o.name, o.created_at) for o in rows]


def assigned_caseworker(session: Session, account_id: int) -> int | None:
    """The caseworker an unclaimed assisted account is assigned to, else None."""
    return session.scalar(select(Account.assigned_to).where(Account.id == account_id))
