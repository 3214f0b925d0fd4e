"""Use cases for shelters: create, import, report occupancy, search and history.

The location a person searches from is an argument of ``list_shelters`` and nothing more:
it is neither stored nor logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puerta.accounts.domain import Role
from puerta.accounts.service import AccountView, organization_id
from puerta.accounts.tables import Organization
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.errors import DomainError
from puerta.geo import service as geo
from puerta.geo.domain import validate_coordinates
from puerta.shelters import csvimport, domain
from puerta.shelters.domain import (
    Need,
    Reading,
    ShelterInput,
    ShelterListing,
    ShelterView,
    StateDay,
)
from puerta.shelters.tables import Shelter, ShelterOccupancy

DEFAULT_LIMIT = 50
ANY_NEED = Need()


@dataclass(frozen=True)
class OccupancyView:
    occupied: int
    beds: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    created: int
    updated: int
    dry_run: bool


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def _view(shelter: Shelter, organization: Organization) -> ShelterView:
    return ShelterView(
        slug=shelter.slug,
        name=shelter.name,
        organization=organization.slug,
        organization_name=organization.name,
        address=shelter.address,
        municipality=shelter.municipality,
        state=shelter.state,
        state_name=geo.state_names().get(shelter.state, shelter.state),
        lat=shelter.lat,
        lon=shelter.lon,
        beds=shelter.beds,
        services=_split(shelter.services),
        populations=_split(shelter.populations),
        languages=_split(shelter.languages),
        open_door=shelter.open_door,
        contact=shelter.contact,
        confidential_location=shelter.confidential_location,
        occupied=shelter.occupied,
        updated_at=shelter.occupancy_updated_at,
        created_at=shelter.created_at,
    )


def state_of(lat: float, lon: float) -> str:
    """The ISO 3166-2 code of the state the point is in, or ``shelter_outside_mexico``."""
    verdict = geo.check_location(lat=lat, lon=lon, on=dt.date(2024, 1, 1))
    codes = {name: code for code, name in geo.state_names().items()}
    if verdict.state is None or verdict.state not in codes:
        raise domain.ShelterOutsideMexico()
    return codes[verdict.state]


def _fill(shelter: Shelter, draft: ShelterInput, org_id: int, state: str) -> None:
    if shelter.occupied is not None and draft.beds < shelter.occupied:
        raise domain.BedsBelowOccupancy(occupied=shelter.occupied)
    shelter.name = draft.name
    shelter.organization_id = org_id
    shelter.address = draft.address
    shelter.municipality = draft.municipality
    shelter.state = state
    shelter.lat, shelter.lon = draft.lat, draft.lon
    shelter.beds = draft.beds
    shelter.services = ",".join(draft.services)
    shelter.populations = ",".join(draft.populations)
    shelter.languages = ",".join(draft.languages)
    shelter.open_door = draft.open_door
    shelter.contact = draft.contact
    shelter.confidential_location = draft.confidential_location


def _by_slug(session: Session, slug: str) -> Shelter | None:
    # A text no slug can be names no shelter, and is not looked up (PostgreSQL refuses a NUL).
    if not domain.is_slug(slug):
        return None
    return session.scalar(select(Shelter).where(Shelter.slug == slug))


def create_shelter(*, uow: UnitOfWork, clock: Clock, shelter: ShelterInput) -> ShelterView:
    """Add a shelter; its state comes from its coordinates."""
    draft = domain.clean_shelter(shelter)
    state = state_of(draft.lat, draft.lon)
    with uow:
        org_id = organization_id(uow.session, draft.organization)
        if _by_slug(uow.session, draft.slug) is not None:
            raise domain.ShelterExists(slug=draft.slug)
        row = Shelter(slug=draft.slug, created_at=clock.now())
        _fill(row, draft, org_id, state)
        uow.session.add(row)
        try:
            uow.session.flush()
        except IntegrityError:  # the same slug, created a moment ago by another request
            raise domain.ShelterExists(slug=draft.slug) from None
        view = _view(row, uow.session.get_one(Organization, org_id))
        uow.commit()
    return view


def _may_update(account: AccountView | None, shelter: Shelter) -> None:
    if account is None or account.role is Role.ADMIN:
        return
    if account.role is Role.CASEWORKER and account.organization_id == shelter.organization_id:
        return
    raise domain.NotYourShelter()


def update_occupancy(
    *, uow: UnitOfWork, clock: Clock, slug: str, occupied: int, account: AccountView | None
) -> OccupancyView:
    """Report how many people stay now; kept as history. ``account`` None: the CLI, the demo."""
    with uow:
        shelter = _by_slug(uow.session, slug)
        if shelter is None:
            raise domain.UnknownShelter(slug=slug[:64])
        _may_update(account, shelter)
        domain.check_occupancy(occupied, shelter.beds)
        now = clock.now()
        shelter.occupied, shelter.occupancy_updated_at = occupied, now
        uow.session.add(
            ShelterOccupancy(
                shelter_id=shelter.id,
                occupied=occupied,
                beds=shelter.beds,
                updated_at=now,
                updated_by=account.id if account else None,
            )
        )
        view = OccupancyView(occupied=occupied, beds=shelter.beds, updated_at=now)
        uow.commit()
    return view


def _all(session: Session, organization: int | None = None) -> list[ShelterView]:
    query = select(Shelter, Organization).join(
        Organization, Organization.id == Shelter.organization_id
    )
    if organization is not None:
        query = query.where(Shelter.organization_id == organization)
    rows = session.execute(query.order_by(Shelter.name, Shelter.slug)).all()
    return [_view(shelter, org) for shelter, org in rows]


def staff_shelters(*, uow: UnitOfWork, account: AccountView) -> list[ShelterView]:
    """The shelters an account may update: its organization's, or every one for an admin."""
    with uow:
        if account.role is Role.ADMIN:
            return _all(uow.session)
        if account.role is Role.CASEWORKER and account.organization_id is not None:
            return _all(uow.session, account.organization_id)
        return []


def public_shelters(
    *,
    uow: UnitOfWork,
    clock: Clock,
    today: dt.date,
    origin: tuple[float, float] | None = None,
) -> list[ShelterListing]:
    """Every shelter as the public sees it, judged against the geofence in force ``today``."""
    with uow:
        views = _all(uow.session)
    inside = geo.check_batch([v.lat for v in views], [v.lon for v in views], on=today)
    now = clock.now()
    return [
        domain.listing(view, now=now, inside_geofence=bool(flag), origin=origin)
        for view, flag in zip(views, np.asarray(inside).tolist(), strict=True)
    ]


def list_shelters(
    *,
    uow: UnitOfWork,
    clock: Clock,
    today: dt.date,
    origin: tuple[float, float] | None = None,
    need: Need = ANY_NEED,
    limit: int = DEFAULT_LIMIT,
) -> list[ShelterListing]:
    """The shelters meeting ``need``, nearest to ``origin`` first (never stored)."""
    if origin is not None:
        validate_coordinates(*origin)
    everyone = public_shelters(uow=uow, clock=clock, today=today, origin=origin)
    return domain.search(everyone, need, limit)


def import_shelters(
    *, uow: UnitOfWork, clock: Clock, data: bytes, dry_run: bool = False
) -> ImportReport:
    """Create or update the file's shelters in one transaction; any bad row refuses it all."""
    rows, problems = csvimport.read_rows(csvimport.decode(data))
    created = updated = 0
    with uow:
        for row in rows:
            try:
                created_now = _import_row(uow.session, row.shelter, clock.now())
            except DomainError as error:
                problems.append(csvimport.RowProblem(row.line, error))
                continue
            created, updated = created + created_now, updated + (not created_now)
        if problems:
            raise csvimport.CsvRejected(sorted(problems, key=lambda p: p.line))
        if not dry_run:
            uow.commit()
    return ImportReport(created=created, updated=updated, dry_run=dry_run)


def _import_row(session: Session, draft: ShelterInput, now: dt.datetime) -> bool:
    """Write one checked row in the open transaction; True when the shelter is new."""
    state = state_of(draft.lat, draft.lon)
    org_id = organization_id(session, draft.organization)
    shelter = _by_slug(session, draft.slug)
    new = shelter is None
    if shelter is None:
        shelter = Shelter(slug=draft.slug, created_at=now)
        session.add(shelter)
    _fill(shelter, draft, org_id, state)
    session.flush()
    return new


def occupancy_history(*, uow: UnitOfWork, days: Sequence[dt.date], tz: dt.tzinfo) -> list[StateDay]:
    """Per state and day, the beds and the people staying (from every update kept)."""
    if not days:
        return []
    end = dt.datetime.combine(max(days) + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    with uow:
        rows = uow.session.execute(
            select(Shelter.slug, Shelter.state, ShelterOccupancy.updated_at,
                   ShelterOccupancy.occupied, ShelterOccupancy.beds)
            .join(Shelter, Shelter.id == ShelterOccupancy.shelter_id)
            .where(ShelterOccupancy.updated_at < end)
        ).all()  # fmt: skip
    readings = [Reading(*row) for row in rows]
    return domain.occupancy_by_state(readings, days, tz)
