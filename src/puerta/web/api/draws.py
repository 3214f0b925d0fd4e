"""The daily draw and the request window, in public."""

from __future__ import annotations

import dataclasses
import datetime as dt

from fastapi import APIRouter, Response

from puerta.draws import service
from puerta.draws.schemas import DrawCreate, DrawRead, WindowRead
from puerta.web.deps import Admin, RuntimeDep

router = APIRouter(tags=["draws"])


def _read(view: service.DrawView) -> DrawRead:
    fields = dataclasses.asdict(view)
    fields.pop("created")
    return DrawRead(**fields)


@router.post(
    "/draws",
    response_model=DrawRead,
    status_code=201,
    responses={
        200: {"model": DrawRead, "description": "The draw had already run: its first result"}
    },
)
def run_draw(body: DrawCreate, account: Admin, runtime: RuntimeDep, response: Response) -> DrawRead:
    """Run the draw of a closed window; again for the same window, the first result (200)."""
    view = service.run_draw(
        uow=runtime.uow(), clock=runtime.clock, config=runtime.draw_config, window=body.window,
        actor_id=account.id,
    )  # fmt: skip
    if not view.created:
        response.status_code = 200
    return _read(view)


@router.get("/draws/{window}", response_model=DrawRead)
def get_draw(window: dt.date, runtime: RuntimeDep) -> DrawRead:
    """The public record of a draw: inputs, revealed secret, seed and results (no personal data)."""
    return _read(service.get_draw(uow=runtime.uow(), window=window))


@router.get("/windows/current", response_model=WindowRead)
def current_window(runtime: RuntimeDep) -> WindowRead:
    """The open window (or the next one) and its published secret commitment."""
    view = service.window_status(uow=runtime.uow(), clock=runtime.clock, schedule=runtime.schedule)
    return WindowRead(**dataclasses.asdict(view))
