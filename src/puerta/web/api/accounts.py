"""Accounts, login and the family group."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.security import OAuth2PasswordRequestForm

from puerta import i18n
from puerta.accounts import lockout, service
from puerta.accounts.schemas import (
    AccountCreate,
    GroupRead,
    GroupWrite,
    TokenRead,
)
from puerta.accounts.service import AccountView, GroupView
from puerta.ratelimits.limiter import Action
from puerta.web.deps import CaseStaff, CurrentAccount, Registrant, RowId, RuntimeDep, _bearer
from puerta.web.limits import RATE_LIMITED, limited, per_address

router = APIRouter(tags=["accounts"])


@router.post(
    "/accounts", status_code=201, response_model=AccountView, responses=RATE_LIMITED,
    dependencies=[limited(Action.ACCOUNTS, per_address)],
)  # fmt: skip
def create_account(body: AccountCreate, runtime: RuntimeDep) -> AccountView:
    """Register a person's account (e-mail or phone number and a password)."""
    return service.create_account(
        uow=runtime.uow(),
        clock=runtime.clock,
        hasher=runtime.hasher,
        username=body.username,
        password=body.password,
        language=body.language,
        languages=i18n.available_languages(),
    )


@router.post(
    "/auth/token", response_model=TokenRead, responses=RATE_LIMITED,
    dependencies=[limited(Action.LOGIN, per_address)],
)  # fmt: skip
def log_in(form: Annotated[OAuth2PasswordRequestForm, Depends()], runtime: RuntimeDep) -> TokenRead:
    """Exchange username and password for a bearer token (OAuth2 password form); after
    repeated failures the username is locked for a while (429)."""
    token, expires_at = service.log_in(
        uow=runtime.uow(),
        clock=runtime.clock,
        hasher=runtime.hasher,
        username=form.username,
        password=form.password,
        ttl=dt.timedelta(hours=runtime.settings.token_ttl_hours),
        guard=runtime.limits.login,
    )
    return TokenRead(access_token=token, expires_at=expires_at)


@router.post("/accounts/{account_id}/unlock", status_code=204)
def unlock(account_id: RowId, staff: CaseStaff, runtime: RuntimeDep) -> Response:
    """Lift the account's login lockout now: an admin, or the caseworker it is assigned to."""
    lockout.unlock_account(
        uow=runtime.uow(), clock=runtime.clock, guard=runtime.limits.login, staff=staff,
        account_id=account_id,
    )  # fmt: skip
    return Response(status_code=204)


@router.post("/auth/logout", status_code=204)
def log_out(
    account: CurrentAccount, runtime: RuntimeDep, token: Annotated[str | None, Depends(_bearer)]
) -> Response:
    """Revoke the bearer token used for this call."""
    if token:
        service.log_out(uow=runtime.uow(), token=token)
    return Response(status_code=204)


@router.get("/me", response_model=AccountView)
def me(account: CurrentAccount) -> AccountView:
    """The logged-in account."""
    return account


def _group_read(view: GroupView) -> GroupRead:
    return GroupRead(
        registered_at=view.registered_at,
        updated_at=view.updated_at,
        size=len(view.members),
        members=view.members,
    )


@router.put("/me/group", response_model=GroupRead)
def put_group(body: GroupWrite, account: Registrant, runtime: RuntimeDep) -> GroupRead:
    """Create or replace the family group (1 to 12 members); no biometrics."""
    view = service.set_group(
        uow=runtime.uow(),
        clock=runtime.clock,
        account_id=account.id,
        members=[m.to_domain() for m in body.members],
        lock=runtime.group_lock,
    )
    return _group_read(view)


@router.get("/me/group", response_model=GroupRead)
def get_group(account: Registrant, runtime: RuntimeDep) -> GroupRead:
    """The family group of the logged-in account."""
    return _group_read(service.get_group(uow=runtime.uow(), account_id=account.id))
