"""Shelters inside the geofence: search, occupancy, import and the open-data exports.

The exports are declared before any ``/shelters/{slug}`` route, so that their paths are
never read as a slug.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from puerta import i18n
from puerta.geo.domain import InvalidCoordinates
from puerta.shelters import csvimport, exports, service
from puerta.shelters.domain import POPULATIONS, SERVICES, Need, ShelterListing, ShelterView
from puerta.shelters.schemas import OccupancyWrite, ShelterCreate
from puerta.shelters.service import ImportReport, OccupancyView
from puerta.web.deps import Admin, CaseStaff, RuntimeDep, request_language
from puerta.web.problems import problem

router = APIRouter(tags=["shelters"])
CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "The shelters, one a row; columns in docs/shelters.md.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


async def csv_body(request: Request) -> bytes:
    """The request's body, read no further than the largest file an import accepts."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > csvimport.MAX_BYTES:
            raise csvimport.CsvNotText(maximum=csvimport.MAX_BYTES)
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/shelters/export.hsds.json")
def export_hsds(runtime: RuntimeDep) -> dict[str, Any]:
    """Every shelter as Open Referral HSDS 3 services (confidential: municipality only)."""
    items = service.public_shelters(uow=runtime.uow(), clock=runtime.clock, today=runtime.today())
    return exports.hsds_page(items)


@router.get(
    "/shelters/export.hxl.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_hxl(runtime: RuntimeDep) -> Response:
    """Every shelter as HXL-tagged CSV (confidential locations: municipality only)."""
    items = service.public_shelters(uow=runtime.uow(), clock=runtime.clock, today=runtime.today())
    return Response(exports.hxl_csv(items), media_type="text/csv; charset=utf-8")


@router.get("/shelters", response_model=list[ShelterListing])
def list_shelters(
    runtime: RuntimeDep,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    service_: Annotated[
        str | None, Query(alias="service", max_length=64, description=", ".join(SERVICES))
    ] = None,
    population: Annotated[
        str | None, Query(max_length=64, description=", ".join(POPULATIONS))
    ] = None,
    has_room: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = service.DEFAULT_LIMIT,
) -> list[ShelterListing]:
    """Shelters by need, nearest first from lat/lon (which is used once, never stored)."""
    if (lat is None) != (lon is None):
        raise InvalidCoordinates()
    return service.list_shelters(
        uow=runtime.uow(),
        clock=runtime.clock,
        today=runtime.today(),
        origin=None if lat is None or lon is None else (lat, lon),
        need=Need.checked(service_, population, has_room),
        limit=limit,
    )


@router.post("/shelters", status_code=201, response_model=ShelterView)
def create_shelter(body: ShelterCreate, account: Admin, runtime: RuntimeDep) -> ShelterView:
    """Add a shelter of an organization; its state is found from lat/lon."""
    return service.create_shelter(uow=runtime.uow(), clock=runtime.clock, shelter=body.to_input())


@router.post("/shelters/import", response_model=ImportReport, openapi_extra=CSV_BODY)
def import_shelters(
    request: Request,
    account: Admin,
    runtime: RuntimeDep,
    data: Annotated[bytes, Depends(csv_body)],
    dry_run: bool = False,
) -> ImportReport | JSONResponse:
    """Create or update shelters from CSV in one transaction; any bad row refuses the file."""
    try:
        return service.import_shelters(
            uow=runtime.uow(), clock=runtime.clock, data=data, dry_run=dry_run
        )
    except csvimport.CsvRejected as rejected:
        return rejected_file(request, rejected)


def rejected_file(request: Request, rejected: csvimport.CsvRejected) -> JSONResponse:
    """``invalid_csv`` with each bad row's line and reason (also as the problem's fields)."""
    language = request_language(request)
    errors = []
    for found in rejected.problems:
        reason = i18n.translate_error(found.error, language)
        errors.append(
            {"line": found.line, "reason": reason, "code": found.error.code,
             "field": f"line {found.line}", "type": found.error.code, "message": reason}
        )  # fmt: skip
    detail = i18n.translate_error(rejected, language)
    return problem(request, rejected.status, rejected.code, detail, errors=errors)


@router.put("/shelters/{slug}/occupancy", response_model=OccupancyView)
def update_occupancy(
    slug: str, body: OccupancyWrite, account: CaseStaff, runtime: RuntimeDep
) -> OccupancyView:
    """Report the people staying now (kept as history); 0 to the shelter's beds."""
    return service.update_occupancy(
        uow=runtime.uow(), clock=runtime.clock, slug=slug, occupied=body.occupied, account=account
    )
