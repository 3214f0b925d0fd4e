"""Shelters in two open formats, made only from what the public sees (ShelterListing), so a
confidential location cannot leak through them.

- Open Referral HSDS 3 (the Human Services Data Specification, https://docs.openreferral.org):
  one page of ``service`` objects, each with its ``organization``, its ``service_at_locations``
  (``location`` and ``address``) and its bed ``capacities`` (``service_capacity`` with a
  ``unit``; ``available``, ``maximum`` and ``updated``).
- HXL (the Humanitarian Exchange Language, https://hxlstandard.org): a CSV file with a row of
  hashtags under the header row.

Standard library only. Identifiers are UUID 5s of the slugs, the same on every export.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from puerta.shelters.domain import ShelterListing

_NAMESPACE = uuid.UUID("3f0b6a8e-4c1d-5e2f-9a7b-1c2d3e4f5a6b")
COUNTRY = "MX"


def hsds_id(kind: str, key: str) -> str:
    """A stable HSDS identifier (a UUID) for one object of a kind."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


BED_UNIT = {"id": hsds_id("unit", "bed"), "name": "Bed"}


def _languages(item: ShelterListing) -> list[dict[str, str]]:
    return [
        {"id": hsds_id("language", f"{item.slug}:{tag}"), "name": tag, "code": tag}
        for tag in item.languages
    ]


def _address(item: ShelterListing) -> dict[str, str]:
    return {
        "id": hsds_id("address", item.slug),
        # A confidential location publishes its municipality only.
        "address_1": "" if item.address is None else item.address,
        "city": item.municipality,
        "state_province": item.state_name,
        "postal_code": "",
        "country": COUNTRY,
        "address_type": "physical",
    }


def _location(item: ShelterListing) -> dict[str, Any]:
    location: dict[str, Any] = {
        "id": hsds_id("location", item.slug),
        "location_type": "physical",
        "name": item.name if not item.confidential_location else item.municipality,
        "addresses": [_address(item)],
        "languages": _languages(item),
    }
    if item.lat is not None and item.lon is not None:
        location["latitude"], location["longitude"] = item.lat, item.lon
    if item.confidential_location:
        location["description"] = "Confidential location: only the municipality is published."
    return location


def _capacities(item: ShelterListing) -> list[dict[str, Any]]:
    if item.free_beds is None or item.updated_at is None:
        return []  # no occupancy reported yet: nothing to say is available
    return [
        {
            "id": hsds_id("service_capacity", item.slug),
            "unit": BED_UNIT,
            "available": item.free_beds,
            "maximum": item.beds,
            "description": "Beds free for the night",
            "updated": item.updated_at.isoformat(timespec="milliseconds"),
        }
    ]


def _contact(item: ShelterListing) -> dict[str, Any]:
    if not item.contact:
        return {}
    if "@" in item.contact:
        return {"email": item.contact}
    return {"phones": [{"id": hsds_id("phone", item.slug), "number": item.contact}]}


def hsds_service(item: ShelterListing) -> dict[str, Any]:
    """One shelter as an HSDS ``service`` with everything it links to."""
    description = f"Shelter with {item.beds} beds."
    if item.services:
        description += f" Services: {', '.join(item.services)}."
    if item.open_door:
        description += " Open door: no referral needed."
    return {
        "id": hsds_id("service", item.slug),
        "name": item.name,
        "status": "active",
        "description": description,
        "eligibility_description": ", ".join(item.populations) or "everyone",
        "organization": {
            "id": hsds_id("organization", item.organization),
            "name": item.organization_name,
            "description": f"{item.organization_name} ({item.organization}), on puerta.",
        },
        "languages": _languages(item),
        "capacities": _capacities(item),
        "service_at_locations": [
            {"id": hsds_id("service_at_location", item.slug), "location": _location(item)}
        ],
        **_contact(item),
    }


def hsds_page(items: Iterable[ShelterListing]) -> dict[str, Any]:
    """Every shelter as one page of HSDS services, as the HSDS API's ``/services`` answers."""
    contents = [hsds_service(item) for item in items]
    return {
        "total_items": len(contents),
        "total_pages": 1,
        "page_number": 1,
        "size": len(contents),
        "first_page": True,
        "last_page": True,
        "empty": not contents,
        "contents": contents,
    }


def _safe(text: str | None) -> str:
    # A cell a spreadsheet would run as a formula is shown as text (OWASP, CSV injection).
    value = text or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(value: float | int | None) -> str:
    return "" if value is None else str(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


Column = tuple[str, str, Callable[[ShelterListing], str]]
# (header, HXL hashtag and attributes, value): see docs/shelters.md.
HXL_COLUMNS: tuple[Column, ...] = (
    ("Slug", "#loc +code", lambda i: i.slug),
    ("Shelter", "#loc +name", lambda i: _safe(i.name)),
    ("Organization", "#org +code", lambda i: i.organization),
    ("Organization name", "#org +name", lambda i: _safe(i.organization_name)),
    ("State code", "#adm1 +code", lambda i: i.state),
    ("State", "#adm1 +name", lambda i: i.state_name),
    ("Municipality", "#adm2 +name", lambda i: _safe(i.municipality)),
    ("Address", "#loc +address", lambda i: _safe(i.address)),
    ("Latitude", "#geo +lat", lambda i: _number(i.lat)),
    ("Longitude", "#geo +lon", lambda i: _number(i.lon)),
    ("Beds", "#capacity +beds", lambda i: str(i.beds)),
    ("Occupied", "#capacity +occupied", lambda i: _number(i.occupied)),
    ("Free beds", "#capacity +available", lambda i: _number(i.free_beds)),
    ("Updated", "#date +updated", lambda i: i.updated_at.isoformat() if i.updated_at else ""),
    ("Stale", "#status +stale", lambda i: _flag(i.stale)),
    ("Inside the geofence today", "#status +geofence", lambda i: _flag(i.inside_geofence)),
    ("Services", "#service +list", lambda i: ";".join(i.services)),
    ("Populations", "#population +type +list", lambda i: ";".join(i.populations)),
    ("Languages", "#meta +languages +list", lambda i: ";".join(i.languages)),
    ("Open door", "#status +open_door", lambda i: _flag(i.open_door)),
    ("Contact", "#contact", lambda i: _safe(i.contact)),
    ("Confidential location", "#status +confidential", lambda i: _flag(i.confidential_location)),
)


def hxl_csv(items: Iterable[ShelterListing]) -> str:
    """Every shelter as HXL-tagged CSV: the header row, the hashtag row, one row each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for header, _, _ in HXL_COLUMNS])
    writer.writerow([tag for _, tag, _ in HXL_COLUMNS])
    for item in items:
        writer.writerow([value(item) for _, _, value in HXL_COLUMNS])
    return out.getvalue()
