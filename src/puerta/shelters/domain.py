"""Shelters inside the geofence: the published lists of services and populations, the rules
of a shelter's record and its occupancy, and what the public may see of it.

Standard library only. Geometry (which state a point is in, whether it is inside today's
geofence) is decided in the service with puerta.geo and handed in here as plain facts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from puerta.errors import Conflict, Forbidden, Invalid, NotFound
from puerta.geo.domain import InvalidCoordinates, validate_coordinates

SERVICES = ("food", "health", "legal", "psychosocial", "education", "work")
POPULATIONS = ("families", "women", "lgbtiq", "unaccompanied_minors", "men")
# An occupancy older than this is flagged: beds may have filled or emptied since.
STALE_AFTER = dt.timedelta(hours=48)
MAX_BEDS = 10_000
MAX_LANGUAGES = 20
EARTH_RADIUS_KM = 6371.0088
# A confidential shelter's distance is measured from its coordinates rounded to this many
# degrees (about 22 km), so that distances from several searches cannot pin it down.
COARSE_DEGREES = 0.2
TEXT_LIMITS = {"name": 200, "address": 300, "municipality": 100, "contact": 200}

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")


class InvalidShelterSlug(Invalid):
    code = "invalid_slug"
    message = "A slug has 1 to 64 small letters, digits and hyphens, for example casa-del-migrante."


class InvalidShelterText(Invalid):
    code = "invalid_text"
    message = "The field {field} must have 1 to {maximum} characters, without control characters."


class InvalidBeds(Invalid):
    code = "invalid_beds"
    message = "Beds must be a whole number from 0 to {maximum}."


class UnknownService(Invalid):
    code = "unknown_service"
    message = "Unknown service '{value}'. Use some of: {allowed}."


class UnknownPopulation(Invalid):
    code = "unknown_population"
    message = "Unknown population '{value}'. Use some of: {allowed}."


class InvalidLanguages(Invalid):
    code = "invalid_languages"
    message = "Languages must be language codes such as es, ht or quc (at most {maximum})."


class InvalidFlag(Invalid):
    code = "invalid_flag"
    message = "The field {field} must be true or false."


class ShelterOutsideMexico(Invalid):
    code = "shelter_outside_mexico"
    message = "The shelter's latitude and longitude are not inside Mexico."


class ShelterExists(Conflict):
    code = "shelter_exists"
    message = "There is already a shelter called '{slug}'."


class UnknownShelter(NotFound):
    code = "unknown_shelter"
    message = "There is no shelter called '{slug}'."


class OccupancyOutOfRange(Invalid):
    code = "occupancy_out_of_range"
    message = "The number of people staying must be from 0 to {beds}, the shelter's beds."


class BedsBelowOccupancy(Invalid):
    code = "beds_below_occupancy"
    message = "The shelter has {occupied} people staying now, so it cannot have fewer beds."


class NotYourShelter(Forbidden):
    code = "not_your_shelter"
    message = "Only caseworkers of the shelter's organization, and administrators, can do this."


@dataclass(frozen=True)
class ShelterInput:
    """A shelter as an admin or a CSV row gives it; ``clean_shelter`` checks it."""

    slug: str
    name: str
    organization: str
    address: str
    municipality: str
    lat: float
    lon: float
    beds: int
    services: tuple[str, ...] = ()
    populations: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    open_door: bool = False
    contact: str = ""
    confidential_location: bool = False


def _text(field: str, value: str, *, required: bool = True) -> str:
    cleaned = " ".join(unicodedata.normalize("NFC", value).split())
    bad = any(unicodedata.category(ch).startswith("C") for ch in cleaned)
    if bad or len(cleaned) > TEXT_LIMITS[field] or (required and not cleaned):
        raise InvalidShelterText(field=field, maximum=TEXT_LIMITS[field])
    return cleaned


def is_slug(value: str) -> bool:
    return _SLUG.fullmatch(value) is not None


def clean_slug(value: str) -> str:
    slug = value.strip()
    if not _SLUG.match(slug):
        raise InvalidShelterSlug()
    return slug


def _codes(values: Iterable[str], allowed: Sequence[str], error: type[Invalid]) -> tuple[str, ...]:
    chosen = {value.strip().lower() for value in values if value.strip()}
    for value in sorted(chosen):
        if value not in allowed:
            raise error(value=value[:40], allowed=", ".join(allowed))
    return tuple(code for code in allowed if code in chosen)  # the published order


def _languages(values: Iterable[str]) -> tuple[str, ...]:
    tags = [value.strip().replace("_", "-").lower() for value in values if value.strip()]
    cleaned = tuple(dict.fromkeys(tags))
    if len(cleaned) > MAX_LANGUAGES or not all(_LANGUAGE.match(tag) for tag in cleaned):
        raise InvalidLanguages(maximum=MAX_LANGUAGES)
    return cleaned


def check_beds(beds: object) -> int:
    if type(beds) is not int or not 0 <= beds <= MAX_BEDS:  # bool is not a count of beds
        raise InvalidBeds(maximum=MAX_BEDS)
    return beds


def clean_shelter(raw: ShelterInput) -> ShelterInput:
    """The shelter normalized, or the first problem found as a DomainError."""
    validate_coordinates(raw.lat, raw.lon)
    if not (math.isfinite(raw.lat) and math.isfinite(raw.lon)):
        raise InvalidCoordinates()
    return replace(
        raw,
        slug=clean_slug(raw.slug),
        name=_text("name", raw.name),
        organization=raw.organization.strip(),
        address=_text("address", raw.address, required=False),
        municipality=_text("municipality", raw.municipality),
        lat=float(raw.lat),
        lon=float(raw.lon),
        beds=check_beds(raw.beds),
        services=_codes(raw.services, SERVICES, UnknownService),
        populations=_codes(raw.populations, POPULATIONS, UnknownPopulation),
        languages=_languages(raw.languages),
        contact=_text("contact", raw.contact, required=False),
    )


def check_occupancy(occupied: int, beds: int) -> int:
    """People staying: a whole number from 0 to the shelter's beds."""
    if type(occupied) is not int or not 0 <= occupied <= beds:
        raise OccupancyOutOfRange(beds=beds)
    return occupied


def free_beds(beds: int, occupied: int | None) -> int | None:
    """Beds left, or None while no occupancy has been reported."""
    return None if occupied is None else max(beds - occupied, 0)


def is_stale(updated_at: dt.datetime | None, now: dt.datetime) -> bool:
    """True when the occupancy was never reported, or not in the last 48 hours."""
    return updated_at is None or now - updated_at >= STALE_AFTER


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius), in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def coarse_point(lat: float, lon: float) -> tuple[float, float]:
    """The point rounded to the coarse grid (what a confidential shelter is measured from)."""
    step = COARSE_DEGREES
    return round(round(lat / step) * step, 4), round(round(lon / step) * step, 4)


@dataclass(frozen=True)
class ShelterView:
    """A shelter as staff see it: every field, with its latest occupancy."""

    slug: str
    name: str
    organization: str
    organization_name: str
    address: str
    municipality: str
    state: str
    state_name: str
    lat: float
    lon: float
    beds: int
    services: tuple[str, ...]
    populations: tuple[str, ...]
    languages: tuple[str, ...]
    open_door: bool
    contact: str
    confidential_location: bool
    occupied: int | None
    updated_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True)
class ShelterListing:
    """A shelter as anyone sees it. A confidential location shows its municipality only:
    ``address``, ``lat`` and ``lon`` are None, and its distance is a coarse one."""

    slug: str
    name: str
    organization: str
    organization_name: str
    address: str | None
    municipality: str
    state: str
    state_name: str
    lat: float | None
    lon: float | None
    beds: int
    occupied: int | None
    free_beds: int | None
    services: tuple[str, ...]
    populations: tuple[str, ...]
    languages: tuple[str, ...]
    open_door: bool
    contact: str
    confidential_location: bool
    updated_at: dt.datetime | None
    stale: bool
    inside_geofence: bool
    distance_km: float | None


def listing(
    shelter: ShelterView,
    *,
    now: dt.datetime,
    inside_geofence: bool,
    origin: tuple[float, float] | None = None,
) -> ShelterListing:
    """What the public sees of ``shelter``; the only way a ShelterListing is made."""
    hidden = shelter.confidential_location
    point = coarse_point(shelter.lat, shelter.lon) if hidden else (shelter.lat, shelter.lon)
    distance = None if origin is None else round(distance_km(*origin, *point), 1)
    return ShelterListing(
        slug=shelter.slug,
        name=shelter.name,
        organization=shelter.organization,
        organization_name=shelter.organization_name,
        address=None if hidden else shelter.address,
        municipality=shelter.municipality,
        state=shelter.state,
        state_name=shelter.state_name,
        lat=None if hidden else shelter.lat,
        lon=None if hidden else shelter.lon,
        beds=shelter.beds,
        occupied=shelter.occupied,
        free_beds=free_beds(shelter.beds, shelter.occupied),
        services=shelter.services,
        populations=shelter.populations,
        languages=shelter.languages,
        open_door=shelter.open_door,
        contact=shelter.contact,
        confidential_location=hidden,
        updated_at=shelter.updated_at,
        stale=is_stale(shelter.updated_at, now),
        inside_geofence=inside_geofence,
        distance_km=distance,
    )


@dataclass(frozen=True)
class Need:
    """What a person is looking for; every part optional."""

    service: str | None = None
    population: str | None = None
    has_room: bool = False

    @classmethod
    def checked(cls, service: str | None, population: str | None, has_room: bool) -> Need:
        """A need whose codes are on the published lists, or their error."""
        if service and service not in SERVICES:
            raise UnknownService(value=service[:40], allowed=", ".join(SERVICES))
        if population and population not in POPULATIONS:
            raise UnknownPopulation(value=population[:40], allowed=", ".join(POPULATIONS))
        return cls(service or None, population or None, has_room)


def matches(item: ShelterListing, need: Need) -> bool:
    if need.service is not None and need.service not in item.services:
        return False
    if need.population is not None and need.population not in item.populations:
        return False
    return not need.has_room or (item.free_beds or 0) > 0


def search(items: Iterable[ShelterListing], need: Need, limit: int) -> list[ShelterListing]:
    """The shelters meeting ``need``, nearest first (else by name), at most ``limit``."""
    found = [item for item in items if matches(item, need)]
    found.sort(key=lambda i: (i.distance_km is None, i.distance_km or 0.0, i.name, i.slug))
    return found[:limit]


@dataclass(frozen=True)
class Reading:
    """One occupancy update, as the history keeps it."""

    shelter: str
    state: str
    at: dt.datetime
    occupied: int
    beds: int


@dataclass(frozen=True)
class StateDay:
    """A state's shelters at the end of one day: their beds and the people staying."""

    state: str
    day: dt.date
    beds: int
    occupied: int
    shelters: int


def occupancy_by_state(
    readings: Iterable[Reading], days: Sequence[dt.date], tz: dt.tzinfo
) -> list[StateDay]:
    """Per state and day, each shelter's latest update by the end of that day, summed.

    A shelter counts from its first update on; a day before any of a state's updates is left
    out. ``days`` are local dates in ``tz``.
    """
    latest: dict[str, Reading] = {}
    ordered = sorted(readings, key=lambda r: r.at)
    out: list[StateDay] = []
    index = 0
    for day in sorted(days):
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        while index < len(ordered) and ordered[index].at < end:
            latest[ordered[index].shelter] = ordered[index]
            index += 1
        out += _sum_by_state(latest.values(), day)
    return sorted(out, key=lambda s: (s.state, s.day))


def _sum_by_state(readings: Iterable[Reading], day: dt.date) -> list[StateDay]:
    totals: dict[str, list[int]] = {}
    for reading in readings:
        total = totals.setdefault(reading.state, [0, 0, 0])
        total[0] += reading.beds
        total[1] += reading.occupied
        total[2] += 1
    return [StateDay(state, day, b, o, n) for state, (b, o, n) in totals.items()]
