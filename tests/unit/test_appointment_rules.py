"""The pure rules of offers and appointments: time slots and the texts staff must write."""

from __future__ import annotations

import datetime as dt

import pytest

from puerta.appointments import rules


class TestSlotStarts:
    def test_runs_hourly_from_the_first_slot_to_the_last_inclusive(self) -> None:
        starts = rules.slot_starts(dt.time(7, 30), dt.time(9, 30))
        assert starts == [dt.time(7, 30), dt.time(8, 30), dt.time(9, 30)]

    def test_the_queue_goes_to_the_emptiest_slot_earliest_first(self) -> None:
        starts = rules.slot_starts(dt.time(7), dt.time(9))
        assert rules.choose_slot(starts, {dt.time(7): 2, dt.time(8): 1}) == dt.time(9)
        assert rules.choose_slot(starts, {dt.time(7): 1, dt.time(9): 1}) == dt.time(8)


class TestReasonsAndNotes:
    def test_spaces_are_collapsed_to_one(self) -> None:
        assert rules.check_reason("  Port \n closed  today ") == "Port closed today"

    @pytest.mark.parametrize("length", [3, 500])
    def test_a_reason_of_3_to_500_characters_is_accepted(self, length: int) -> None:
        assert rules.check_reason("x" * length) == "x" * length
        assert rules.check_note("x" * length) == "x" * length

    @pytest.mark.parametrize("length", [2, 501])
    def test_a_shorter_or_longer_one_is_refused(self, length: int) -> None:
        with pytest.raises(rules.ReasonRequired):
            rules.check_reason("x" * length)
        with pytest.raises(rules.NoteRequired):
            rules.check_note("x" * length)
