"""The FastAPI application: ``create_app`` wires settings, clock and database into the routes."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from fastapi import FastAPI, Request, Response

from puerta import __version__
from puerta.clock import Clock
from puerta.config import Settings, get_settings
from puerta.runtime import Runtime, build_runtime
from puerta.web import problems
from puerta.web.api import (
    accounts,
    appointments,
    draws,
    geofence,
    port_officers,
    ports,
    requests,
)

log = logging.getLogger("puerta.access")
ROUTERS = (accounts, ports, requests, draws, appointments, port_officers, geofence)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    rng: random.Random | None = None,
) -> FastAPI:
    """Build the app; tests pass their own settings, clock, randomness and a fast hasher."""
    settings = settings or get_settings()
    runtime = build_runtime(settings, clock=clock, hasher=hasher, rng=rng)
    app = FastAPI(
        title="puerta",
        version=__version__,
        description="Appointments at U.S. ports of entry, with protections for those who wait.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.runtime = runtime
    for module in ROUTERS:
        app.include_router(module.router, prefix="/api/v1")
    problems.install(app)
    app.middleware("http")(_access_log)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    stop = threading.Event()
    # Load the state polygons now, not on the first person's request.
    from puerta.geo.service import state_names

    state_names()
    if runtime.settings.env != "test" and runtime.settings.jobs_interval_seconds > 0:
        from puerta.jobs import run_periodically

        threading.Thread(
            target=run_periodically, args=(runtime, stop), name="puerta-jobs", daemon=True
        ).start()
    yield
    stop.set()
    runtime.engine.dispose()


async def _access_log(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    # Path only: query strings can hold coordinates, and the log must hold no personal data.
    started = time.perf_counter()
    response = await call_next(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("%s %s %d %.1fms", request.method, request.url.path, response.status_code, elapsed_ms)
    return response
