"""Assisted registration: a caseworker registers a person who cannot use the app, acts for
them with a delegated token, and the person claims the account later."""

from __future__ import annotations

from fastapi import APIRouter

from puerta import i18n
from puerta.accounts import assisted as service
from puerta.accounts.assisted import Assisted, AssistedView
from puerta.accounts.schemas import (
    AssistedCreate,
    ClaimBody,
    ReassignBody,
    TokenRead,
)
from puerta.accounts.service import AccountView
from puerta.web.deps import Admin, CaseStaff, Caseworker, RowId, RuntimeDep

router = APIRouter(tags=["assisted registration"])


@router.post("/assisted", status_code=201, response_model=Assisted)
def create_assisted(body: AssistedCreate, caseworker: Caseworker, runtime: RuntimeDep) -> Assisted:
    """Register a person who cannot use the app, with their consent; the account is
    assigned to you, and its claim code is shown only in this answer."""
    return service.create_assisted(
        uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher, caseworker=caseworker,
        language=body.language, languages=i18n.available_languages(),
        consent_given=body.consent.given, consent_how=body.consent.how, phone=body.phone,
    )  # fmt: skip


@router.get("/assisted", response_model=list[AssistedView])
def list_assisted(staff: CaseStaff, runtime: RuntimeDep) -> list[AssistedView]:
    """The unclaimed assisted accounts assigned to you (an admin: all of them)."""
    return service.list_assisted(uow=runtime.uow(), caseworker=staff)


@router.get("/assisted/{account_id}", response_model=AssistedView)
def get_assisted(account_id: RowId, staff: CaseStaff, runtime: RuntimeDep) -> AssistedView:
    """One assisted account: its caseworker and admins only."""
    return service.get_assisted(uow=runtime.uow(), caseworker=staff, account_id=account_id)


@router.post("/assisted/{account_id}/token", response_model=TokenRead)
def delegated_token(account_id: RowId, caseworker: Caseworker, runtime: RuntimeDep) -> TokenRead:
    """A bearer token that acts as the person through every registrant endpoint; every
    audit event made with it names you, on behalf of the account. Ends when they claim it."""
    token, expires_at = service.delegated_token(
        uow=runtime.uow(), clock=runtime.clock, caseworker=caseworker, account_id=account_id
    )
    return TokenRead(access_token=token, expires_at=expires_at)


@router.post("/assisted/{account_id}/assign", response_model=AssistedView)
def reassign(
    account_id: RowId, body: ReassignBody, admin: Admin, runtime: RuntimeDep
) -> AssistedView:
    """Give an assisted account to another caseworker; the old delegated tokens end."""
    return service.reassign(
        uow=runtime.uow(), clock=runtime.clock, admin_id=admin.id, account_id=account_id,
        caseworker_id=body.caseworker,
    )  # fmt: skip


@router.post("/accounts/claim", response_model=AccountView)
def claim(body: ClaimBody, runtime: RuntimeDep) -> AccountView:
    """Take over the account a caseworker made for you: choose your username and password."""
    return service.claim_account(
        uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher,
        claim_code=body.claim_code, username=body.username, password=body.password,
    )  # fmt: skip
