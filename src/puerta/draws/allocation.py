"""The allocation of a draw: pure array code, no I/O.

Going down the order — (a) approved vulnerability exceptions, (b) oldest registration,
(c) weighted lottery — each group gets its best-ranked port that still has seats for the
whole group in that share; a group that fits nowhere is passed over, never split. Seats a
share leaves unused at a port pass on to the next share at the same port.

Randomness: PCG64 seeded with the draw seed gives one raw 64-bit word per entry (entries in
ascending request id); its top 53 bits make a uniform u, and the lottery key is
-log(1 - u) / weight (exponential race, i.e. weighted sampling without replacement).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from puerta.draws.domain import DrawParams, Share

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
NO_PORT = -1
SHARE_ORDER = (Share.RESERVE, Share.SENIORITY, Share.LOTTERY)


@dataclass(frozen=True)
class Entries:
    """The draw's entries as columns, sorted by ascending ``ids``.

    ``ports`` holds up to three port indices per entry in order of preference (-1: none);
    ``registered`` orders seniority (smaller is older); ``days`` feeds the lottery weight.
    """

    ids: IntArray
    sizes: IntArray
    ports: IntArray
    registered: IntArray
    days: IntArray
    vulnerable: BoolArray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass
class Allocation:
    """Who got which port in which share; ``persons[share][port]`` sums the seats."""

    selected: list[tuple[int, int, Share]] = field(default_factory=list)
    persons: dict[Share, list[int]] = field(default_factory=dict)


def weights(days: IntArray, function: str) -> FloatArray:
    clipped = np.maximum(days, 0).astype(np.float64)
    if function == "uniform":
        return np.ones_like(clipped)
    if function == "linear":
        return 1.0 + clipped
    return np.sqrt(1.0 + clipped)


def uniforms(seed: bytes, count: int) -> FloatArray:
    """``count`` uniforms in [0, 1) from the seed, reproducible anywhere PCG64 is."""
    generator = np.random.PCG64(int.from_bytes(seed, "big"))
    raw = generator.random_raw(count) if count else np.zeros(0, dtype=np.uint64)
    return (np.asarray(raw, dtype=np.uint64) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def lottery_order(entries: Entries, seed: bytes, function: str) -> IntArray:
    """Entry positions in lottery order: smallest exponential key first, ties by id."""
    keys = -np.log1p(-uniforms(seed, len(entries))) / weights(entries.days, function)
    return _order_by(keys, entries.ids)


def seniority_order(entries: Entries) -> IntArray:
    return _order_by(entries.registered, entries.ids)


def _order_by(keys: npt.NDArray[np.float64] | IntArray, ids: IntArray) -> IntArray:
    """Positions sorted by key, ties by id, the same on every machine.

    An unstable sort is several times faster than a stable one here, but its order of equal
    keys is left to the implementation (and its SIMD kernels), so ties are put right after.
    """
    order = np.argsort(keys).astype(np.int64)
    ranked = keys[order]
    tied = np.flatnonzero(ranked[1:] == ranked[:-1])
    if tied.size:
        spots = np.unique(np.concatenate([tied, tied + 1]))
        subset = order[spots]
        order[spots] = subset[np.lexsort((ids[subset], keys[subset]))]
    return order


def allocate(entries: Entries, seats: list[int], params: DrawParams, seed: bytes) -> Allocation:
    """Allocate ``seats[port]`` persons per port among ``entries``."""
    pools = [params.pools(s) for s in seats]
    taken = np.zeros(len(entries), dtype=np.bool_)
    lottery = lottery_order(entries, seed, params.weight)
    orders = {
        Share.RESERVE: lottery[entries.vulnerable[lottery]],
        Share.SENIORITY: seniority_order(entries),
        Share.LOTTERY: lottery,
    }
    result = Allocation()
    carry = np.zeros(len(seats), dtype=np.int64)
    for share in SHARE_ORDER:
        remaining = np.array([p[share] for p in pools], dtype=np.int64) + carry
        before = remaining.copy()
        order = orders[share]
        picks = _walk(order[~taken[order]], entries, remaining)
        for position, port in picks:
            taken[position] = True
            result.selected.append((int(entries.ids[position]), port, share))
        result.persons[share] = [int(x) for x in before - remaining]
        carry = remaining
    return result


def _walk(order: IntArray, entries: Entries, remaining: IntArray) -> list[tuple[int, int]]:
    """Go down ``order``; each entry takes its first port with room, else is passed over.

    Blocks of entries that cannot fit anywhere are skipped with array operations (room only
    shrinks, so an entry that cannot fit at a block's start never will); the rest are
    checked one by one, in order.
    """
    picks: list[tuple[int, int]] = []
    start, block = 0, 256
    while start < len(order) and remaining.max(initial=0) > 0:
        chunk = order[start : start + block]
        start += block
        ports = entries.ports[chunk]
        room = np.where(ports >= 0, remaining[np.maximum(ports, 0)], -1)
        fits = (room >= entries.sizes[chunk][:, None]).any(axis=1)
        for position in chunk[fits]:
            port = _first_fit(entries, int(position), remaining)
            if port != NO_PORT:
                remaining[port] -= entries.sizes[position]
                picks.append((int(position), port))
        if int(fits.sum()) * 8 < len(chunk):
            block = min(block * 2, 1 << 16)
    return picks


def _first_fit(entries: Entries, position: int, remaining: IntArray) -> int:
    size = entries.sizes[position]
    for port in entries.ports[position]:
        if port >= 0 and remaining[port] >= size:
            return int(port)
    return NO_PORT
