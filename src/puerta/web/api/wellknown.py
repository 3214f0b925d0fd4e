"""The well-known documents an offline verifier caches: the keys (JWKS) and the status list."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["proofs"])
