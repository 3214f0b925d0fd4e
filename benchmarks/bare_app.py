"""The ceiling: a bare Starlette app answering a constant JSON object, served by the same
uvicorn call as `puerta serve` (so with the same event loop, HTTP parser and workers).

Run: .venv/bin/python benchmarks/bare_app.py PORT WORKERS [LOOP HTTP]

LOOP and HTTP (default ``auto``, as `puerta serve` leaves them: uvloop and httptools, which
puerta installs) may name uvicorn's pure-Python ones, ``asyncio`` and ``h11``, to show what
those two cost.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def constant(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/", constant)])

if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    loop, http = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else ("auto", "auto")
    # The keyword arguments of puerta.cli.serve, which benchmarks/intake.py compares against.
    uvicorn.run(
        "bare_app:app", host="127.0.0.1", port=port, workers=workers, access_log=False,
        log_config=None, app_dir=str(Path(__file__).parent), loop=loop, http=http,
    )  # fmt: skip
