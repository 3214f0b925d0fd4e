"""The pure rules of incident reports: codes, receipts, dates, text, lifecycle, places,
statistics' suppression, the HURIDOCS mapping and the sealing primitives."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter

import pytest

from puerta.disclosure import FEWER_THAN_10, HIDDEN
from puerta.geo.service import state_names
from puerta.incidents import domain, huridocs, places, sealing, stats
from puerta.incidents.domain import ReferredTo, Status

TODAY = dt.date(2024, 9, 2)


class TestCodes:
    def test_the_codes_are_exactly_those_the_issue_names(self) -> None:
        assert [t.value for t in domain.IncidentType] == [
            "kidnapping", "sexual_abuse", "torture", "extortion", "robbery", "abuse_by_inm",
            "abuse_by_national_guard", "abuse_by_police", "detention_of_registered_person",
            "deportation_of_registered_person", "forced_eviction", "other",
        ]  # fmt: skip
        assert [p.value for p in domain.Perpetrator] == [
            "organized_crime", "inm", "national_guard", "police", "other", "unknown",
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("parse", "value", "error"),
        [
            (domain.parse_type, "murder", domain.UnknownIncidentType),
            (domain.parse_type, "Kidnapping", domain.UnknownIncidentType),
            (domain.parse_perpetrator, "army", domain.UnknownPerpetrator),
            (domain.parse_status, "open", domain.UnknownStatus),
            (domain.parse_referral, "embassy", domain.UnknownReferral),
        ],
    )
    def test_an_unknown_code_is_refused_with_its_own_error(
        self, parse: object, value: str, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            parse(value)  # type: ignore[operator]


class TestReceipt:
    def test_is_20_digits_in_five_groups_of_four(self) -> None:
        assert re.fullmatch(r"\d{4}(-\d{4}){4}", domain.new_receipt())

    def test_holds_at_least_64_bits(self) -> None:
        assert math.log2(10**domain.RECEIPT_DIGITS) >= 64

    def test_comes_from_the_operating_systems_randomness(self) -> None:
        drawn = [domain.normalize_receipt(domain.new_receipt()) for _ in range(2000)]
        assert len(set(drawn)) == len(drawn)
        # Every digit position takes every value: no fixed or constant part.
        for position in range(domain.RECEIPT_DIGITS):
            assert len(Counter(d[position] for d in drawn)) == 10

    @pytest.mark.parametrize(
        "typed", ["0123-4567-8901-2345-6789", "01234567890123456789", " 0123 4567 8901 2345 6789 "]
    )
    def test_is_read_back_with_or_without_dashes_and_spaces(self, typed: str) -> None:
        assert domain.normalize_receipt(typed) == "01234567890123456789"

    @pytest.mark.parametrize("typed", ["", "123", "0123-4567-8901-2345-678x", "٠" * 20, "1" * 21])
    def test_anything_else_is_not_found(self, typed: str) -> None:
        with pytest.raises(domain.ReceiptNotFound):
            domain.normalize_receipt(typed)


class TestWhen:
    def test_a_past_month_without_a_day(self) -> None:
        assert domain.parse_when("2024-05", None, today=TODAY) == domain.When(2024, 5)

    def test_this_month_up_to_today(self) -> None:
        assert domain.parse_when("2024-09", 2, today=TODAY) == domain.When(2024, 9, 2)

    @pytest.mark.parametrize(
        ("month", "day", "error"),
        [
            ("2024-10", None, domain.FutureDate),
            ("2024-09", 3, domain.FutureDate),
            ("2023-02", 29, domain.BadDay),
            ("2024-04", 31, domain.BadDay),
            ("2024-04", 0, domain.BadDay),
            ("2024-13", None, domain.BadMonth),
            ("2024-5", None, domain.BadMonth),
            ("05/2024", None, domain.BadMonth),
            ("1999-12", None, domain.BadMonth),
        ],
    )
    def test_refuses_a_future_month_a_day_that_does_not_exist_and_bad_months(
        self, month: str, day: int | None, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            domain.parse_when(month, day, today=TODAY)

    def test_a_leap_day_exists(self) -> None:
        assert domain.parse_when("2024-02", 29, today=TODAY).day == 29


class TestText:
    def test_keeps_markup_and_line_breaks_and_drops_other_control_characters(self) -> None:
        assert domain.clean_text("  <b>hi</b>\nthere\x00\x07 ") == "<b>hi</b>\nthere"

    def test_refuses_empty_and_oversized_text(self) -> None:
        with pytest.raises(domain.TextMissing):
            domain.clean_text(" \n ")
        assert domain.clean_text("a" * domain.MAX_TEXT_LENGTH)
        with pytest.raises(domain.TextTooLong):
            domain.clean_text("a" * (domain.MAX_TEXT_LENGTH + 1))

    def test_an_empty_contact_is_none_and_a_long_one_is_refused(self) -> None:
        assert domain.clean_contact("  ") is None
        with pytest.raises(domain.ContactTooLong):
            domain.clean_contact("9" * (domain.MAX_CONTACT_LENGTH + 1))


class TestLifecycle:
    def test_received_in_review_referred_closed(self) -> None:
        status, where = domain.change_status(Status.RECEIVED, Status.IN_REVIEW, None)
        status, where = domain.change_status(status, Status.REFERRED, ReferredTo.PROSECUTOR)
        assert (status, where) == (Status.REFERRED, ReferredTo.PROSECUTOR)
        assert domain.change_status(status, Status.CLOSED, None) == (Status.CLOSED, None)

    def test_a_referral_names_where_and_nothing_else_does(self) -> None:
        with pytest.raises(domain.UnknownReferral):
            domain.change_status(Status.IN_REVIEW, Status.REFERRED, None)
        with pytest.raises(domain.UnknownReferral):
            domain.change_status(Status.RECEIVED, Status.IN_REVIEW, ReferredTo.LEGAL_AID)

    @pytest.mark.parametrize(
        ("current", "wanted"),
        [
            (Status.RECEIVED, Status.REFERRED),
            (Status.CLOSED, Status.REFERRED),
            (Status.IN_REVIEW, Status.RECEIVED),
            (Status.RECEIVED, Status.RECEIVED),
        ],
    )
    def test_refuses_a_step_the_lifecycle_does_not_have(
        self, current: Status, wanted: Status
    ) -> None:
        with pytest.raises(domain.StatusNotAllowed):
            domain.change_status(current, wanted, ReferredTo.LEGAL_AID)


class TestPlaces:
    def test_every_state_has_municipalities_with_codes_of_that_state(self) -> None:
        entity = {code: f"{i:02d}" for i, code in enumerate(_INEGI_ORDER, start=1)}
        for state in state_names():
            found = places.municipalities_of(state)
            assert found, state
            assert {m.code[:2] for m in found} == {entity[state]}

    def test_the_border_and_southern_states_are_complete(self) -> None:
        counts = {s: len(places.municipalities_of(s)) for s in ("MX-CHP", "MX-TAB", "MX-CMX")}
        assert counts == {"MX-CHP": 124, "MX-TAB": 17, "MX-CMX": 16}
        assert places.municipalities()["07089"].name == "Tapachula"
        assert places.municipalities()["02004"].name == "Tijuana"

    def test_a_municipality_of_another_state_or_unknown_is_refused(self) -> None:
        with pytest.raises(domain.UnknownMunicipality):
            places.check_place("MX-TAB", "07089", state_names())
        with pytest.raises(domain.UnknownMunicipality):
            places.check_place("MX-CHP", "07095", state_names())  # INEGI has no 07095
        with pytest.raises(domain.UnknownState):
            places.check_place("MX-XXX", "07089", state_names())


_INEGI_ORDER = (
    "MX-AGU MX-BCN MX-BCS MX-CAM MX-COA MX-COL MX-CHP MX-CHH MX-CMX MX-DUR MX-GUA MX-GRO "
    "MX-HID MX-JAL MX-MEX MX-MIC MX-MOR MX-NAY MX-NLE MX-OAX MX-PUE MX-QUE MX-ROO MX-SLP "
    "MX-SIN MX-SON MX-TAB MX-TAM MX-TLA MX-VER MX-YUC MX-ZAC"
).split()


def _records(n: int, **fields: str) -> list[stats.Record]:
    base = {"incident_type": "robbery", "perpetrator": "police", "state": "MX-CHP",
            "month": "2024-05"} | fields  # fmt: skip
    return [stats.Record(**base) for _ in range(n)]


class TestStatistics:
    def test_counts_from_1_to_9_read_fewer_than_10_everywhere(self) -> None:
        built = stats.build(_records(3), sorted(state_names()))
        assert built.total == FEWER_THAN_10
        shown = {c.key: c.count for c in built.by_type}
        assert shown["robbery"] == FEWER_THAN_10 and shown["kidnapping"] == 0
        assert {c.key: c.count for c in built.by_month} == {"2024-05": FEWER_THAN_10}

    def test_a_single_small_cell_is_protected_by_hiding_another(self) -> None:
        records = _records(40) + _records(3, incident_type="kidnapping")
        built = stats.build(records, sorted(state_names()))
        shown = {c.key: c.count for c in built.by_type}
        assert built.total == 43
        assert shown["kidnapping"] == FEWER_THAN_10
        # 43 - 40 would give the 3 away: the 40 is hidden too.
        assert shown["robbery"] == HIDDEN

    def test_large_counts_are_shown(self) -> None:
        built = stats.build(_records(25) + _records(12, state="MX-TAB"), sorted(state_names()))
        by_state = {c.key: c.count for c in built.by_state}
        assert (built.total, by_state["MX-CHP"], by_state["MX-TAB"]) == (37, 25, 12)


class TestHuridocs:
    def test_a_referred_case_carries_the_esf_fields_and_nothing_sealed(self) -> None:
        case = huridocs.ReferredCase(
            id=7, incident_type="kidnapping", perpetrator="organized_crime", state="MX-TAM",
            state_name="Tamaulipas", municipality="28032", municipality_name="Reynosa",
            occurred_month="2024-03", occurred_day=None, referred_to="prosecutor",
            received_on=dt.date(2024, 4, 1),
        )  # fmt: skip
        event = huridocs.event(case)
        assert event["act"]["2109_type_of_act"] == "kidnapping"
        assert event["involvement"]["2412_type_of_perpetrator"] == "organized_crime"
        assert event["information"]["2553_reliability_of_source"] == "unverified"
        assert (event["113_initial_date"], event["114_final_date"]) == ("2024-03", "2024-03")
        assert event["act"]["2112_exact_location"]["municipality_inegi"] == "28032"


class TestSealing:
    def test_the_receipt_hash_is_keyed(self) -> None:
        digits = "01234567890123456789"
        assert sealing.receipt_hash(b"k1" * 16, digits) != sealing.receipt_hash(b"k2" * 16, digits)
        assert digits not in sealing.receipt_hash(b"k1" * 16, digits)

    def test_messages_open_only_with_the_key_of_their_receipt(self) -> None:
        sealed = sealing.seal_message(sealing.message_key("1" * 20), "hola")
        assert sealing.open_message(sealing.message_key("1" * 20), sealed) == "hola"
        with pytest.raises(sealing.SealError):
            sealing.open_message(sealing.message_key("2" * 20), sealed)

    def test_an_unlock_value_opens_only_with_the_token_it_was_made_for(self) -> None:
        value = sealing.lock_for_session("token-a", {"kid": b"\x01" * 32})
        assert sealing.keys_of_session("token-a", value) == {"kid": b"\x01" * 32}
        for token, sent in (("token-b", value), ("token-a", value[:-2] + "AA"), ("", value)):
            with pytest.raises(sealing.Locked):
                sealing.keys_of_session(token, sent)

    def test_no_unlock_value_is_made_without_a_token(self) -> None:
        # A key derived from an empty token is one anyone can compute.
        with pytest.raises(sealing.Locked):
            sealing.lock_for_session("", {"kid": b"\x01" * 32})
