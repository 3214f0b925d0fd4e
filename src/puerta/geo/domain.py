"""The ports of entry, and geofence rules: effective-dated policy versions and the pure
eligibility decision.

Geometry lives in service.py; this module only sees facts about a place (inside Mexico or
not, which state, latitude) and the people (nationalities), so it stays standard library only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from puerta.errors import DomainError, NotFound

COUNTRY = "MEX"


class InvalidCoordinates(DomainError):
    code = "invalid_coordinates"
    status = 422
    message = (
        "Coordinates must be numbers: latitude between -90 and 90, longitude between -180 and 180."
    )


class InvalidNationality(DomainError):
    code = "invalid_nationality"
    status = 422
    message = "Nationalities must be three-letter ISO 3166-1 alpha-3 codes, such as MEX."


class PolicyDataError(ValueError):
    """The packaged or supplied policy data is malformed (a bug in data, not in input)."""


@dataclass(frozen=True)
class Port:
    """A port of entry on the border, where appointments are kept."""

    slug: str
    name: str
    mexican_city: str
    state: str
    lat: float
    lon: float
    timezone: str


# Coordinates are the main pedestrian crossing of each port (approximate, public knowledge).
PORTS: tuple[Port, ...] = (
    Port("brownsville", "Brownsville", "Matamoros", "TX", 25.8968, -97.4975, "America/Chicago"),
    Port("hidalgo", "Hidalgo", "Reynosa", "TX", 26.0940, -98.2716, "America/Chicago"),
    Port("laredo", "Laredo", "Nuevo Laredo", "TX", 27.4999, -99.5076, "America/Chicago"),
    Port("eagle-pass", "Eagle Pass", "Piedras Negras", "TX", 28.7071, -100.5115, "America/Chicago"),
    Port(
        "el-paso",
        "El Paso (Paso del Norte)",
        "Ciudad Juárez",
        "TX",
        31.7480,
        -106.4870,
        "America/Denver",
    ),
    Port("nogales", "Nogales", "Nogales", "AZ", 31.3326, -110.9432, "America/Phoenix"),
    Port("calexico", "Calexico", "Mexicali", "CA", 32.6649, -115.4988, "America/Los_Angeles"),
    Port("san-ysidro", "San Ysidro", "Tijuana", "CA", 32.5422, -117.0297, "America/Los_Angeles"),
)
PORTS_BY_SLUG: dict[str, Port] = {port.slug: port for port in PORTS}
# The ports' slugs in PORTS order: a port's index in packed draw entries and records.
PORT_SLUGS: tuple[str, ...] = tuple(port.slug for port in PORTS)


class UnknownPort(NotFound):
    code = "unknown_port"
    message = "There is no port of entry called '{slug}'."


def check_port_slug(slug: str) -> Port:
    """The port called ``slug``, or ``unknown_port``."""
    port = PORTS_BY_SLUG.get(slug)
    if port is None:
        raise UnknownPort(slug=slug[:40])
    return port


@dataclass(frozen=True, slots=True)
class LatitudeAtLeast:
    """Eligible at or north of a parallel (the 19th, for CBP One)."""

    degrees: float

    def matches(self, *, lat: float, state_code: str | None, nationalities: frozenset[str]) -> bool:
        """Whether this rule accepts the facts given."""
        return lat >= self.degrees

    @property
    def hit_reason(self) -> str:
        return f"at_or_above_latitude_{self.degrees:g}"

    @property
    def miss_reason(self) -> str:
        return f"below_latitude_{self.degrees:g}"


@dataclass(frozen=True, slots=True)
class InStates:
    """Eligible anywhere in the listed states (ISO 3166-2 codes)."""

    states: frozenset[str]

    def matches(self, *, lat: float, state_code: str | None, nationalities: frozenset[str]) -> bool:
        """Whether this rule accepts the facts given."""
        return state_code in self.states

    @property
    def hit_reason(self) -> str:
        return "in_eligible_state"

    @property
    def miss_reason(self) -> str:
        return "not_in_eligible_state"


@dataclass(frozen=True, slots=True)
class HasNationality:
    """Eligible anywhere in Mexico if any member of the group has one of these."""

    nationalities: frozenset[str]

    def matches(self, *, lat: float, state_code: str | None, nationalities: frozenset[str]) -> bool:
        # A group counts as nationals if any member is one: families are never split.
        return not self.nationalities.isdisjoint(nationalities)

    @property
    def hit_reason(self) -> str:
        return "eligible_nationality"

    @property
    def miss_reason(self) -> str:
        return "not_eligible_nationality"


PolicyRule = LatitudeAtLeast | InStates | HasNationality


@dataclass(frozen=True, slots=True)
class GeofencePolicy:
    """One effective-dated version: in force from effective_from until the next."""

    id: str
    effective_from: date
    rules: tuple[PolicyRule, ...]
    source: str


@dataclass(frozen=True, slots=True)
class GeofenceVerdict:
    """The answer for one place, day and group; only this is ever stored."""

    eligible: bool
    country: str | None
    state: str | None
    policy: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as the plain dict the API and the CLI show."""
        return {
            "eligible": self.eligible,
            "country": self.country,
            "state": self.state,
            "policy": self.policy,
            "reason": self.reason,
        }


def validate_coordinates(lat: float, lon: float) -> None:
    """Raise InvalidCoordinates unless lat/lon are finite numbers within range."""
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        raise InvalidCoordinates() from None
    # NaN fails every comparison, so the range check also rejects it.
    if not (-90.0 <= lat_f <= 90.0 and -180.0 <= lon_f <= 180.0):
        raise InvalidCoordinates()


_ALPHA3 = re.compile(r"[A-Z]{3}")


def normalize_nationalities(values: Iterable[str]) -> frozenset[str]:
    """Upper-case ISO 3166-1 alpha-3 codes; raise InvalidNationality for anything else."""
    if isinstance(values, str):  # a bare "MEX" would otherwise iterate as "M", "E", "X"
        values = [values]
    codes = set()
    for value in values:
        code = value.strip().upper() if isinstance(value, str) else ""
        if not _ALPHA3.fullmatch(code):
            raise InvalidNationality()
        codes.add(code)
    return frozenset(codes)


def policy_in_force(policies: Sequence[GeofencePolicy], on_date: date) -> GeofencePolicy | None:
    """Return the version with the latest effective_from on or before on_date, if any."""
    started = [p for p in policies if p.effective_from <= on_date]
    return max(started, key=lambda p: p.effective_from, default=None)


def decide(
    policy: GeofencePolicy | None,
    *,
    inside_mexico: bool,
    state_code: str | None,
    state_name: str | None,
    lat: float,
    nationalities: Iterable[str],
) -> GeofenceVerdict:
    """Apply a policy version to the facts about one place and one group."""
    codes = normalize_nationalities(nationalities)  # bad input fails whatever the date
    country, state = (COUNTRY, state_name) if inside_mexico else (None, None)
    if policy is None:
        return GeofenceVerdict(False, country, state, None, "no_policy_in_force")
    if not inside_mexico:
        return GeofenceVerdict(False, None, None, policy.id, "outside_mexico")
    for rule in policy.rules:
        if rule.matches(lat=lat, state_code=state_code, nationalities=codes):
            return GeofenceVerdict(True, country, state, policy.id, rule.hit_reason)
    # The first rule is the policy's main one (e.g. the 19th parallel), so its miss explains best.
    miss = policy.rules[0].miss_reason if policy.rules else "no_rule_matches"
    return GeofenceVerdict(False, country, state, policy.id, miss)


def parse_policies(raw: Sequence[Mapping[str, Any]]) -> list[GeofencePolicy]:
    """Build policy versions from their JSON form, oldest first; raise PolicyDataError if bad."""
    try:
        policies = [_parse_policy(item) for item in raw]
    except (KeyError, TypeError, ValueError, DomainError) as exc:
        raise PolicyDataError(f"malformed geofence policy data: {exc!r}") from exc
    policies.sort(key=lambda p: p.effective_from)
    ids = [p.id for p in policies]
    days = [p.effective_from for p in policies]
    if len(set(ids)) != len(ids) or len(set(days)) != len(days):
        raise PolicyDataError("geofence policy ids and effective_from dates must be unique")
    return policies


def _parse_policy(item: Mapping[str, Any]) -> GeofencePolicy:
    rules = tuple(_parse_rule(rule) for rule in item["rules"])
    if not rules:
        raise ValueError(f"policy {item['id']} has no rules")
    return GeofencePolicy(
        id=str(item["id"]),
        effective_from=date.fromisoformat(item["effective_from"]),
        rules=rules,
        source=str(item["source"]),
    )


def _parse_rule(rule: Mapping[str, Any]) -> PolicyRule:
    kind = rule["type"]
    if kind == "latitude_at_least":
        degrees = float(rule["degrees"])
        if not math.isfinite(degrees):
            raise ValueError("latitude_at_least needs finite degrees")
        return LatitudeAtLeast(degrees)
    if kind == "in_states":
        return InStates(frozenset(str(code).upper() for code in rule["states"]))
    if kind == "nationality":
        return HasNationality(normalize_nationalities(rule["nationalities"]))
    raise ValueError(f"unknown geofence rule type {kind!r}")
