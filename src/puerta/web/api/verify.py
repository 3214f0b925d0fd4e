"""The online check: a confirmation number and a member's birth date, for anyone, no account."""

from __future__ import annotations

from fastapi import APIRouter

from puerta.appointments.schemas import CheckinBody
from puerta.proofs import lookup
from puerta.proofs.lookup import OnlineFacts
from puerta.ratelimits.limiter import Action
from puerta.web.deps import RuntimeDep
from puerta.web.limits import RATE_LIMITED, limited, per_address

router = APIRouter(tags=["verify"])


@router.post(
    "/verify", response_model=OnlineFacts, responses=RATE_LIMITED,
    dependencies=[limited(Action.VERIFY, per_address)],
)  # fmt: skip
def verify_online(body: CheckinBody, runtime: RuntimeDep) -> OnlineFacts:
    """An appointment's minimal facts by confirmation number and any member's birth date;
    each client address may check a limited number of times (429 with Retry-After)."""
    return lookup.check_online(
        uow=runtime.uow(), clock=runtime.clock,
        confirmation_number=body.confirmation_number, birth_date=body.birth_date,
    )  # fmt: skip
