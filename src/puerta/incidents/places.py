"""Where an incident happened: a state and a municipality from INEGI's list, never finer.

The states are ``puerta.geo``'s 32 (ISO 3166-2 codes); the municipalities, with their
5-digit INEGI codes, come from ``data/municipalities.csv`` (see ``data/SOURCE.md``).
Standard library only.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from puerta.incidents.domain import UnknownMunicipality, UnknownState


@dataclass(frozen=True)
class Municipality:
    code: str  # INEGI clave: entidad (2 digits) + municipio (3 digits)
    state: str  # ISO 3166-2, "MX-CHP"
    name: str


@functools.cache
def municipalities() -> dict[str, Municipality]:
    """Every municipality by its INEGI code."""
    text = resources.files("puerta.incidents").joinpath("data", "municipalities.csv")
    rows = csv.DictReader(io.StringIO(text.read_text(encoding="utf-8")))
    return {
        row["municipality"]: Municipality(row["municipality"], row["state"], row["name"])
        for row in rows
    }


@functools.cache
def _by_state() -> dict[str, tuple[Municipality, ...]]:
    found: dict[str, list[Municipality]] = {}
    for place in municipalities().values():
        found.setdefault(place.state, []).append(place)
    return {state: tuple(places) for state, places in found.items()}


def municipalities_of(state: str) -> tuple[Municipality, ...]:
    """A state's municipalities, by code (none for a state not listed)."""
    return _by_state().get(state, ())


def check_place(state: str, municipality: str, states: Mapping[str, str]) -> Municipality:
    """The municipality, once it is known and lies in ``state`` (one of ``states``)."""
    if state not in states:
        raise UnknownState()
    found = municipalities().get(municipality)
    if found is None or found.state != state:
        raise UnknownMunicipality()
    return found
