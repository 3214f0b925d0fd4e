"""Assisted registration: a caseworker registers a person who cannot use
the app, acts for them with a delegated token, until the person claims the account.

An assisted account is assigned to one caseworker; no other caseworker, of the same
organization or not, may act for it until an admin reassigns it. Nothing is created without
the person's consent, recorded with how it was given. The claim code is shown once to the
caseworker, who hands it to the person; only its hash is stored.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from puerta.accounts import domain
from puerta.accounts.codes import common_passwords
from puerta.accounts.domain import Consent, Role
from puerta.accounts.service import AccountView, account_view, token_hash
from puerta.accounts.tables import Account, AuthToken, Group
from puerta.audit.domain import EventKind
from puerta.audit.service import record
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.errors import NotFound

# A delegated token lasts a working shift; the caseworker asks for a new one the next day.
DELEGATION_TTL = dt.timedelta(hours=8)
# Until claimed, an assisted account's username is this prefix and a random part (when the
# person has no phone): it is not an e-mail or a phone, so nobody can log in with it and no
# notifier reaches it; the caseworker reads its news on the person's pages.
NO_PHONE_PREFIX = "assisted-"


@dataclass(frozen=True)
class AssistedView:
    """An assisted account as its caseworker sees it (no personal data but the phone)."""

    account_id: int
    language: str
    phone: str | None
    assigned_to: int | None
    consent: str
    created_at: dt.datetime
    claimed: bool
    has_group: bool


@dataclass(frozen=True)
class Assisted:
    """What ``create_assisted`` answers: the account, and the claim code, shown only once."""

    account_id: int
    claim_code: str


def _new_claim_code() -> str:
    # From the OS: a claim code takes over an account.
    size = domain.CLAIM_GROUPS * domain.CLAIM_GROUP_LENGTH
    return domain.format_claim_code(
        "".join(secrets.choice(domain.CLAIM_ALPHABET) for _ in range(size))
    )


def create_assisted(
    *,
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    caseworker: AccountView,
    language: str,
    languages: frozenset[str],
    consent_given: bool,
    consent_how: str,
    phone: str | None,
) -> Assisted:
    """An account for a person, made by their caseworker with their recorded consent."""
    if caseworker.role is not Role.CASEWORKER:
        raise domain.RoleRequired(roles=Role.CASEWORKER.value)
    if not consent_given or consent_how not in set(Consent):
        raise domain.ConsentRequired()
    domain.check_language(language, languages)
    username = _assisted_username(phone)
    claim_code = _new_claim_code()
    now = clock.now()
    with uow:
        if uow.session.scalar(select(Account.id).where(Account.username == username)):
            raise domain.UsernameTaken()
        account = Account(
            username=username,
            # Nobody knows this password: the account is used through delegated tokens until
            # the person claims it and chooses their own.
            password_hash=hasher.hash(secrets.token_urlsafe(32)),
            language=language,
            role=Role.REGISTRANT.value,
            created_at=now,
            assigned_to=caseworker.id,
            claim_code_hash=token_hash(claim_code),
            consent_how=consent_how,
            consent_at=now,
        )
        uow.session.add(account)
        uow.session.flush()
        record(
            uow.session, at=now, kind=EventKind.ASSISTED_ACCOUNT_CREATED, actor_id=caseworker.id,
            subject=f"account:{account.id}", data={"consent": consent_how},
        )  # fmt: skip
        created = Assisted(account.id, claim_code)
        uow.commit()
    return created


def _assisted_username(phone: str | None) -> str:
    if phone is None or not phone.strip():
        return NO_PHONE_PREFIX + secrets.token_hex(8)
    name = domain.normalize_username(phone)
    if "@" in name:
        raise domain.InvalidUsername()
    return name


def _assisted_row(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.consent_how is None:
        raise NotFound()
    return account


def _check_assigned(account: Account, caseworker: AccountView) -> None:
    if caseworker.role is Role.ADMIN:
        return
    if account.assigned_to != caseworker.id:
        raise domain.NotYourAssistedAccount()


def delegated_token(
    *, uow: UnitOfWork, clock: Clock, caseworker: AccountView, account_id: int
) -> tuple[str, dt.datetime]:
    """A bearer token acting as the person, for their assigned caseworker only."""
    now = clock.now()
    with uow:
        account = _assisted_row(uow.session, account_id)
        if account.claim_code_hash is None:
            raise domain.AccountClaimed()
        if caseworker.role is not Role.CASEWORKER or account.assigned_to != caseworker.id:
            raise domain.NotYourAssistedAccount()
        token = secrets.token_urlsafe(32)
        uow.session.add(
            AuthToken(
                token_hash=token_hash(token),
                account_id=account.id,
                created_at=now,
                expires_at=now + DELEGATION_TTL,
                acting_id=caseworker.id,
            )
        )
        record(
            uow.session, at=now, kind=EventKind.DELEGATION_STARTED, actor_id=caseworker.id,
            subject=f"account:{account.id}", data={"expires_at": now + DELEGATION_TTL},
        )  # fmt: skip
        uow.commit()
    return token, now + DELEGATION_TTL


def claim_account(
    *,
    uow: UnitOfWork,
    clock: Clock,
    hasher: PasswordHasher,
    claim_code: str,
    username: str,
    password: str,
) -> AccountView:
    """The person takes their account over: their own username and password; every
    delegated token is revoked and the caseworker can no longer act for them."""
    code = domain.normalize_claim_code(claim_code)
    name = domain.normalize_username(username)
    domain.check_password(password, common=common_passwords())
    now = clock.now()
    with uow:
        account = (
            None
            if code is None
            else uow.session.scalar(
                select(Account).where(Account.claim_code_hash == token_hash(code))
            )
        )
        if account is None:
            raise domain.BadClaimCode()
        taken = uow.session.scalar(select(Account.id).where(Account.username == name))
        if taken is not None and taken != account.id:
            raise domain.UsernameTaken()
        account.username, account.password_hash = name, hasher.hash(password)
        account.claim_code_hash, account.assigned_to = None, None
        uow.session.execute(
            delete(AuthToken).where(
                AuthToken.account_id == account.id, AuthToken.acting_id.is_not(None)
            )
        )
        record(
            uow.session, at=now, kind=EventKind.ACCOUNT_CLAIMED, actor_id=account.id,
            subject=f"account:{account.id}", data={},
        )  # fmt: skip
        view = account_view(account)
        uow.commit()
    return view


def _assisted_view(account: Account, has_group: bool) -> AssistedView:
    phone = None if account.username.startswith(NO_PHONE_PREFIX) else account.username
    return AssistedView(
        account_id=account.id,
        language=account.language,
        phone=phone,
        assigned_to=account.assigned_to,
        consent=account.consent_how or "",
        created_at=account.consent_at or account.created_at,
        claimed=account.claim_code_hash is None,
        has_group=has_group,
    )


def list_assisted(*, uow: UnitOfWork, caseworker: AccountView) -> list[AssistedView]:
    """The unclaimed accounts assigned to the caseworker (an admin: every unclaimed one)."""
    query = (
        select(Account, Group.id)
        .outerjoin(Group, Group.account_id == Account.id)
        .where(Account.claim_code_hash.is_not(None))
        .order_by(Account.id)
    )
    if caseworker.role is not Role.ADMIN:
        query = query.where(Account.assigned_to == caseworker.id)
    with uow:
        rows = uow.session.execute(query).all()
        return [_assisted_view(account, group is not None) for account, group in rows]


def get_assisted(*, uow: UnitOfWork, caseworker: AccountView, account_id: int) -> AssistedView:
    with uow:
        account = _assisted_row(uow.session, account_id)
        _check_assigned(account, caseworker)
        has_group = uow.session.scalar(select(Group.id).where(Group.account_id == account.id))
        return _assisted_view(account, has_group is not None)


def reassign(
    *, uow: UnitOfWork, clock: Clock, admin_id: int, account_id: int, caseworker_id: int
) -> AssistedView:
    """An admin gives an assisted account to another caseworker; the old tokens end."""
    now = clock.now()
    with uow:
        account = _assisted_row(uow.session, account_id)
        if account.claim_code_hash is None:
            raise domain.AccountClaimed()
        target = uow.session.get(Account, caseworker_id)
        if target is None or target.role != Role.CASEWORKER.value:
            raise domain.NotACaseworker()
        account.assigned_to = target.id
        uow.session.execute(
            delete(AuthToken).where(
                AuthToken.account_id == account.id, AuthToken.acting_id.is_not(None)
            )
        )
        record(
            uow.session, at=now, kind=EventKind.CASE_REASSIGNED, actor_id=admin_id,
            subject=f"account:{account.id}", data={"caseworker": target.id},
        )  # fmt: skip
        has_group = uow.session.scalar(select(Group.id).where(Group.account_id == account.id))
        view = _assisted_view(account, has_group is not None)
        uow.commit()
    return view
