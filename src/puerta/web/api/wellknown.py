"""The well-known documents an offline verifier caches: the keys (JWKS) and the status list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from puerta.proofs import service
from puerta.web.deps import RuntimeDep

router = APIRouter(tags=["proofs"])
# Public and the same for everyone: a verifier may keep them five minutes (the envelope's
# default is no-store), and a verifier page on another site may read them.
_PUBLIC = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}


def _public(document: Any) -> JSONResponse:
    return JSONResponse(document, headers=_PUBLIC)


@router.get("/.well-known/puerta-keys.json")
def proof_keys(runtime: RuntimeDep) -> JSONResponse:
    """The keys that sign proofs and the status list, as a JWKS, with when each signs."""
    return _public(runtime.proof_keys.jwks())


@router.get("/.well-known/puerta-status.json")
def proof_status(runtime: RuntimeDep) -> JSONResponse:
    """The signed revocation list: bit i is 1 when proofs with status index i are revoked."""
    document = service.status_document(
        uow=runtime.uow(), clock=runtime.clock, keys=runtime.proof_keys
    )
    return _public(document)
