"""Geofence use cases: locate a point with shapely, then let the domain apply the policy in force.

Definitions shared by the single and the batch check, so that both always agree:
- inside Mexico: the point is covered by the union of the 32 states (its boundary counts);
- state: the first state, in ISO code order, that covers the point, so a point exactly on a
  shared border always gets the same state.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape

from puerta.geo.domain import (
    GeofencePolicy,
    GeofenceVerdict,
    HasNationality,
    InStates,
    InvalidCoordinates,
    LatitudeAtLeast,
    PolicyDataError,
    decide,
    normalize_nationalities,
    parse_policies,
    policy_in_force,
    validate_coordinates,
)

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class _GeoData:
    codes: tuple[str, ...]  # sorted; the order settles which state owns a shared border
    names: tuple[str, ...]
    states: Any  # numpy object array of prepared shapely (Multi)Polygons, one per code
    bounds: FloatArray  # (n, 4): minx, miny, maxx, maxy of each state
    tree: Any  # shapely.STRtree over states, to find a point's candidate states quickly
    country: Any  # prepared union of all states


def _data_text(name: str) -> str:
    return resources.files("puerta.geo").joinpath("data", name).read_text(encoding="utf-8")


@functools.cache
def _geodata() -> _GeoData:
    features = json.loads(_data_text("mexico_states.geojson"))["features"]
    features.sort(key=lambda f: f["properties"]["code"])
    states = np.array([shape(f["geometry"]) for f in features], dtype=object)
    country = shapely.union_all(states)
    # Prepared geometries keep GEOS's point-in-polygon indexes from one query to the next.
    shapely.prepare(states)
    shapely.prepare(country)
    tree = shapely.STRtree(states)
    # GEOS builds those indexes lazily, on the first query; doing it here, before the objects
    # are shared, keeps concurrent first requests (FastAPI's thread pool) from racing on it.
    inner = shapely.get_coordinates(shapely.point_on_surface(states))
    shapely.intersects_xy(states, inner[:, 0], inner[:, 1])
    shapely.intersects_xy(country, inner[:, 0], inner[:, 1])
    tree.query(shapely.points(inner))
    return _GeoData(
        codes=tuple(f["properties"]["code"] for f in features),
        names=tuple(f["properties"]["name"] for f in features),
        states=states,
        bounds=np.asarray(shapely.bounds(states), dtype=np.float64),
        tree=tree,
        country=country,
    )


@functools.cache
def _packaged_policies() -> tuple[GeofencePolicy, ...]:
    policies = parse_policies(json.loads(_data_text("policies.json")))
    known = set(_geodata().codes)
    for policy in policies:
        for rule in policy.rules:
            # A mistyped state code would otherwise silently never match.
            if isinstance(rule, InStates) and not rule.states <= known:
                raise PolicyDataError(f"{policy.id}: unknown states {rule.states - known}")
    return tuple(policies)


def load_policies() -> list[GeofencePolicy]:
    """Return the packaged geofence policy versions, oldest first."""
    return list(_packaged_policies())


def state_names() -> dict[str, str]:
    """Return Mexico's 32 states as {ISO 3166-2 code: name}."""
    geo = _geodata()
    return dict(zip(geo.codes, geo.names, strict=True))


def check_location(
    *,
    lat: float,
    lon: float,
    on: date,
    nationalities: Sequence[str] = (),
    policies: Sequence[GeofencePolicy] | None = None,
) -> GeofenceVerdict:
    """Decide whether a group at lat/lon may request or confirm on the given day."""
    validate_coordinates(lat, lon)
    codes = normalize_nationalities(nationalities)
    policy = policy_in_force(_policies_or_packaged(policies), on)
    geo = _geodata()
    x, y = np.array([float(lon)]), np.array([float(lat)])
    inside = bool(_inside_mexico(x, y)[0])
    index = int(_state_indices(x, y)[0]) if inside else -1
    code, name = (geo.codes[index], geo.names[index]) if index >= 0 else (None, None)
    return decide(
        policy,
        inside_mexico=inside,
        state_code=code,
        state_name=name,
        lat=float(lat),
        nationalities=codes,
    )


def check_locations(
    points: Sequence[tuple[float, float, Sequence[str]]],
    *,
    on: date,
    policies: Sequence[GeofencePolicy] | None = None,
) -> list[GeofenceVerdict]:
    """``check_location`` for many groups at once, each (lat, lon, nationalities): the
    polygons are asked once for all the points (the request intake checks a whole batch)."""
    if not points:
        return []
    for lat, lon, _ in points:
        validate_coordinates(lat, lon)
    policy = policy_in_force(_policies_or_packaged(policies), on)
    geo = _geodata()
    x = np.array([float(lon) for _, lon, _ in points])
    y = np.array([float(lat) for lat, _, _ in points])
    inside = _inside_mexico(x, y)
    indices = np.full(len(points), -1, dtype=np.intp)
    if inside.any():
        indices[inside] = _state_indices(x[inside], y[inside])
    verdicts = []
    for (lat, _, nationalities), within, index in zip(points, inside, indices, strict=True):
        code, name = (geo.codes[index], geo.names[index]) if index >= 0 else (None, None)
        verdicts.append(decide(
            policy, inside_mexico=bool(within), state_code=code, state_name=name,
            lat=float(lat), nationalities=normalize_nationalities(nationalities),
        ))  # fmt: skip
    return verdicts


def check_batch(
    lats: ArrayLike,
    lons: ArrayLike,
    *,
    on: date,
    nationalities: Sequence[str] = (),
    policies: Sequence[GeofencePolicy] | None = None,
) -> BoolArray:
    """Return, for each point, whether check_location would find it eligible (vectorized)."""
    x, y = _coordinate_arrays(lats, lons)
    codes = normalize_nationalities(nationalities)
    policy = policy_in_force(_policies_or_packaged(policies), on)
    eligible = np.zeros(x.shape, dtype=bool)
    if policy is None or x.size == 0:
        return eligible
    flat_x, flat_y = x.ravel(), y.ravel()
    if any(isinstance(r, HasNationality) and r.nationalities & codes for r in policy.rules):
        return _inside_mexico(flat_x, flat_y).reshape(x.shape)
    eligible.ravel()[_eligible_by_place(policy, flat_x, flat_y)] = True
    return eligible


def _eligible_by_place(policy: GeofencePolicy, x: FloatArray, y: FloatArray) -> IndexArray:
    """Indices of the points eligible under the policy's latitude and state rules."""
    by_latitude = np.zeros(x.shape, dtype=bool)
    for rule in policy.rules:
        if isinstance(rule, LatitudeAtLeast):
            by_latitude |= y >= rule.degrees
    wanted = frozenset().union(*(r.states for r in policy.rules if isinstance(r, InStates)))
    near_wanted = _near_states(wanted, x, y)
    # Only points some rule could accept pay for the point-in-polygon test.
    candidates = np.flatnonzero(by_latitude | near_wanted)
    candidates = candidates[_inside_mexico(x[candidates], y[candidates])]
    accepted = by_latitude[candidates]
    rest = candidates[~accepted & near_wanted[candidates]]
    geo = _geodata()
    wanted_index = np.array([i for i, c in enumerate(geo.codes) if c in wanted], dtype=np.intp)
    in_wanted = np.isin(_state_indices(x[rest], y[rest]), wanted_index)
    return np.concatenate([candidates[accepted], rest[in_wanted]])


def _near_states(codes: frozenset[str], x: FloatArray, y: FloatArray) -> BoolArray:
    """Bounding-box prefilter: False where a point cannot be in any of these states."""
    geo = _geodata()
    near = np.zeros(x.shape, dtype=bool)
    for i, code in enumerate(geo.codes):
        if code in codes:
            minx, miny, maxx, maxy = geo.bounds[i]
            near |= (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
    return near


def _inside_mexico(x: FloatArray, y: FloatArray) -> BoolArray:
    return np.asarray(shapely.intersects_xy(_geodata().country, x, y), dtype=bool)


def _state_indices(x: FloatArray, y: FloatArray) -> IndexArray:
    """Index (in code order) of the first state covering each point, or -1 outside all."""
    geo = _geodata()
    if x.size == 0:
        return np.empty(0, dtype=np.intp)
    # The tree only compares bounding boxes; the exact test runs on those few candidates.
    point_i, state_i = geo.tree.query(shapely.points(x, y))
    hit = np.asarray(shapely.intersects_xy(geo.states[state_i], x[point_i], y[point_i]), bool)
    first = np.full(x.shape, len(geo.codes), dtype=np.intp)
    np.minimum.at(first, point_i[hit], state_i[hit])
    first[first == len(geo.codes)] = -1
    return first


def _coordinate_arrays(lats: ArrayLike, lons: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate batch coordinates as a whole; return (lons, lats) as float64 arrays."""
    try:
        y = np.asarray(lats, dtype=np.float64)
        x = np.asarray(lons, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidCoordinates() from None
    if x.shape != y.shape:
        raise ValueError(f"lats and lons differ in shape: {y.shape} != {x.shape}")
    # Comparisons are False for NaN, so NaN fails the range check too.
    valid = (y >= -90.0) & (y <= 90.0) & (x >= -180.0) & (x <= 180.0)
    if not valid.all():
        raise InvalidCoordinates()
    return x, y


def _policies_or_packaged(
    policies: Sequence[GeofencePolicy] | None,
) -> Sequence[GeofencePolicy]:
    return _packaged_policies() if policies is None else policies
