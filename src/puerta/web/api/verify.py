"""The online check: a confirmation number and a member's birth date, for anyone, no account."""

from __future__ import annotations

import hashlib
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from puerta import i18n
from puerta.appointments.schemas import CheckinBody
from puerta.proofs import lookup
from puerta.proofs.lookup import CheckLimiter, OnlineFacts, TooManyChecks

# The module, not its names: problems imports the pages, which import this module.
from puerta.web import problems
from puerta.web.deps import RuntimeDep, request_language

router = APIRouter(tags=["verify"])
_building = threading.Lock()
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many checks from this address; `Retry-After` says when to try again",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    }
}


def check_limiter(request: Request, runtime: RuntimeDep) -> CheckLimiter:
    """The app's one limiter (its counts live as long as the process), built on first use."""
    state = request.app.state
    with _building:
        limiter: CheckLimiter | None = getattr(state, "verify_limiter", None)
        if limiter is None:
            s = runtime.settings
            key = hashlib.sha256(b"puerta verify rate|" + runtime.keys.signing()).digest()
            limiter = CheckLimiter(
                storage_uri=s.verify_rate_storage, per_minute=s.verify_rate_per_minute,
                per_day=s.verify_rate_per_day, key=key,
            )  # fmt: skip
            state.verify_limiter = limiter
    return limiter


Limiter = Annotated[CheckLimiter, Depends(check_limiter)]


def client_address(request: Request) -> str:
    # The peer, as uvicorn sees it (behind a proxy: run it with --forwarded-allow-ips).
    return request.client.host if request.client else "unknown"


def with_retry_after(error: TooManyChecks, response: Response) -> Response:
    """``response`` (a problem or a page) with the Retry-After the limiter asked for."""
    response.headers["Retry-After"] = str(error.params["seconds"])
    return response


@router.post("/verify", response_model=OnlineFacts, responses=RATE_LIMITED)
def verify_online(
    body: CheckinBody, request: Request, runtime: RuntimeDep, limiter: Limiter
) -> OnlineFacts | Response:
    """An appointment's minimal facts by confirmation number and any member's birth date."""
    try:
        limiter.hit(client_address(request))
    except TooManyChecks as error:
        detail = i18n.translate_error(error, request_language(request))
        return with_retry_after(error, problems.problem(request, 429, error.code, detail))
    return lookup.check_online(
        uow=runtime.uow(), clock=runtime.clock,
        confirmation_number=body.confirmation_number, birth_date=body.birth_date,
    )  # fmt: skip
