"""The FastAPI application: ``create_app`` wires settings, clock and database into the routes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from argon2 import PasswordHasher
from fastapi import FastAPI, Request, Response

from puerta import __version__
from puerta.clock import Clock
from puerta.config import Settings, get_settings
from puerta.runtime import build_runtime
from puerta.web import problems
from puerta.web.api import accounts, geofence, ports, requests

log = logging.getLogger("puerta.access")


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
) -> FastAPI:
    """Build the app; tests pass their own settings, clock and a fast password hasher."""
    settings = settings or get_settings()
    runtime = build_runtime(settings, clock=clock, hasher=hasher)
    app = FastAPI(
        title="puerta",
        version=__version__,
        description="Appointments at U.S. ports of entry, with protections for those who wait.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    for module in (accounts, ports, requests, geofence):
        app.include_router(module.router, prefix="/api/v1")
    problems.install(app)
    app.middleware("http")(_access_log)
    return app


async def _access_log(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    # Path only: query strings can hold coordinates, and the log must hold no personal data.
    started = time.perf_counter()
    response = await call_next(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("%s %s %d %.1fms", request.method, request.url.path, response.status_code, elapsed_ms)
    return response
