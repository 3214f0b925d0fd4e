"""The FastAPI application: ``create_app`` wires settings, clock and database into the routes."""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from puerta import __version__
from puerta.clock import Clock
from puerta.config import Settings, get_settings
from puerta.runtime import Runtime, build_runtime
from puerta.web import api_docs, api_links, pages, problems
from puerta.web.api import (
    accounts,
    appointments,
    assisted,
    documents,
    draws,
    geofence,
    health,
    incidents,
    port_officers,
    ports,
    proofs,
    requests,
    rights,
    shelters,
    verify,
    vulnerability,
    wellknown,
)
from puerta.web.intake import Intake
from puerta.web.pages.render import STATIC_DIR

log = logging.getLogger("puerta.access")
ROUTERS = (
    # First: the router matches routes in order, and load balancers poll this one often.
    health,
    accounts,
    rights,
    ports,
    requests,
    draws,
    appointments,
    port_officers,
    geofence,
    assisted,
    vulnerability,
    shelters,
    documents,
    proofs,
    verify,
    incidents,
)


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
        openapi_url=api_docs.OPENAPI_URL,
        # FastAPI's own pages load Swagger UI from a CDN: api_docs serves it from here.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=_lifespan,
    )
    app.state.runtime = runtime
    # The request intake's writer (group commit), one per process: puerta.web.intake.
    app.state.intake = Intake(runtime)
    for module in ROUTERS:
        app.include_router(module.router, prefix="/api/v1")
    # /.well-known/puerta-keys.json and puerta-status.json: at the site's root (RFC 8615).
    app.include_router(wellknown.router)
    app.include_router(api_docs.router)
    api_links.install(app)
    for page_module in pages.ROUTERS:
        app.include_router(page_module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    problems.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(_Envelope, hsts=settings.env == "production")
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    stop = threading.Event()
    # Load the state polygons now, not on the first person's request.
    from puerta.geo.service import state_names

    state_names()
    # Everything loaded so far (modules, polygons, templates) lives as long as the process:
    # keep it out of the collector's full passes, which otherwise stall every request
    # in flight for tens of milliseconds (see BENCHMARKS.md, Pages).
    gc.collect()
    gc.freeze()
    ticker = _start_jobs(runtime, stop)
    yield
    stop.set()
    if ticker is not None:
        # Let it give up its jobs lease; a tick still sending mail is not waited for long.
        ticker.join(timeout=5)
    runtime.engine.dispose()


def _start_jobs(runtime: Runtime, stop: threading.Event) -> threading.Thread | None:
    """Every worker starts the ticker; the jobs lease lets only one of them tick."""
    if runtime.settings.env == "test" or runtime.settings.jobs_interval_seconds <= 0:
        return None
    from puerta.jobs import run_periodically

    ticker = threading.Thread(
        target=run_periodically, args=(runtime, stop), name="puerta-jobs", daemon=True
    )
    ticker.start()
    return ticker


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
# Production is served over HTTPS only: browsers remember it for two years, subdomains too.
# No "preload": that asks browsers to ship the domain in their HTTPS-only lists, is hard to
# undo and binds the whole registrable domain, so it is the operator's choice, not the app's.
_HSTS = b"max-age=63072000; includeSubDomains"
# Addresses here carry a content hash (?v=...), so a year is safe.
_IMMUTABLE_PREFIXES = ("/static/", api_docs.ASSETS_PATH + "/")
_SECURITY_RAW = tuple((k.lower().encode(), v.encode()) for k, v in _SECURITY_HEADERS.items())
_IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
_NO_STORE = (b"cache-control", b"no-store")
_VARY = b"Cookie, Accept-Language"


class _Envelope:
    """Security and caching headers on every answer, and the access log line (path only).

    A route may set its own Content-Security-Policy (the API docs do); every other header
    here is the same on every answer, and Strict-Transport-Security is sent in production.

    Plain ASGI rather than ``@app.middleware("http")``: it runs on every page and file, and
    wrapping each request in a Request/Response pair costs more than the page itself.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _add_headers(list(message.get("headers", ())), path)
                if self.hsts:
                    message["headers"].append((b"strict-transport-security", _HSTS))
                elapsed_ms = (time.perf_counter() - started) * 1000
                # Path only: query strings can hold coordinates; the log holds no personal data.
                log.info("%s %s %d %.1fms", scope["method"], path, message["status"], elapsed_ms)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_headers(raw: list[tuple[bytes, bytes]], path: str) -> list[tuple[bytes, bytes]]:
    """The answer's raw headers with the envelope's: on the raw list rather than through
    MutableHeaders, whose every lookup scans and decodes the list (this runs on every answer)."""
    present = {name.lower(): i for i, (name, _) in enumerate(raw)}
    raw += [header for header in _SECURITY_RAW if header[0] not in present]
    if path.startswith(_IMMUTABLE_PREFIXES):
        if b"cache-control" in present:
            raw[present[b"cache-control"]] = _IMMUTABLE
        else:
            raw.append(_IMMUTABLE)
        return raw
    # Pages hold personal data and one-time form tokens.
    if b"cache-control" not in present:
        raw.append(_NO_STORE)
    if b"vary" in present:
        name, value = raw[present[b"vary"]]
        raw[present[b"vary"]] = (name, value + b", " + _VARY)
    else:
        raw.append((b"vary", _VARY))
    return raw
