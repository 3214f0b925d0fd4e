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
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from puerta import __version__
from puerta.clock import Clock
from puerta.config import Settings, get_settings
from puerta.runtime import Runtime, build_runtime
from puerta.web import pages, problems
from puerta.web.api import (
    accounts,
    appointments,
    draws,
    geofence,
    port_officers,
    ports,
    requests,
)
from puerta.web.pages.render import STATIC_DIR

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
    for page_module in pages.ROUTERS:
        app.include_router(page_module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    problems.install(app)
    app.middleware("http")(_headers)
    app.add_middleware(GZipMiddleware, minimum_size=500)
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


# Nothing from another host, no inline script or style, no framing; geolocation only here.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    "X-Frame-Options": "DENY",
}


async def _headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.path.startswith("/static/"):
        # Addresses carry a content hash (?v=...), so a year is safe.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        # Pages hold personal data and one-time form tokens.
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Vary", "Cookie, Accept-Language")
    return response


async def _access_log(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    # Path only: query strings can hold coordinates, and the log must hold no personal data.
    started = time.perf_counter()
    response = await call_next(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("%s %s %d %.1fms", request.method, request.url.path, response.status_code, elapsed_ms)
    return response
