"""Use cases of proofs: sign a person's proofs, publish the status list, verify a token.

A proof is signed afresh on every request (Ed25519 is cheap) and never stored; its status
index is kept, and re-used while a proof with it may still be valid. Revocation is derived
from the state of what a proof attests when the list is built (``domain.is_revoked``), so
no use case below (cancelling an appointment, deleting an account) needs to know proofs.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puerta.accounts.service import GroupNotFound
from puerta.accounts.tables import Account, Group, GroupMember
from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.appointments.rules import AppointmentStatus
from puerta.appointments.tables import Appointment
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.proofs import cose, domain, published
from puerta.proofs.domain import (
    BadKeysFile,
    BadStatusDocument,
    Claims,
    MemberClaim,
    NoConfirmedAppointment,
    ProofKind,
)
from puerta.proofs.keys import KeyRing
from puerta.proofs.tables import ProofIndex

Randbelow = Callable[[int], int]
_INDEX_ATTEMPTS = 64


@dataclass(frozen=True)
class ProofView:
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class ProofsView:
    registration: ProofView
    appointment: ProofView | None


@dataclass(frozen=True)
class Issued:
    """A signed proof and what it says (for the printable page)."""

    token: str
    claims: Claims

    @property
    def view(self) -> ProofView:
        return ProofView(self.token, domain.instant(self.claims.expires_at))


@dataclass(frozen=True)
class ProofPolicy:
    """How long proofs last (PUERTA_PROOF_REGISTRATION_DAYS, ..._APPOINTMENT_GRACE_DAYS)."""

    registration_days: int = 30
    appointment_grace_days: int = 1


def _members(session: Session, group_id: int) -> tuple[MemberClaim, ...]:
    rows = session.scalars(
        select(GroupMember).where(GroupMember.group_id == group_id).order_by(GroupMember.position)
    )
    return tuple(
        MemberClaim(domain.initials(m.given_names, m.family_names), m.birth_date.year) for m in rows
    )


def _live(session: Session, now: dt.datetime) -> tuple[int, int]:
    count, highest = session.execute(
        select(func.count(ProofIndex.id), func.max(ProofIndex.status_index)).where(
            ProofIndex.expires_at > now
        )
    ).one()
    return int(count), int(highest if highest is not None else -1)


def _new_index(session: Session, row: ProofIndex, now: dt.datetime, randbelow: Randbelow) -> None:
    """Give ``row`` a random unused index (the unique constraint settles a race)."""
    # An index whose proofs have all expired is free again: no valid proof carries it.
    session.execute(delete(ProofIndex).where(ProofIndex.expires_at <= now))
    live, highest = _live(session, now)
    bound = domain.index_range(live, domain.list_size(live + 1, highest))
    for _ in range(_INDEX_ATTEMPTS):
        row.status_index = randbelow(bound)
        taken = select(ProofIndex.id).where(ProofIndex.status_index == row.status_index)
        if session.scalar(taken) is not None:
            continue
        try:
            with session.begin_nested():
                session.add(row)
            return
        except IntegrityError:
            continue  # another request took it between the look and the insert
    raise RuntimeError("no free status index found")  # only with a list about full


def _index_for(
    session: Session, subject: ProofIndex, expires_at: dt.datetime, now: dt.datetime,
    randbelow: Randbelow,
) -> int:  # fmt: skip
    """The index of a live row for the same subject, extended to ``expires_at``, else a new one."""
    query = select(ProofIndex).where(
        ProofIndex.kind == subject.kind, ProofIndex.expires_at > now,
        ProofIndex.account_id == subject.account_id,
    )  # fmt: skip
    if subject.appointment_id is not None:
        query = query.where(ProofIndex.appointment_id == subject.appointment_id)
    for row in session.scalars(query.order_by(ProofIndex.id.desc())):
        if row.group_updated_at == subject.group_updated_at:
            row.expires_at = max(row.expires_at, expires_at)
            return row.status_index
    subject.created_at, subject.expires_at = now, expires_at
    _new_index(session, subject, now, randbelow)
    return subject.status_index


def _group(session: Session, account_id: int) -> Group:
    group = session.scalar(select(Group).where(Group.account_id == account_id))
    if group is None:
        raise GroupNotFound()
    return group


def _registration(
    session: Session, account_id: int, now: dt.datetime, policy: ProofPolicy, randbelow: Randbelow
) -> Claims:
    group = _group(session, account_id)
    members = _members(session, group.id)
    expires = domain.registration_expiry(now.replace(microsecond=0), policy.registration_days)
    subject = ProofIndex(
        kind=ProofKind.REGISTRATION.value, account_id=account_id,
        group_updated_at=group.updated_at,
    )  # fmt: skip
    index = _index_for(session, subject, expires, now, randbelow)
    return Claims(
        kind=ProofKind.REGISTRATION, issued_at=domain.seconds(now),
        expires_at=domain.seconds(expires), persons=len(members), members=members,
        status_index=index,
    )  # fmt: skip


def _confirmed(session: Session, account_id: int) -> Appointment | None:
    row = session.scalar(
        select(Appointment)
        .where(Appointment.account_id == account_id)
        .order_by(Appointment.id.desc())
        .limit(1)
    )
    if row is None or row.status != AppointmentStatus.CONFIRMED.value:
        return None
    return row


def _appointment(
    session: Session, account_id: int, now: dt.datetime, policy: ProofPolicy, randbelow: Randbelow
) -> Claims | None:
    row = _confirmed(session, account_id)
    if row is None or row.slot_starts_at is None:
        return None
    zone = PORTS_BY_SLUG[row.port].timezone
    expires = domain.appointment_expiry(row.service_date, zone, policy.appointment_grace_days)
    if expires <= now:
        return None
    subject = ProofIndex(
        kind=ProofKind.APPOINTMENT.value, account_id=account_id, appointment_id=row.id
    )
    index = _index_for(session, subject, expires, now, randbelow)
    return Claims(
        kind=ProofKind.APPOINTMENT, issued_at=domain.seconds(now),
        expires_at=domain.seconds(expires), persons=row.persons,
        members=_members(session, row.group_id), status_index=index, port=row.port,
        service_date=row.service_date, slot_starts_at=domain.seconds(row.slot_starts_at),
    )  # fmt: skip


def issue_proof(
    *, uow: UnitOfWork, clock: Clock, keys: KeyRing, account_id: int, kind: ProofKind,
    policy: ProofPolicy, randbelow: Randbelow = secrets.randbelow,
) -> Issued:  # fmt: skip
    """One signed proof of the account's registration or confirmed appointment."""
    now = clock.now()
    with uow:
        if kind is ProofKind.REGISTRATION:
            claims: Claims | None = _registration(uow.session, account_id, now, policy, randbelow)
        else:
            claims = _appointment(uow.session, account_id, now, policy, randbelow)
        if claims is None:
            raise NoConfirmedAppointment()
        uow.commit()
    return Issued(cose.sign(claims, keys.signer.private), claims)


def issue_proofs(
    *, uow: UnitOfWork, clock: Clock, keys: KeyRing, account_id: int, policy: ProofPolicy,
    randbelow: Randbelow = secrets.randbelow,
) -> ProofsView:  # fmt: skip
    """The registration proof (``group_missing`` without a group), and the appointment's
    while the group holds a confirmed one (else None). Both in one transaction."""
    now = clock.now()
    with uow:
        registration = _registration(uow.session, account_id, now, policy, randbelow)
        appointment = _appointment(uow.session, account_id, now, policy, randbelow)
        uow.commit()
    sign = keys.signer.private
    return ProofsView(
        registration=Issued(cose.sign(registration, sign), registration).view,
        appointment=Issued(cose.sign(appointment, sign), appointment).view if appointment else None,
    )


def _subjects(session: Session, now: dt.datetime) -> list[tuple[int, domain.Subject]]:
    rows = session.execute(
        select(ProofIndex, Account.id, Group.updated_at, Appointment.status)
        .outerjoin(Account, Account.id == ProofIndex.account_id)
        .outerjoin(Group, Group.account_id == ProofIndex.account_id)
        .outerjoin(Appointment, Appointment.id == ProofIndex.appointment_id)
        .where(ProofIndex.expires_at > now)
    ).all()
    return [
        (proof.status_index, domain.Subject(
            kind=ProofKind(proof.kind), account_exists=account is not None,
            group_updated_at=group_at, issued_for=proof.group_updated_at,
            appointment_status=status,
        ))
        for proof, account, group_at, status in rows
    ]  # fmt: skip


def status_document(*, uow: UnitOfWork, clock: Clock, keys: KeyRing) -> dict[str, str]:
    """The signed status list of every index a valid proof may carry; 1 = revoked."""
    now = clock.now()
    with uow:
        subjects = _subjects(uow.session, now)
    revoked = [index for index, subject in subjects if domain.is_revoked(subject)]
    highest = max((index for index, _ in subjects), default=-1)
    size = domain.list_size(len(subjects), highest)
    return published.status_document(keys, revoked=revoked, size=size, now=now)


def _document(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise BadStatusDocument() from None


def verify_token(
    *, uow: UnitOfWork, clock: Clock, token: str, ring: Callable[[], KeyRing],
    keys_text: str | None = None, status_text: str | None = None,
) -> domain.Verdict:  # fmt: skip
    """``puerta proof verify``: against saved keys and status documents where given, else
    this server's own keys and the status list as the database has it now."""
    if keys_text is not None:
        try:
            keys = published.keys_from_jwks(json.loads(keys_text))
        except ValueError:
            raise BadKeysFile() from None
    else:
        keys = ring().public()
    if status_text is not None:
        revoked, _ = published.revoked_bits(_document(status_text), keys)
    else:
        local = status_document(uow=uow, clock=clock, keys=ring())
        revoked, _ = published.revoked_bits(local, ring().public())
    return cose.verify(token, keys=keys, now=clock.now(), revoked=revoked)
