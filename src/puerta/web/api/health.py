"""Liveness for load balancers and monitors: the process answers, nothing more is read."""

from __future__ import annotations

from fastapi import APIRouter

from puerta import __version__

router = APIRouter(tags=["health"])
_OK = {"status": "ok", "version": __version__}


@router.get("/health", response_model=dict[str, str])
async def health() -> dict[str, str]:
    """``{"status": "ok", "version": ...}`` while the process serves; a load balancer takes a
    process that does not answer out of its pool.

    No database read: a monitor polling every second must not load the database, and a
    database outage shows on the requests themselves (5xx), which is what to alert on."""
    return _OK
