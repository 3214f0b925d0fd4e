"""The public /shelters page (a list by need, a map of Mexico, occupancy by state over time)
and the caseworkers' page to report their shelters' occupancy.

The location a visitor searches from arrives in the query string, is used for the distances
and is gone: it is not stored, and the access log writes the path only.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import HTMLResponse

from puerta import i18n
from puerta.accounts.domain import Role
from puerta.errors import DomainError
from puerta.geo.domain import policy_in_force
from puerta.geo.service import load_policies, state_names
from puerta.shelters import mapping
from puerta.shelters import service as shelters
from puerta.shelters.domain import (
    POPULATIONS,
    SERVICES,
    Need,
    ShelterListing,
    StateDay,
    search,
)
from puerta.web.pages import forms
from puerta.web.pages.admin import BadNumber
from puerta.web.pages.render import N_, redirect, render
from puerta.web.pages.session import Form, Page, PageDep, field_text, page_for

router = APIRouter(include_in_schema=False)
CaseworkerPage = Annotated[Page, Depends(page_for(Role.CASEWORKER, Role.ADMIN))]
HISTORY_DAYS = 7
SERVICE_NAMES = {
    "food": N_("Food"),
    "health": N_("Health care"),
    "legal": N_("Legal help"),
    "psychosocial": N_("Emotional support"),
    "education": N_("School and classes"),
    "work": N_("Help to find work"),
}
POPULATION_NAMES = {
    "families": N_("Families"),
    "women": N_("Women"),
    "lgbtiq": N_("LGBTIQ+ people"),
    "unaccompanied_minors": N_("Children travelling alone"),
    "men": N_("Men"),
}
assert set(SERVICE_NAMES) == set(SERVICES) and set(POPULATION_NAMES) == set(POPULATIONS)


def _origin(lat: str, lon: str) -> tuple[float, float] | None:
    if not lat.strip() and not lon.strip():
        return None
    return forms.parse_location_values(lat, lon)


def _marker(item: ShelterListing) -> dict[str, Any] | None:
    """A shelter's dot on the map; a confidential location has none."""
    if item.lat is None or item.lon is None:
        return None
    x, y = mapping.project(item.lat, item.lon)
    free = item.free_beds
    kind = "unknown" if free is None or item.stale else ("full" if free == 0 else "room")
    radius = 7 + min(math.sqrt(free or 0), 10) * 1.3
    return {"x": x, "y": y, "r": round(radius, 1), "kind": kind, "item": item}


def _history(page: Page) -> list[dict[str, Any]]:
    """Per state with shelters: its last days, beds and people staying, newest first."""
    runtime = page.runtime
    today = runtime.today()
    days = [today - dt.timedelta(days=n) for n in range(HISTORY_DAYS)]
    rows = shelters.occupancy_history(uow=runtime.uow(), days=days, tz=runtime.schedule.tz)
    names = state_names()
    by_state: dict[str, list[StateDay]] = {}
    for row in rows:
        by_state.setdefault(row.state, []).append(row)
    return [
        {
            "code": code,
            "name": names.get(code, code),
            "days": sorted(found, key=lambda d: d.day, reverse=True),
        }
        for code, found in sorted(by_state.items(), key=lambda kv: names.get(kv[0], kv[0]))
    ]


def _map(page: Page, everyone: Sequence[ShelterListing]) -> dict[str, Any]:
    policy = policy_in_force(load_policies(), page.runtime.today())
    markers = [m for m in (_marker(item) for item in everyone) if m is not None]
    return {
        "width": mapping.WIDTH,
        "height": mapping.HEIGHT,
        "states": mapping.states(),
        "fence": mapping.fence_path(policy),
        "policy": policy,
        "nationals_anywhere": policy is not None
        and any(getattr(rule, "nationalities", None) for rule in policy.rules),
        "markers": sorted(markers, key=lambda m: -m["r"]),  # small dots drawn over big ones
        "hidden": sum(1 for item in everyone if item.lat is None),
    }


@router.get("/shelters", response_class=HTMLResponse)
def shelters_page(
    page: PageDep,
    service: str = "",
    population: str = "",
    has_room: str = "",
    lat: str = "",
    lon: str = "",
) -> HTMLResponse:
    """Shelters inside the geofence, by need, nearest first when a location is given."""
    runtime = page.runtime
    query = {"service": service, "population": population, "has_room": bool(has_room),
             "lat": lat, "lon": lon}  # fmt: skip
    context: dict[str, Any] = {"status": 200}
    try:
        need = Need.checked(service[:64], population[:64], bool(has_room))
        origin = _origin(lat[:40], lon[:40])
    except DomainError as error:
        need, origin = Need(), None
        context = {"status": 422, "error": i18n.translate_error(error, page.language)}
    everyone = shelters.public_shelters(
        uow=runtime.uow(), clock=runtime.clock, today=runtime.today(), origin=origin
    )
    found = search(everyone, need, shelters.DEFAULT_LIMIT)
    return render(
        page, "shelters.html", title=page.gettext(N_("Shelters")), query=query,
        items=found, origin=origin, map=_map(page, everyone), history=_history(page),
        service_names=SERVICE_NAMES, population_names=POPULATION_NAMES,
        local_day=lambda instant: instant.astimezone(runtime.schedule.tz).date(), **context,
    )  # fmt: skip


def _caseworker(page: Page, *, status: int = 200, **context: Any) -> HTMLResponse:
    account = page.account
    rows = shelters.staff_shelters(uow=page.runtime.uow(), account=account) if account else []
    return render(
        page, "shelters_caseworker.html", title=page.gettext(N_("Your shelters")),
        status=status, rows=rows, **context,
    )  # fmt: skip


@router.get("/caseworker/shelters", response_class=HTMLResponse)
def caseworker_shelters(page: CaseworkerPage) -> HTMLResponse:
    """The shelters of the caseworker's organization (every one for an admin)."""
    return _caseworker(page)


@router.post("/caseworker/shelters/{slug}/occupancy", response_class=HTMLResponse)
def caseworker_occupancy(slug: str, page: CaseworkerPage, form: Form) -> Response:
    """Report the people staying in one shelter now."""
    text = field_text(form, "occupied")
    try:
        if not (text.isascii() and text.isdigit()) or len(text) > 6:
            raise BadNumber()
        shelters.update_occupancy(
            uow=page.runtime.uow(), clock=page.runtime.clock, slug=slug[:64],
            occupied=int(text), account=page.account,
        )  # fmt: skip
    except DomainError as error:
        message = i18n.translate_error(error, page.language)
        return _caseworker(page, status=forms.failed_status(error), error=message, failed=slug)
    return redirect(page, "/caseworker/shelters?done=saved")
