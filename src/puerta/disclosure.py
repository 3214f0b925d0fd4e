"""Small-count suppression for every public statistic (standard library only).

Every count from 1 to 9 is published as "fewer than 10"; then, until nothing changes, for
each published total that has exactly one hidden cell among itself and its parts, one more
cell is hidden (the smallest visible part, a non-zero one first), so that no hidden count can
be worked out by subtraction. Shared by the documents' statistics and the incidents'
aggregates; see docs/documents.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Generic, Literal, TypeVar

# Counts from 1 to this are never published.
SMALL = 9
FEWER_THAN_10: Final = "<10"  # a count from 1 to 9
HIDDEN: Final = "hidden"  # any count, hidden so that a fewer-than-10 cannot be worked out
Shown = int | Literal["<10", "hidden"]


def median(values: Sequence[int]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[int], share: float) -> int:
    """The nearest-rank percentile: the smallest value with ``share`` of them at or below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Total(Generic[K]):
    """A published total: ``cell`` holds the sum of ``parts`` (all keys of one table)."""

    cell: K
    parts: tuple[K, ...]


@dataclass(frozen=True)
class Suppression(Generic[K]):
    """Which cells are hidden: counts from 1 to 9, and those hidden to protect them."""

    small: frozenset[K]
    protecting: frozenset[K]

    def shown(self, key: K, value: int) -> Shown:
        if key in self.small:
            return FEWER_THAN_10
        return HIDDEN if key in self.protecting else value


def _protector(total: Total[K], values: Mapping[K, int], hidden: set[K]) -> K | None:
    """The cell to hide as well when ``total`` has exactly one hidden cell, else None."""
    members = (total.cell, *total.parts)
    if sum(1 for key in members if key in hidden) != 1:
        return None
    visible = [key for key in total.parts if key not in hidden]
    # The smallest part, a non-zero one first: hiding a 0 beside a 1 would show the 1.
    if visible:
        return min(visible, key=lambda key: (values[key] == 0, values[key]))
    return total.cell


def suppress(values: Mapping[K, int], totals: Iterable[Total[K]]) -> Suppression[K]:
    """Hide every count from 1 to 9, then, until stable, one more cell of each published
    total (itself a cell of ``values``) that has exactly one hidden cell: the smallest part."""
    equations = list(totals)
    small = {key for key, value in values.items() if 1 <= value <= SMALL}
    hidden = set(small)
    changed = True
    while changed:
        changed = False
        for total in equations:
            extra = _protector(total, values, hidden)
            if extra is not None:
                hidden.add(extra)
                changed = True
    return Suppression(frozenset(small), frozenset(hidden - small))
