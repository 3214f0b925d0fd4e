"""Mexico drawn for the /shelters page: the states and a geofence policy's area as SVG paths.

Made from the boundary data puerta already ships (puerta/geo/data/mexico_states.geojson),
simplified with shapely, projected equirectangularly around Mexico's middle latitude, and
computed once per process (once per policy version for the geofence).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import shapely
from shapely.geometry import box, shape

from puerta.geo.domain import GeofencePolicy, InStates, LatitudeAtLeast

WEST, EAST, SOUTH, NORTH = -118.6, -86.5, 14.3, 32.9
WIDTH = 1000.0
_K = math.cos(math.radians((SOUTH + NORTH) / 2))
_SCALE = WIDTH / ((EAST - WEST) * _K)
HEIGHT = round((NORTH - SOUTH) * _SCALE, 1)
# About 5 km: invisible at a phone's width, and a tenth of the bytes of the full borders.
TOLERANCE_DEGREES = 0.05


@dataclass(frozen=True)
class StateShape:
    code: str
    name: str
    d: str  # SVG path data


def project(lat: float, lon: float) -> tuple[float, float]:
    """A point's place on the map, in the SVG's units (x to the east, y to the south)."""
    return round((lon - WEST) * _K * _SCALE, 1), round((NORTH - lat) * _SCALE, 1)


def _ring(coords: Any) -> str:
    points = [project(lat, lon) for lon, lat in coords]
    return "M" + "L".join(f"{x:g},{y:g}" for x, y in points) + "Z"


def path_data(geometry: Any) -> str:
    """SVG path data for a (Multi)Polygon; holes are drawn with fill-rule evenodd."""
    polygons = getattr(geometry, "geoms", [geometry])
    parts = []
    for polygon in polygons:
        if polygon.is_empty or polygon.geom_type != "Polygon":
            continue
        parts.append(_ring(polygon.exterior.coords))
        parts += [_ring(hole.coords) for hole in polygon.interiors]
    return "".join(parts)


@functools.cache
def _geometries() -> tuple[tuple[str, str, Any], ...]:
    text = resources.files("puerta.geo").joinpath("data", "mexico_states.geojson").read_text()
    features = sorted(json.loads(text)["features"], key=lambda f: f["properties"]["code"])
    return tuple(
        (f["properties"]["code"], f["properties"]["name"], shape(f["geometry"])) for f in features
    )


@functools.cache
def states() -> tuple[StateShape, ...]:
    """The 32 states, simplified, in ISO code order."""
    return tuple(
        StateShape(code, name, path_data(shapely.simplify(geometry, TOLERANCE_DEGREES)))
        for code, name, geometry in _geometries()
    )


@functools.cache
def _fence(policy: GeofencePolicy) -> str:
    geometries = {code: geometry for code, _, geometry in _geometries()}
    country = shapely.union_all(list(geometries.values()))
    areas = []
    for rule in policy.rules:
        if isinstance(rule, LatitudeAtLeast):
            areas.append(country.intersection(box(WEST, rule.degrees, EAST, NORTH)))
        elif isinstance(rule, InStates):
            areas += [geometries[code] for code in sorted(rule.states) if code in geometries]
    if not areas:
        return ""
    return path_data(shapely.simplify(shapely.union_all(areas), TOLERANCE_DEGREES))


def fence_path(policy: GeofencePolicy | None) -> str:
    """The area a policy accepts by place (its latitude and state rules), as path data."""
    return "" if policy is None else _fence(policy)
