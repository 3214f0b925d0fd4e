"""A person's signed proofs of registration and of appointment, as tokens and QR codes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from puerta.proofs import qr
from puerta.proofs.domain import ProofKind
from puerta.proofs.service import Issued, ProofPolicy, ProofsView, issue_proof, issue_proofs
from puerta.ratelimits.limiter import Action
from puerta.runtime import Runtime
from puerta.web.deps import Registrant, RuntimeDep
from puerta.web.limits import RATE_LIMITED, limited, per_account

router = APIRouter(tags=["proofs"])
_IMAGE = {"Cache-Control": "no-store"}
# Each proof is signed afresh: counted per account and per address.
LIMITED: dict[str, Any] = {
    "responses": RATE_LIMITED,
    "dependencies": [limited(Action.PROOFS, per_account)],
}


def policy(runtime: Runtime) -> ProofPolicy:
    s = runtime.settings
    return ProofPolicy(s.proof_registration_days, s.proof_appointment_grace_days)


def issued(runtime: Runtime, account_id: int, kind: ProofKind) -> Issued:
    """One freshly signed proof of ``kind`` for the account."""
    return issue_proof(
        uow=runtime.uow(), clock=runtime.clock, keys=runtime.proof_keys,
        account_id=account_id, kind=kind, policy=policy(runtime),
    )  # fmt: skip


@router.get("/me/proofs", response_model=ProofsView, **LIMITED)
def my_proofs(account: Registrant, runtime: RuntimeDep) -> ProofsView:
    """Signed proofs of the registration and, once confirmed, of the appointment."""
    return issue_proofs(
        uow=runtime.uow(), clock=runtime.clock, keys=runtime.proof_keys,
        account_id=account.id, policy=policy(runtime),
    )  # fmt: skip


@router.get("/me/proofs/{kind}.svg", response_class=Response, **LIMITED)
def proof_svg(kind: ProofKind, account: Registrant, runtime: RuntimeDep) -> Response:
    """The proof as a QR code (SVG), for any phone's verifier page to read."""
    token = issued(runtime, account.id, kind).token
    return Response(qr.svg(token), media_type="image/svg+xml", headers=_IMAGE)


@router.get("/me/proofs/{kind}.png", response_class=Response, **LIMITED)
def proof_png(kind: ProofKind, account: Registrant, runtime: RuntimeDep) -> Response:
    """The proof as a QR code (PNG), to save or print."""
    token = issued(runtime, account.id, kind).token
    return Response(qr.png(token), media_type="image/png", headers=_IMAGE)
