"""The rate limits at the edge: the client's address, the dependencies that count an API
call (pages call ``check`` in their handlers, to show the form again with the error), and
the 429 answer's ``Retry-After``.

The address is the peer's as uvicorn gives it: behind a load balancer, ``puerta serve``
believes ``X-Forwarded-For`` only from ``PUERTA_FORWARDED_ALLOW_IPS``. It is never stored or
logged; the counters hold a keyed hash of it (puerta.ratelimits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Depends, Request, Response

from puerta.ratelimits.limiter import Action, RateLimited
from puerta.runtime import Runtime
from puerta.web.deps import CurrentAccount, RuntimeDep

R = TypeVar("R", bound=Response)
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many calls from this address or account; `Retry-After` says "
        "when to try again",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    }
}


def client_address(request: Request) -> str | None:
    """The peer's address (the proxy's client behind a trusted proxy); None if unknown."""
    return request.client.host if request.client else None


def check(runtime: Runtime, action: Action, request: Request, account_id: int | None) -> None:
    """Count one ``action`` by this caller; ``RateLimited`` past a limit."""
    runtime.limits.check(action, address=client_address(request), account_id=account_id)


def per_address(action: Action) -> Callable[..., None]:
    """A route dependency counting ``action`` per client address (no account)."""

    def counted(request: Request, runtime: RuntimeDep) -> None:
        check(runtime, action, request, None)

    return counted


def per_account(action: Action) -> Callable[..., None]:
    """A route dependency counting ``action`` per address and per logged-in account."""

    def counted(request: Request, runtime: RuntimeDep, account: CurrentAccount) -> None:
        check(runtime, action, request, account.id)

    return counted


def limited(action: Action, scope: Callable[[Action], Callable[..., None]]) -> Any:
    """``dependencies=[limited(Action.LOGIN, per_address)]`` on a route."""
    return Depends(scope(action))


def with_retry_after(error: Exception, response: R) -> R:
    """``response`` (a problem or a page), with ``Retry-After`` when ``error`` is a 429."""
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.params["seconds"])
    return response


def refused_status(error: Exception, otherwise: int = 422) -> int:
    """The status of a form shown again with ``error``: 429 for a limit, else ``otherwise``."""
    return RateLimited.status if isinstance(error, RateLimited) else otherwise
