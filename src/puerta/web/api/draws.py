"""The daily draw and the request window, in public."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response

from puerta.draws import service
from puerta.draws.schemas import DrawCreate
from puerta.draws.service import DrawRecord, DrawView, WindowStatus
from puerta.web.deps import Admin, RuntimeDep

router = APIRouter(tags=["draws"])


@router.post(
    "/draws",
    response_model=DrawRecord,
    status_code=201,
    responses={
        200: {"model": DrawRecord, "description": "The draw had already run: its first result"}
    },
)
def run_draw(body: DrawCreate, account: Admin, runtime: RuntimeDep, response: Response) -> DrawView:
    """Run the draw of a closed window; again for the same window, the first result (200)."""
    view = service.run_draw(
        uow=runtime.uow(), clock=runtime.clock, config=runtime.draw_config, window=body.window,
        actor_id=account.id,
    )  # fmt: skip
    if not view.created:
        response.status_code = 200
    return view


@router.get("/draws/{window}", response_model=DrawRecord)
def get_draw(window: dt.date, runtime: RuntimeDep) -> DrawView:
    """The public record of a draw: inputs, revealed secret, seed and results (no personal data)."""
    return service.get_draw(uow=runtime.uow(), window=window)


@router.get("/windows/current", response_model=WindowStatus)
def current_window(runtime: RuntimeDep) -> WindowStatus:
    """The open window (or the next one) and its published secret commitment."""
    return service.window_status(uow=runtime.uow(), clock=runtime.clock, schedule=runtime.schedule)
