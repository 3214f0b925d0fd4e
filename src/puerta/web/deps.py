"""FastAPI dependencies: the unit of work, the clock, the caller and their language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer

from puerta import i18n
from puerta.accounts import service as accounts
from puerta.accounts.domain import Role, require_role
from puerta.accounts.service import AccountView
from puerta.audit.domain import OnBehalf
from puerta.errors import NotAuthenticated
from puerta.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    """This request's runtime: the app's, copied so that a delegated token can mark it as
    acting for a person (FastAPI hands the same copy to every dependency of the request)."""
    runtime: Runtime = request.app.state.runtime
    return runtime.for_request()


async def get_runtime(request: Request) -> Runtime:
    """``runtime_of`` as a dependency; async, so FastAPI runs it on the event loop instead of
    handing it to a worker thread and back (a dependency declared ``def`` costs that)."""
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# Row ids are 32-bit integers; anything else is refused before it reaches the database.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def current_account(
    request: Request, runtime: RuntimeDep, token: Annotated[str | None, Depends(_bearer)]
) -> AccountView:
    if not token:
        raise NotAuthenticated()
    account = accounts.account_for_token(uow=runtime.uow(), clock=runtime.clock, token=token)
    request.state.language = account.language
    if account.acting_id is not None:
        runtime.acting = OnBehalf(actor_id=account.acting_id, account_id=account.id)
    return account


CurrentAccount = Annotated[AccountView, Depends(current_account)]


def requires(*roles: Role) -> Callable[[AccountView], Awaitable[AccountView]]:
    """A dependency that lets through only accounts holding one of ``roles``."""
    allowed = frozenset(roles)

    async def check(account: CurrentAccount) -> AccountView:
        require_role(account.role, allowed)
        return account

    return check


Registrant = Annotated[AccountView, Depends(requires(Role.REGISTRANT))]
Admin = Annotated[AccountView, Depends(requires(Role.ADMIN))]
Caseworker = Annotated[AccountView, Depends(requires(Role.CASEWORKER))]
# Caseworkers and admins: the case-handling endpoints, where an admin may act on any case.
CaseStaff = Annotated[AccountView, Depends(requires(Role.CASEWORKER, Role.ADMIN))]


def request_language(request: Request) -> str:
    """The caller's language: their account's, else Accept-Language, else the default."""
    language = getattr(request.state, "language", None)
    if language:
        return str(language)
    runtime = runtime_of(request)
    token = bearer_token(request)
    if token:
        try:
            account = accounts.account_for_token(
                uow=runtime.uow(), clock=runtime.clock, token=token
            )
            return account.language
        except NotAuthenticated:
            pass
    return i18n.negotiate(request.headers.get("accept-language"), runtime.settings.default_language)


async def bearer_present(token: Annotated[str | None, Depends(_bearer)]) -> None:
    """Refuse (401) a call without a bearer token before its body is read; whether the token
    is live is for the caller to check (the request intake checks a whole batch at once)."""
    if not token:
        raise NotAuthenticated()


def bearer_token(request: Request) -> str | None:
    """The bearer token of the Authorization header, if there is one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
