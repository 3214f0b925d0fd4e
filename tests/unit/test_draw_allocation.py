"""The allocation of a draw: invariants over random populations, an oracle, and the odds."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puerta.draws import entries as packing
from puerta.draws.allocation import Allocation, Entries, allocate, lottery_order, seniority_order
from puerta.draws.domain import DrawParams, Share

PORTS = 8
Case = tuple[Entries, list[int], DrawParams, bytes]


@st.composite
def populations(draw: st.DrawFn) -> Case:
    n = draw(st.integers(0, 60))
    ids = sorted(draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True)))
    sizes = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    ports = []
    for _ in range(n):
        chosen = draw(st.lists(st.integers(0, PORTS - 1), min_size=1, max_size=3, unique=True))
        ports.append(chosen + [-1] * (3 - len(chosen)))
    registered = draw(st.lists(st.integers(0, 50), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 300), min_size=n, max_size=n))
    vulnerable = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    seats = draw(st.lists(st.integers(0, 40), min_size=PORTS, max_size=PORTS))
    reserve = draw(st.sampled_from([0.0, 0.1, 0.25]))
    seniority = draw(st.sampled_from([0.0, 0.4, 0.5]))
    weight = draw(st.sampled_from(["uniform", "linear", "sqrt"]))
    seed = hashlib.sha256(draw(st.binary(max_size=8))).digest()
    entries = Entries(
        ids=np.array(ids, dtype=np.int64),
        sizes=np.array(sizes, dtype=np.int64),
        ports=np.array(ports, dtype=np.int64).reshape(-1, 3),
        registered=np.array(registered, dtype=np.int64),
        days=np.array(days, dtype=np.int64),
        vulnerable=np.array(vulnerable, dtype=np.bool_),
    )
    return entries, seats, DrawParams(reserve, seniority, weight), seed


def persons_by_port(entries: Entries, result: Allocation) -> Counter[int]:
    size = dict(zip(entries.ids.tolist(), entries.sizes.tolist(), strict=True))
    totals: Counter[int] = Counter()
    for request_id, port, _ in result.selected:
        totals[port] += size[request_id]
    return totals


class TestAllocateInvariants:
    @given(populations())
    def test_no_port_is_ever_over_capacity(self, case: Case) -> None:
        entries, seats, params, seed = case
        result = allocate(entries, seats, params, seed)
        for port, persons in persons_by_port(entries, result).items():
            assert persons <= seats[port]

    @given(populations())
    def test_a_family_is_seated_whole_at_a_port_it_chose(self, case: Case) -> None:
        entries, seats, params, seed = case
        result = allocate(entries, seats, params, seed)
        choices = {int(i): set(p.tolist()) for i, p in zip(entries.ids, entries.ports, strict=True)}
        for request_id, port, _ in result.selected:
            assert port in choices[request_id]
        # persons per share and port add up to the whole groups seated there
        counted = persons_by_port(entries, result)
        recorded = [sum(result.persons[s][p] for s in Share) for p in range(PORTS)]
        assert [counted.get(p, 0) for p in range(PORTS)] == recorded

    @given(populations())
    def test_no_group_is_selected_twice(self, case: Case) -> None:
        entries, seats, params, seed = case
        ids = [r for r, _, _ in allocate(entries, seats, params, seed).selected]
        assert len(ids) == len(set(ids))

    @given(populations())
    def test_shares_hold_their_pools_and_pass_on_what_they_leave(self, case: Case) -> None:
        entries, seats, params, seed = case
        result = allocate(entries, seats, params, seed)
        vulnerable = set(entries.ids[entries.vulnerable].tolist())
        assert all(r in vulnerable for r, _, s in result.selected if s is Share.RESERVE)
        for port in range(PORTS):
            pools = params.pools(seats[port])
            used_reserve = result.persons[Share.RESERVE][port]
            used_seniority = result.persons[Share.SENIORITY][port]
            assert used_reserve <= pools[Share.RESERVE]
            seniority_room = pools[Share.SENIORITY] + pools[Share.RESERVE] - used_reserve
            assert used_seniority <= seniority_room

    @given(populations())
    def test_the_same_inputs_always_give_the_same_result(self, case: Case) -> None:
        entries, seats, params, seed = case
        first = allocate(entries, seats, params, seed)
        again = allocate(entries, seats, params, seed)
        assert first.selected == again.selected and first.persons == again.persons

    @given(populations())
    def test_packing_the_entries_and_unpacking_them_changes_nothing(self, case: Case) -> None:
        entries, seats, params, seed = case
        reference = 10**9
        entries = packing.from_rows(
            np.column_stack(
                [entries.ids, entries.sizes, entries.ports, entries.registered,
                 entries.vulnerable.astype(np.int64)]
            ).reshape(-1, 7),
            reference,
        )  # fmt: skip
        again = packing.unpack(
            packing.decompress(packing.compress(packing.pack(entries))), reference
        )
        assert packing.digest(packing.pack(again)) == packing.digest(packing.pack(entries))
        assert (
            allocate(again, seats, params, seed).selected
            == allocate(entries, seats, params, seed).selected
        )


def oracle(
    entries: Entries, seats: list[int], params: DrawParams, seed: bytes
) -> list[tuple[int, int, Share]]:
    """The rules as plain Python: down each share's order, first chosen port with room."""
    pools = [params.pools(s) for s in seats]
    lottery = lottery_order(entries, seed, params.weight).tolist()
    orders = {
        Share.RESERVE: [i for i in lottery if entries.vulnerable[i]],
        Share.SENIORITY: seniority_order(entries).tolist(),
        Share.LOTTERY: lottery,
    }
    taken: set[int] = set()
    carry = [0] * len(seats)
    picks = []
    for share in (Share.RESERVE, Share.SENIORITY, Share.LOTTERY):
        room = [pools[p][share] + carry[p] for p in range(len(seats))]
        for i in orders[share]:
            if i in taken:
                continue
            for port in entries.ports[i].tolist():
                if port >= 0 and room[port] >= entries.sizes[i]:
                    room[port] -= int(entries.sizes[i])
                    taken.add(i)
                    picks.append((int(entries.ids[i]), port, share))
                    break
        carry = room
    return picks


class TestAllocateAgainstTheRules:
    @settings(max_examples=300)
    @given(populations())
    def test_matches_random_serial_dictatorship_share_by_share(self, case: Case) -> None:
        entries, seats, params, seed = case
        assert allocate(entries, seats, params, seed).selected == oracle(
            entries, seats, params, seed
        )

    def test_seniority_goes_to_the_oldest_registration_first(self) -> None:
        entries = Entries(
            ids=np.arange(1, 5, dtype=np.int64), sizes=np.ones(4, dtype=np.int64),
            ports=np.array([[0, -1, -1]] * 4, dtype=np.int64),
            registered=np.array([40, 10, 30, 20], dtype=np.int64),
            days=np.zeros(4, dtype=np.int64), vulnerable=np.zeros(4, dtype=np.bool_),
        )  # fmt: skip
        result = allocate(entries, [2] + [0] * 7, DrawParams(0.0, 1.0, "uniform"), b"s" * 32)
        assert [r for r, _, _ in result.selected] == [2, 4]

    def test_a_family_that_fits_nowhere_is_passed_over_never_split(self) -> None:
        entries = Entries(
            ids=np.array([1, 2], dtype=np.int64), sizes=np.array([5, 2], dtype=np.int64),
            ports=np.array([[0, 1, -1], [0, -1, -1]], dtype=np.int64),
            registered=np.array([1, 2], dtype=np.int64), days=np.zeros(2, dtype=np.int64),
            vulnerable=np.zeros(2, dtype=np.bool_),
        )  # fmt: skip
        result = allocate(entries, [4, 3] + [0] * 6, DrawParams(0.0, 1.0, "uniform"), b"s" * 32)
        assert result.selected == [(2, 0, Share.SENIORITY)]


class TestLotteryOdds:
    @pytest.mark.parametrize("weight", ["uniform", "linear", "sqrt"])
    def test_first_place_frequencies_match_the_weights(self, weight: str) -> None:
        """Chi-square over 6,000 seeds: P(entry i drawn first) = w_i / sum(w)."""
        days = np.array([0, 4, 9, 19, 49], dtype=np.int64)
        entries = Entries(
            ids=np.arange(1, 6, dtype=np.int64), sizes=np.ones(5, dtype=np.int64),
            ports=np.array([[0, -1, -1]] * 5, dtype=np.int64),
            registered=np.zeros(5, dtype=np.int64), days=days,
            vulnerable=np.zeros(5, dtype=np.bool_),
        )  # fmt: skip
        trials = 6000
        firsts = Counter(
            int(lottery_order(entries, hashlib.sha256(str(t).encode()).digest(), weight)[0])
            for t in range(trials)
        )
        w = {"uniform": np.ones(5), "linear": 1.0 + days, "sqrt": np.sqrt(1.0 + days)}[weight]
        expected = trials * w / w.sum()
        observed = np.array([firsts.get(i, 0) for i in range(5)])
        chi2 = float(((observed - expected) ** 2 / expected).sum())
        # 4 degrees of freedom: P(chi2 > 18.47) = 0.001, so a correct lottery fails 1 in 1,000.
        assert chi2 < 18.47, (observed.tolist(), expected.round(1).tolist())
