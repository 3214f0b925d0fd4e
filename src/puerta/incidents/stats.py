"""The public aggregates of incident reports: by type, perpetrator, state and month.

Pure (standard library and ``puerta.disclosure``). Four one-way tables, each adding up to
the same published total; every count from 1 to 9 reads "<10", and ``disclosure.suppress``
hides more cells until no table leaves a single hidden cell to be worked out by subtraction
from the total. Counts are of reports received (not verified), by the month they say the
incident happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from puerta.disclosure import FEWER_THAN_10, HIDDEN, Shown, Total, suppress
from puerta.incidents.domain import IncidentType, Perpetrator

Key = tuple[str, ...]
TOTAL: Key = ("total",)
DIMENSIONS = ("type", "perpetrator", "state", "month")


@dataclass(frozen=True)
class Record:
    incident_type: str
    perpetrator: str
    state: str
    month: str  # "YYYY-MM"


@dataclass(frozen=True)
class Cell:
    key: str
    count: Shown


@dataclass(frozen=True)
class IncidentStats:
    """Counts from 1 to 9 read ``"<10"``; a count hidden to protect one of them, ``"hidden"``."""

    total: Shown
    by_type: list[Cell]
    by_perpetrator: list[Cell]
    by_state: list[Cell]
    by_month: list[Cell]
    fewer_than_10: str = FEWER_THAN_10
    hidden: str = HIDDEN


def _keys(records: Sequence[Record], states: Sequence[str]) -> dict[str, list[str]]:
    return {
        "type": [t.value for t in IncidentType],
        "perpetrator": [p.value for p in Perpetrator],
        "state": list(states),
        "month": sorted({r.month for r in records}),
    }


def build(records: Iterable[Record], states: Sequence[str]) -> IncidentStats:
    """Count the reports, then hide what ``disclosure.suppress`` says."""
    found = list(records)
    keys = _keys(found, states)
    counts: Counter[Key] = Counter()
    for r in found:
        counts[TOTAL] += 1
        row = (r.incident_type, r.perpetrator, r.state, r.month)
        for name, value in zip(DIMENSIONS, row, strict=True):
            counts[(name, value)] += 1
    values = {TOTAL: counts[TOTAL]} | {
        (name, value): counts[(name, value)] for name in DIMENSIONS for value in keys[name]
    }
    totals = [Total(TOTAL, tuple((name, value) for value in keys[name])) for name in DIMENSIONS]
    hidden = suppress(values, totals)

    def cells(name: str) -> list[Cell]:
        return [Cell(v, hidden.shown((name, v), values[(name, v)])) for v in keys[name]]

    return IncidentStats(
        total=hidden.shown(TOTAL, values[TOTAL]),
        by_type=cells("type"),
        by_perpetrator=cells("perpetrator"),
        by_state=cells("state"),
        by_month=cells("month"),
    )
