"""Immigration documents' pure rules: dates, transitions, reminders and suppression."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.documents import domain, stats
from puerta.documents.domain import (
    FEWER_THAN_10,
    HIDDEN,
    Document,
    DocumentKind,
    DocumentStatus,
    Suppression,
    Total,
)

TODAY = dt.date(2024, 9, 2)
R, I, D, E = (  # noqa: E741 (the four statuses, one letter each, for the tables below)
    DocumentStatus.REQUESTED,
    DocumentStatus.ISSUED,
    DocumentStatus.DENIED,
    DocumentStatus.EXPIRED,
)


def doc(status: DocumentStatus = R, **overrides: object) -> Document:
    base: dict[str, object] = {
        "kind": DocumentKind.TVRH,
        "status": status,
        "requested_on": dt.date(2024, 6, 1),
        "office": "INM TIJUANA",
    }
    if status is not R:
        base["decided_on"] = dt.date(2024, 7, 1)
    return Document(**(base | overrides))  # type: ignore[arg-type]


class TestCheck:
    def test_accepts_a_request_made_today(self) -> None:
        assert domain.check(doc(requested_on=TODAY), today=TODAY).status is R

    @pytest.mark.parametrize(
        ("document", "error"),
        [
            (doc(requested_on=TODAY + dt.timedelta(days=1)), domain.DateInFuture),
            (doc(I, decided_on=TODAY + dt.timedelta(days=1)), domain.DateInFuture),
            (doc(requested_on=dt.date(1999, 12, 31)), domain.DateTooEarly),
            (doc(I, decided_on=None), domain.DecisionDateRequired),
            (doc(D, decided_on=None), domain.DecisionDateRequired),
            (doc(E, decided_on=None), domain.DecisionDateRequired),
            (doc(R, decided_on=dt.date(2024, 7, 1)), domain.DecisionDateNotAllowed),
            (doc(I, decided_on=dt.date(2024, 5, 31)), domain.DecisionBeforeRequest),
            (doc(D, expires_on=dt.date(2025, 7, 1)), domain.ExpiryNotAllowed),
            (doc(R, expires_on=dt.date(2025, 7, 1)), domain.ExpiryNotAllowed),
            (doc(I, expires_on=dt.date(2024, 7, 1)), domain.ExpiryNotAfterDecision),
            (doc(I, expires_on=dt.date(2034, 7, 2)), domain.ExpiryTooFar),
            (doc(E, expires_on=TODAY), domain.NotExpiredYet),
        ],
    )
    def test_refuses_dates_that_do_not_fit_the_status(
        self, document: Document, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            domain.check(document, today=TODAY)

    def test_an_issued_document_is_valid_through_its_expiry_day(self) -> None:
        assert domain.check(doc(I, expires_on=TODAY), today=TODAY).status is I
        past = doc(I, expires_on=TODAY - dt.timedelta(days=1))
        assert domain.check(past, today=TODAY).status is E

    def test_an_issued_document_may_have_no_expiry(self) -> None:
        assert domain.check(doc(I), today=TODAY).expires_on is None


class TestChange:
    @pytest.mark.parametrize(
        ("before", "after", "allowed"),
        [
            (R, R, True), (R, I, True), (R, D, True), (R, E, False),
            (I, I, True), (I, E, True), (I, R, False), (I, D, False),
            (D, D, True), (D, I, False), (D, R, False),
            (E, E, True), (E, I, False), (E, R, False),
        ],
    )  # fmt: skip
    def test_follows_the_lifecycle(
        self, before: DocumentStatus, after: DocumentStatus, allowed: bool
    ) -> None:
        current = doc(before, expires_on=dt.date(2024, 8, 1)) if before is E else doc(before)
        wanted = doc(after, expires_on=current.expires_on if after is not D else None)
        if after is R:
            wanted = doc(R)
        if allowed:
            assert domain.change(current, wanted, today=TODAY).status is after
        else:
            with pytest.raises(domain.DocumentTransition):
                domain.change(current, wanted, today=TODAY)

    def test_a_kind_never_changes(self) -> None:
        with pytest.raises(domain.DocumentTransition):
            domain.change(doc(), doc(kind=DocumentKind.FMM), today=TODAY)

    def test_a_changed_expiry_in_the_past_expires_it(self) -> None:
        changed = domain.change(doc(I), doc(I, expires_on=dt.date(2024, 8, 1)), today=TODAY)
        assert changed.status is E


class TestParsing:
    def test_unknown_kind_and_status_have_their_own_codes(self) -> None:
        with pytest.raises(domain.UnknownDocumentKind):
            domain.parse_kind("passport")
        with pytest.raises(domain.UnknownDocumentStatus):
            domain.parse_status("lost")
        assert domain.parse_kind("curp_temporal") is DocumentKind.CURP_TEMPORAL

    def test_an_office_is_grouped_whatever_its_spaces_and_case(self) -> None:
        assert domain.clean_office("  inm   Tijuana\t") == "INM TIJUANA"
        assert domain.clean_office("INM TIJUANA") == domain.clean_office("Inm tijuana")
        assert domain.clean_office("COMAR Tapachula (Siglo XXI)") == "COMAR TAPACHULA (SIGLO XXI)"

    @pytest.mark.parametrize("office", ["", " ", "x", "A" * 81, "INM <b>", "INM\x00X", "a@b.c"])
    def test_refuses_an_office_too_short_too_long_or_with_odd_signs(self, office: str) -> None:
        with pytest.raises(domain.InvalidOffice):
            domain.clean_office(office)

    def test_a_member_must_be_in_the_group(self) -> None:
        assert domain.check_member(1, 2) == 1
        for position in (-1, 2, 12):
            with pytest.raises(domain.UnknownMember):
                domain.check_member(position, 2)


class TestDueReminder:
    @pytest.mark.parametrize(
        ("left", "reminded", "due"),
        [
            (31, None, None), (30, None, 30), (29, 30, None), (8, 30, None), (7, 30, 7),
            (7, 7, None), (5, None, 7), (0, 30, 7), (-1, None, None), (3, 7, None),
        ],
    )  # fmt: skip
    def test_examples(self, left: int, reminded: int | None, due: int | None) -> None:
        expiry = TODAY + dt.timedelta(days=left)
        assert domain.due_reminder(expiry, today=TODAY, reminded=reminded) == due

    @given(start=st.integers(-3, 60), runs=st.lists(st.integers(1, 3), min_size=70, max_size=70))
    def test_each_threshold_is_reminded_once_and_only_the_latest_due(
        self, start: int, runs: list[int]
    ) -> None:
        expiry = TODAY + dt.timedelta(days=start)
        reminded: int | None = None
        sent: list[int] = []
        for offset, times in enumerate(runs):
            for _ in range(times):  # the job may run several times a day
                due = domain.due_reminder(
                    expiry, today=TODAY + dt.timedelta(days=offset), reminded=reminded
                )
                if due is not None:
                    sent.append(due)
                    reminded = due
        # Recorded 8 to 30 days ahead: the 30-day reminder at once; 0 to 7: the 7-day one.
        expected = [30, 7] if start > 7 else [7] if start >= 0 else []
        assert sent == expected


class TestPercentiles:
    def test_median_and_nearest_rank_90th(self) -> None:
        days = list(range(1, 11))
        assert domain.median(days) == 5.5
        assert domain.percentile(days, 0.9) == 9
        assert domain.percentile([4], 0.9) == 4
        assert domain.percentile([*range(1, 21)], 0.9) == 18


# -- suppression ----------------------------------------------------------------------------


def recover_by_subtraction(
    published: Mapping[Hashable, int | str], totals: Sequence[Total[Hashable]]
) -> dict[Hashable, int]:
    """What an attacker works out: any total with one unknown cell gives it, again and again."""
    known = {k: v for k, v in published.items() if isinstance(v, int)}
    found: dict[Hashable, int] = {}
    progress = True
    while progress:
        progress = False
        for total in totals:
            unknown = [k for k in (total.cell, *total.parts) if k not in known]
            if len(unknown) != 1:
                continue
            (key,) = unknown
            parts = sum(known[p] for p in total.parts if p != key)
            known[key] = found[key] = parts if key == total.cell else known[total.cell] - parts
            progress = True
    return found


def determined(published: Mapping[Hashable, int | str], totals: Sequence[Total[Hashable]]) -> set:
    """Hidden cells fixed by the totals' linear equations together (exact rational algebra)."""
    unknown = sorted((k for k, v in published.items() if not isinstance(v, int)), key=repr)
    index = {k: i for i, k in enumerate(unknown)}
    rows = []
    for total in totals:
        row = [Fraction(0)] * len(unknown)
        for key, sign in [(total.cell, 1), *((p, -1) for p in total.parts)]:
            if key in index:
                row[index[key]] += sign
        if any(row):
            rows.append(row)
    base = _rank(rows)
    return {
        key
        for key, i in index.items()
        if _rank([*rows, [Fraction(int(j == i)) for j in range(len(unknown))]]) == base
    }


def _rank(rows: list[list[Fraction]]) -> int:
    matrix = [list(r) for r in rows]
    rank = 0
    width = len(matrix[0]) if matrix else 0
    for col in range(width):
        pivot = next((r for r in range(rank, len(matrix)) if matrix[r][col] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for r in range(len(matrix)):
            if r != rank and matrix[r][col] != 0:
                factor = matrix[r][col] / matrix[rank][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[rank], strict=True)]
        rank += 1
    return rank


@st.composite
def tree_tables(draw: st.DrawFn) -> tuple[dict[Hashable, int], list[Total[Hashable]]]:
    """Kinds over months over offices, as the statistics publish them, with small counts often."""
    count = st.one_of(st.integers(0, 12), st.integers(0, 40))
    values: dict[Hashable, int] = {}
    totals: list[Total[Hashable]] = []
    for kind in range(draw(st.integers(1, 2))):
        months = []
        for month in range(draw(st.integers(1, 4))):
            cells = [("c", kind, month, o) for o in range(draw(st.integers(1, 5)))]
            for cell in cells:
                values[cell] = draw(count)
            values[("m", kind, month)] = sum(values[c] for c in cells)
            totals.append(Total(("m", kind, month), tuple(cells)))
            months.append(("m", kind, month))
        values[("k", kind)] = sum(values[m] for m in months)
        totals.append(Total(("k", kind), tuple(months)))
    return values, totals


def published(values: Mapping[Hashable, int], hidden: Suppression[Hashable]) -> dict:
    return {key: hidden.shown(key, value) for key, value in values.items()}


class TestSuppress:
    def test_hides_small_counts_and_the_smallest_other_cell_of_their_total(self) -> None:
        values = {"a": 3, "b": 15, "c": 20, "t": 38}
        hidden = domain.suppress(values, [Total("t", ("a", "b", "c"))])
        assert published(values, hidden) == {"a": FEWER_THAN_10, "b": HIDDEN, "c": 20, "t": 38}

    def test_leaves_a_total_with_two_small_cells_alone(self) -> None:
        values = {"a": 3, "b": 4, "c": 20, "t": 27}
        hidden = domain.suppress(values, [Total("t", ("a", "b", "c"))])
        assert hidden.protecting == frozenset()

    def test_prefers_a_non_zero_cell_to_a_zero(self) -> None:
        values = {"a": 1, "b": 0, "c": 30, "t": 31}
        hidden = domain.suppress(values, [Total("t", ("a", "b", "c"))])
        assert hidden.protecting == {"c"}

    def test_a_small_total_hides_a_part_too(self) -> None:
        values = {"a": 0, "b": 0, "c": 0, "d": 5, "t": 5}
        hidden = domain.suppress(values, [Total("t", ("a", "b", "c", "d"))])
        assert hidden.small == {"d", "t"} and hidden.protecting == frozenset()

    @given(tree_tables())
    def test_publishes_no_count_from_1_to_9(self, table: tuple[dict, list]) -> None:
        values, totals = table
        shown = published(values, domain.suppress(values, totals))
        assert not any(isinstance(v, int) and 1 <= v <= 9 for v in shown.values())
        assert all(shown[k] == v for k, v in values.items() if isinstance(shown[k], int))

    @given(tree_tables())
    def test_no_hidden_cell_is_worked_out_by_subtraction(self, table: tuple[dict, list]) -> None:
        values, totals = table
        shown = published(values, domain.suppress(values, totals))
        assert recover_by_subtraction(shown, totals) == {}

    @given(tree_tables())
    def test_no_hidden_cell_follows_from_all_the_totals_together(
        self, table: tuple[dict, list]
    ) -> None:
        values, totals = table
        shown = published(values, domain.suppress(values, totals))
        assert determined(shown, totals) == set()

    @given(tree_tables())
    def test_no_total_is_left_with_exactly_one_hidden_cell(self, table: tuple[dict, list]) -> None:
        values, totals = table
        hidden = domain.suppress(values, totals)
        everything = hidden.small | hidden.protecting
        for total in totals:
            assert sum(k in everything for k in (total.cell, *total.parts)) != 1


def records(kind: str, office: str, month: int, statuses: Sequence[str]) -> list[stats.Record]:
    requested = dt.date(2024, month, 1)
    return [
        stats.Record(
            kind, office, requested, status,
            requested + dt.timedelta(days=10 + i) if status != "requested" else None,
        )
        for i, status in enumerate(statuses)
    ]  # fmt: skip


class TestBuild:
    def test_counts_per_kind_office_and_month_with_days_to_issue(self) -> None:
        data = records("tvrh", "INM TIJUANA", 5, ["issued"] * 12 + ["denied"] * 10 + ["requested"])
        data += records("tvrh", "INM TIJUANA", 6, ["expired"] * 11)
        table = stats.build(data)
        (may, june) = table.rows
        assert (may.month, may.requests, may.issued, may.denied) == ("2024-05", 23, 12, 10)
        assert (may.median_days_to_issue, may.p90_days_to_issue) == (15.5, 20)
        assert (june.requests, june.issued, june.office) == (11, 11, "INM TIJUANA")
        tvrh = next(k for k in table.kinds if k.kind == "tvrh")
        assert (tvrh.requests, tvrh.issued, tvrh.denied) == (34, 23, 10)
        assert {k.kind for k in table.kinds} == {kind.value for kind in DocumentKind}

    def test_hides_small_counts_and_days_from_fewer_than_10_issued(self) -> None:
        data = records("fmm", "INM TIJUANA", 5, ["issued"] * 3 + ["requested"] * 20)
        data += records("fmm", "INM MEXICALI", 5, ["issued"] * 20)
        table = stats.build(data)
        tijuana = next(r for r in table.rows if r.office == "INM TIJUANA")
        mexicali = next(r for r in table.rows if r.office == "INM MEXICALI")
        assert (tijuana.issued, tijuana.median_days_to_issue) == (FEWER_THAN_10, None)
        assert mexicali.issued == HIDDEN and mexicali.median_days_to_issue is not None
        assert table.months[0].issued == 23

    def test_names_an_office_only_from_10_documents(self) -> None:
        data = records("fmm", "MY AUNT MARIA", 5, ["requested"] * 9)
        data += records("fmm", "INM TIJUANA", 5, ["requested"] * 30)
        offices = {r.office for r in stats.build(data).rows}
        assert offices == {None, "INM TIJUANA"}

    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["fmm", "tvrh"]),
                st.sampled_from(["A", "B", "C", "D"]),
                st.integers(1, 3),
                st.sampled_from(["requested", "issued", "denied", "expired"]),
            ),
            max_size=120,
        )
    )
    def test_the_published_table_gives_no_hidden_count_away(self, rows: list) -> None:
        data = [
            r
            for kind, office, month, status in rows
            for r in records(kind, office, month, [status])
        ]
        table = stats.build(data)
        for measure in stats.MEASURES:
            shown: dict[Hashable, int | str] = {}
            totals: dict[Hashable, list[Hashable]] = {}
            for row in table.rows:
                key = ("row", row.kind, row.office, row.month)
                shown[key] = getattr(row, measure)
                totals.setdefault(("month", row.kind, row.month), []).append(key)
            for month in table.months:
                shown[("month", month.kind, month.month)] = getattr(month, measure)
                totals.setdefault(("kind", month.kind), []).append(
                    ("month", month.kind, month.month)
                )
            for kind in table.kinds:
                shown[("kind", kind.kind)] = getattr(kind, measure)
            equations = [Total(cell, tuple(parts)) for cell, parts in totals.items()]
            assert not any(isinstance(v, int) and 1 <= v <= 9 for v in shown.values())
            assert recover_by_subtraction(shown, equations) == {}
            assert determined(shown, equations) == set()
