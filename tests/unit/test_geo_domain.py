"""The geofence's pure rules: policy versions, the decision, and input validation."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.errors import DomainError
from puerta.geo.domain import (
    GeofencePolicy,
    GeofenceVerdict,
    HasNationality,
    InStates,
    InvalidCoordinates,
    InvalidNationality,
    LatitudeAtLeast,
    PolicyDataError,
    decide,
    normalize_nationalities,
    parse_policies,
    policy_in_force,
    validate_coordinates,
)

NORTH = GeofencePolicy("north", date(2023, 1, 12), (LatitudeAtLeast(19),), "test")
SOUTH = GeofencePolicy(
    "south",
    date(2024, 8, 23),
    (
        LatitudeAtLeast(19),
        InStates(frozenset({"MX-TAB", "MX-CHP"})),
        HasNationality(frozenset({"MEX"})),
    ),
    "test",
)
POLICIES = [SOUTH, NORTH]  # deliberately unsorted: order in the list must not matter

RAW: list[dict[str, Any]] = [
    {
        "id": "north",
        "effective_from": "2023-01-12",
        "source": "letter",
        "rules": [{"type": "latitude_at_least", "degrees": 19}],
    },
    {
        "id": "south",
        "effective_from": "2024-08-23",
        "source": "CBP",
        "rules": [
            {"type": "latitude_at_least", "degrees": 19},
            {"type": "in_states", "states": ["mx-tab", "MX-CHP"]},
            {"type": "nationality", "nationalities": ["mex"]},
        ],
    },
]


def _decide(
    policy: GeofencePolicy | None,
    *,
    inside: bool = True,
    code: str | None = "MX-OAX",
    name: str | None = "Oaxaca",
    lat: float = 17.0,
    nationalities: tuple[str, ...] = (),
) -> GeofenceVerdict:
    return decide(
        policy,
        inside_mexico=inside,
        state_code=code,
        state_name=name,
        lat=lat,
        nationalities=nationalities,
    )


class TestPolicyInForce:
    def test_nothing_is_in_force_before_the_first_version(self) -> None:
        assert policy_in_force(POLICIES, date(2023, 1, 11)) is None

    def test_a_version_is_in_force_from_its_first_day(self) -> None:
        assert policy_in_force(POLICIES, date(2023, 1, 12)) == NORTH
        assert policy_in_force(POLICIES, date(2024, 8, 22)) == NORTH
        assert policy_in_force(POLICIES, date(2024, 8, 23)) == SOUTH

    def test_the_latest_version_stays_in_force_afterwards(self) -> None:
        assert policy_in_force(POLICIES, date(2030, 1, 1)) == SOUTH

    @given(st.dates(), st.integers(min_value=0, max_value=5000))
    def test_a_later_day_never_goes_back_to_an_older_version(self, day: date, later: int) -> None:
        if day > date.max - timedelta(days=later):
            return
        first = policy_in_force(POLICIES, day)
        second = policy_in_force(POLICIES, day + timedelta(days=later))
        if first is not None:
            assert second is not None
            assert second.effective_from >= first.effective_from


class TestDecide:
    def test_no_policy_in_force_is_never_eligible(self) -> None:
        verdict = _decide(None, lat=30.0)
        assert verdict == GeofenceVerdict(False, "MEX", "Oaxaca", None, "no_policy_in_force")

    def test_outside_mexico_is_never_eligible_even_for_nationals(self) -> None:
        verdict = _decide(
            SOUTH, inside=False, code=None, name=None, lat=31.0, nationalities=("MEX",)
        )
        assert verdict == GeofenceVerdict(False, None, None, "south", "outside_mexico")

    def test_the_19th_parallel_itself_counts_as_above(self) -> None:
        assert _decide(NORTH, lat=19.0).reason == "at_or_above_latitude_19"
        assert _decide(NORTH, lat=18.99999).reason == "below_latitude_19"

    def test_the_southern_states_count_only_under_the_later_version(self) -> None:
        assert not _decide(NORTH, code="MX-CHP", name="Chiapas").eligible
        verdict = _decide(SOUTH, code="MX-CHP", name="Chiapas")
        assert verdict == GeofenceVerdict(True, "MEX", "Chiapas", "south", "in_eligible_state")

    def test_a_group_with_any_mexican_member_counts_as_nationals(self) -> None:
        verdict = _decide(SOUTH, nationalities=("HND", "mex"))
        assert verdict.eligible and verdict.reason == "eligible_nationality"

    def test_other_nationalities_below_19_are_refused_with_the_main_rule_as_reason(self) -> None:
        assert _decide(SOUTH, nationalities=("GTM",)).reason == "below_latitude_19"

    def test_the_first_matching_rule_gives_the_reason(self) -> None:
        verdict = _decide(SOUTH, code="MX-CHP", lat=19.5, nationalities=("MEX",))
        assert verdict.reason == "at_or_above_latitude_19"

    def test_reasons_follow_the_rule_parameters(self) -> None:
        policy = GeofencePolicy("p", date(2025, 1, 1), (LatitudeAtLeast(17.5),), "test")
        assert _decide(policy, lat=18.0).reason == "at_or_above_latitude_17.5"
        assert _decide(policy, lat=17.0).reason == "below_latitude_17.5"

    def test_bad_nationalities_are_refused_whatever_the_date(self) -> None:
        with pytest.raises(InvalidNationality):
            _decide(None, nationalities=("Mexico",))

    def test_the_verdict_dict_has_exactly_the_published_keys(self) -> None:
        assert _decide(SOUTH).to_dict() == {
            "eligible": False,
            "country": "MEX",
            "state": "Oaxaca",
            "policy": "south",
            "reason": "below_latitude_19",
        }


class TestValidateCoordinates:
    @pytest.mark.parametrize("lat, lon", [(90, 180), (-90, -180), (0, 0), (19.43, -99.13)])
    def test_accepts_the_closed_ranges(self, lat: float, lon: float) -> None:
        validate_coordinates(lat, lon)

    @given(
        st.one_of(
            st.tuples(
                st.floats(allow_nan=False).filter(lambda v: abs(v) > 90), st.floats(-180, 180)
            ),
            st.tuples(
                st.floats(-90, 90), st.floats(allow_nan=False).filter(lambda v: abs(v) > 180)
            ),
            st.tuples(st.sampled_from([math.nan, math.inf, -math.inf]), st.floats(-180, 180)),
            st.tuples(st.floats(-90, 90), st.sampled_from([math.nan, math.inf, -math.inf])),
        )
    )
    def test_refuses_anything_else(self, point: tuple[float, float]) -> None:
        with pytest.raises(InvalidCoordinates):
            validate_coordinates(*point)

    def test_the_error_is_a_domain_error_with_a_stable_code(self) -> None:
        error = InvalidCoordinates()
        assert isinstance(error, DomainError)
        assert (error.code, error.status) == ("invalid_coordinates", 422)
        assert str(error) == (
            "Coordinates must be numbers: latitude between -90 and 90, "
            "longitude between -180 and 180."
        )


class TestNormalizeNationalities:
    def test_codes_are_stored_upper_case_without_duplicates(self) -> None:
        assert normalize_nationalities([" mex", "MEX", "gtm"]) == frozenset({"MEX", "GTM"})

    def test_a_single_code_string_is_one_code(self) -> None:
        assert normalize_nationalities("mex") == frozenset({"MEX"})

    @pytest.mark.parametrize("bad", ["MX", "MEXI", "M3X", "", "México"])
    def test_anything_but_three_letters_is_refused(self, bad: str) -> None:
        with pytest.raises(InvalidNationality):
            normalize_nationalities([bad])


class TestParsePolicies:
    def test_builds_versions_oldest_first(self) -> None:
        north, south = parse_policies(list(reversed(RAW)))
        assert north == GeofencePolicy(
            "north", date(2023, 1, 12), (LatitudeAtLeast(19.0),), "letter"
        )
        assert south.rules[1] == InStates(frozenset({"MX-TAB", "MX-CHP"}))
        assert south.rules[2] == HasNationality(frozenset({"MEX"}))

    @pytest.mark.parametrize(
        "broken",
        [
            {"type": "latitude_above", "degrees": 19},
            {"type": "latitude_at_least"},
            {"type": "latitude_at_least", "degrees": "nan"},
            {"type": "nationality", "nationalities": ["Mexican"]},
        ],
    )
    def test_malformed_rules_are_a_data_error(self, broken: dict[str, object]) -> None:
        raw = [{"id": "x", "effective_from": "2025-01-01", "source": "s", "rules": [broken]}]
        with pytest.raises(PolicyDataError):
            parse_policies(raw)

    def test_two_versions_starting_the_same_day_are_a_data_error(self) -> None:
        twin = dict(RAW[1], id="twin")
        with pytest.raises(PolicyDataError):
            parse_policies([*RAW, twin])

    def test_a_version_without_rules_is_a_data_error(self) -> None:
        with pytest.raises(PolicyDataError):
            parse_policies([dict(RAW[0], rules=[])])
