"""The geofence against the real packaged boundaries and policy data."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, shape

from puerta.geo import service
from puerta.geo.domain import InvalidCoordinates, InvalidNationality, parse_policies
from puerta.geo.service import check_batch, check_location, load_policies, state_names

BEFORE_ANY = date(2023, 1, 11)
FIRST_DAY = date(2023, 1, 12)
EVE_OF_SOUTH = date(2024, 8, 22)
SOUTH_DAY = date(2024, 8, 23)
AFTER_SOUTH = date(2024, 9, 1)

ISO_CODES = {
    "MX-AGU",
    "MX-BCN",
    "MX-BCS",
    "MX-CAM",
    "MX-CHH",
    "MX-CHP",
    "MX-CMX",
    "MX-COA",
    "MX-COL",
    "MX-DUR",
    "MX-GRO",
    "MX-GUA",
    "MX-HID",
    "MX-JAL",
    "MX-MEX",
    "MX-MIC",
    "MX-MOR",
    "MX-NAY",
    "MX-NLE",
    "MX-OAX",
    "MX-PUE",
    "MX-QUE",
    "MX-ROO",
    "MX-SIN",
    "MX-SLP",
    "MX-SON",
    "MX-TAB",
    "MX-TAM",
    "MX-TLA",
    "MX-VER",
    "MX-YUC",
    "MX-ZAC",
}


def _data(name: str) -> Any:
    path = resources.files("puerta.geo").joinpath("data", name)
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _states() -> dict[str, Any]:
    """The packaged states straight from the file, independently of the service's indexes."""
    return {
        f["properties"]["code"]: shape(f["geometry"])
        for f in _data("mexico_states.geojson")["features"]
    }


def _where(lat: float, lon: float) -> str | None:
    point = Point(lon, lat)
    return next((code for code, geom in sorted(_states().items()) if geom.covers(point)), None)


class TestKnownPlaces:
    def test_ciudad_juarez_is_eligible_in_chihuahua(self) -> None:
        verdict = check_location(lat=31.69, lon=-106.42, on=FIRST_DAY)
        assert verdict.to_dict() == {
            "eligible": True,
            "country": "MEX",
            "state": "Chihuahua",
            "policy": "2023-01-12-north-of-19",
            "reason": "at_or_above_latitude_19",
        }

    def test_tijuana_is_eligible_in_baja_california(self) -> None:
        verdict = check_location(lat=32.52, lon=-117.03, on=AFTER_SOUTH)
        assert (verdict.eligible, verdict.state) == (True, "Baja California")

    def test_mexico_city_is_eligible_as_north_of_19(self) -> None:
        verdict = check_location(lat=19.43, lon=-99.13, on=FIRST_DAY)
        assert (verdict.eligible, verdict.state, verdict.reason) == (
            True,
            "Ciudad de México",
            "at_or_above_latitude_19",
        )

    @pytest.mark.parametrize("day", [EVE_OF_SOUTH, AFTER_SOUTH])
    def test_oaxaca_city_is_not_eligible_for_foreigners_on_either_policy(self, day: date) -> None:
        verdict = check_location(lat=17.06, lon=-96.72, on=day, nationalities=["HND"])
        assert (verdict.eligible, verdict.state, verdict.reason) == (
            False,
            "Oaxaca",
            "below_latitude_19",
        )

    def test_oaxaca_city_is_eligible_for_mexican_nationals_after_the_change(self) -> None:
        assert not check_location(
            lat=17.06, lon=-96.72, on=EVE_OF_SOUTH, nationalities=["MEX"]
        ).eligible
        verdict = check_location(lat=17.06, lon=-96.72, on=AFTER_SOUTH, nationalities=["mex"])
        assert (verdict.eligible, verdict.reason) == (True, "eligible_nationality")

    @pytest.mark.parametrize(
        "lat, lon, state",
        [
            (14.9, -92.26, "Chiapas"),  # Tapachula
            (17.99, -92.93, "Tabasco"),  # Villahermosa
        ],
    )
    def test_the_southern_states_open_on_23_august_2024(
        self, lat: float, lon: float, state: str
    ) -> None:
        before = check_location(lat=lat, lon=lon, on=EVE_OF_SOUTH)
        after = check_location(lat=lat, lon=lon, on=SOUTH_DAY)
        assert (before.eligible, before.state, before.reason) == (False, state, "below_latitude_19")
        assert (after.eligible, after.state, after.reason) == (True, state, "in_eligible_state")

    @pytest.mark.parametrize("lat, lon", [(31.76, -106.49), (14.63, -90.51)])
    def test_el_paso_and_guatemala_city_are_outside_mexico(self, lat: float, lon: float) -> None:
        verdict = check_location(lat=lat, lon=lon, on=AFTER_SOUTH, nationalities=["MEX"])
        assert verdict.to_dict() == {
            "eligible": False,
            "country": None,
            "state": None,
            "policy": "2024-08-23-south-states",
            "reason": "outside_mexico",
        }

    def test_acapulco_is_in_mexico_but_below_19(self) -> None:
        # 16.86 N, not 16.85 N: at 1:10m scale the coastline puts 16.85,-99.88 in the bay.
        verdict = check_location(lat=16.86, lon=-99.88, on=AFTER_SOUTH)
        assert (verdict.eligible, verdict.state, verdict.reason) == (
            False,
            "Guerrero",
            "below_latitude_19",
        )

    def test_nothing_is_eligible_before_12_january_2023(self) -> None:
        verdict = check_location(lat=31.69, lon=-106.42, on=BEFORE_ANY)
        assert verdict.to_dict() == {
            "eligible": False,
            "country": "MEX",
            "state": "Chihuahua",
            "policy": None,
            "reason": "no_policy_in_force",
        }


class TestPackagedData:
    def test_all_32_states_are_present_with_iso_codes(self) -> None:
        names = state_names()
        assert set(names) == ISO_CODES
        assert names["MX-CMX"] == "Ciudad de México"
        assert names["MX-CHP"] == "Chiapas" and names["MX-TAB"] == "Tabasco"

    def test_every_state_is_a_valid_polygon(self) -> None:
        for code, geom in _states().items():
            assert geom.geom_type in {"Polygon", "MultiPolygon"}, code
            assert geom.is_valid, code
            assert geom.area > 0.1, code  # square degrees; Mexico City is about 0.12

    def test_states_do_not_overlap(self) -> None:
        geoms = list(_states().values())
        union = shapely.union_all(geoms)
        assert sum(g.area for g in geoms) == pytest.approx(union.area, rel=1e-6)

    def test_every_policy_version_names_its_source(self) -> None:
        for raw in _data("policies.json"):
            assert raw["source"].strip()
        assert [p.id for p in load_policies()] == [
            "2023-01-12-north-of-19",
            "2024-08-23-south-states",
        ]


class TestSharedBorders:
    @staticmethod
    def _shared_vertex(a: str, b: str) -> tuple[float, float]:
        coords = [
            set(map(tuple, shapely.get_coordinates(_states()[code]).tolist())) for code in (a, b)
        ]
        lon, lat = min(coords[0] & coords[1])
        return lat, lon

    def test_a_point_on_a_border_goes_to_the_state_whose_code_sorts_first(self) -> None:
        lat, lon = self._shared_vertex("MX-CHP", "MX-TAB")
        verdicts = {check_location(lat=lat, lon=lon, on=AFTER_SOUTH).state for _ in range(3)}
        assert verdicts == {"Chiapas"}

    def test_batch_and_single_checks_agree_on_border_points(self) -> None:
        lat, lon = self._shared_vertex("MX-CAM", "MX-TAB")
        single = check_location(lat=lat, lon=lon, on=AFTER_SOUTH)
        assert single.state == "Campeche"
        batch = check_batch(np.array([lat]), np.array([lon]), on=AFTER_SOUTH)
        assert bool(batch[0]) is single.eligible


class TestAddingAPolicyVersion:
    def test_a_new_version_in_the_data_changes_results_without_code_changes(self) -> None:
        raw = _data("policies.json") + [
            {
                "id": "2025-06-01-north-of-17",
                "effective_from": "2025-06-01",
                "source": "hypothetical test version",
                "rules": [{"type": "latitude_at_least", "degrees": 17}],
            }
        ]
        policies = parse_policies(raw)
        oaxaca = {"lat": 17.06, "lon": -96.72}
        assert not check_location(**oaxaca, on=date(2025, 5, 31), policies=policies).eligible
        verdict = check_location(**oaxaca, on=date(2025, 6, 1), policies=policies)
        assert verdict.to_dict() == {
            "eligible": True,
            "country": "MEX",
            "state": "Oaxaca",
            "policy": "2025-06-01-north-of-17",
            "reason": "at_or_above_latitude_17",
        }
        batch = check_batch([17.06], [-96.72], on=date(2025, 6, 1), policies=policies)
        assert batch.tolist() == [True]


class TestCheckBatch:
    def test_keeps_the_shape_of_its_input(self) -> None:
        lats = np.array([[31.69, 17.06], [14.9, 31.76]])
        lons = np.array([[-106.42, -96.72], [-92.26, -106.49]])
        result = check_batch(lats, lons, on=AFTER_SOUTH)
        assert result.dtype == np.bool_
        assert result.tolist() == [[True, False], [True, False]]

    def test_an_empty_batch_gives_an_empty_answer(self) -> None:
        assert check_batch(np.array([]), np.array([]), on=AFTER_SOUTH).shape == (0,)

    def test_mismatched_arrays_are_a_programming_error(self) -> None:
        with pytest.raises(ValueError):
            check_batch(np.zeros(2), np.zeros(3), on=AFTER_SOUTH)

    @pytest.mark.parametrize(
        "lat, lon", [(math.nan, 0.0), (0.0, math.inf), (91.0, 0.0), (0.0, -180.5)]
    )
    def test_one_invalid_point_refuses_the_whole_batch(self, lat: float, lon: float) -> None:
        with pytest.raises(InvalidCoordinates):
            check_batch(np.array([19.0, lat]), np.array([-99.0, lon]), on=AFTER_SOUTH)

    def test_refuses_bad_nationalities_like_the_single_check(self) -> None:
        with pytest.raises(InvalidNationality):
            check_batch([19.0], [-99.0], on=AFTER_SOUTH, nationalities=["Mexican"])


class TestConcurrentUse:
    def test_threads_starting_from_a_cold_cache_get_the_same_answers_as_one_thread(self) -> None:
        rng = np.random.default_rng(7)
        lats, lons = rng.uniform(14, 33, 400), rng.uniform(-118.5, -86.5, 400)
        expected = check_batch(lats, lons, on=AFTER_SOUTH).tolist()
        service._geodata.cache_clear()

        def one(i: int) -> bool:
            return check_location(lat=lats[i], lon=lons[i], on=AFTER_SOUTH).eligible

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert list(pool.map(one, range(400))) == expected


# Strategies: points scattered around places that exercise every rule (Hypothesis alone
# favours range ends, which are all outside Mexico), and dates bunched on the policy changes.
ANCHORS = [
    (19.0, -99.5),
    (19.0, -97.0),
    (17.06, -96.72),
    (16.5, -92.5),
    (17.99, -92.93),
    (18.3, -91.0),
    (16.86, -99.88),
    (31.69, -106.42),
    (20.97, -89.62),
    (14.63, -90.51),
    (25.5, -103.0),
    (15.5, -92.0),
]
near_places = st.builds(
    lambda anchor, dlat, dlon: (anchor[0] + dlat, anchor[1] + dlon),
    st.sampled_from(ANCHORS),
    st.floats(-1.5, 1.5),
    st.floats(-1.5, 1.5),
)
around_mexico = st.tuples(st.floats(13.0, 34.0), st.floats(-119.0, -85.0))
anywhere = st.tuples(st.floats(-90.0, 90.0), st.floats(-180.0, 180.0))
points = st.one_of(near_places, near_places, around_mexico, anywhere)
days = st.one_of(
    st.sampled_from([BEFORE_ANY, FIRST_DAY, EVE_OF_SOUTH, SOUTH_DAY]),
    st.dates(date(2022, 1, 1), date(2027, 12, 31)),
)
nationality_lists = st.lists(
    st.sampled_from(["MEX", "mex", "Mex", "GTM", "HND", "HTI", "VEN", "CUB"]), max_size=4
)


class TestGeofenceProperties:
    @settings(max_examples=300, deadline=None)
    @given(points, days, nationality_lists)
    @example((17.06, -96.72), AFTER_SOUTH, ["gtm", "mex"])
    @example((14.9, -92.26), SOUTH_DAY, [])
    @example((19.0, -99.2), FIRST_DAY, [])
    def test_agrees_with_an_independent_statement_of_the_rule(
        self, point: tuple[float, float], day: date, nationalities: list[str]
    ) -> None:
        lat, lon = point
        state = _where(lat, lon)
        mexican = "MEX" in {n.upper() for n in nationalities}
        expected = (
            state is not None
            and day >= FIRST_DAY
            and (lat >= 19 or (day >= SOUTH_DAY and (state in {"MX-TAB", "MX-CHP"} or mexican)))
        )
        verdict = check_location(lat=lat, lon=lon, on=day, nationalities=nationalities)
        event(verdict.reason)  # --hypothesis-show-statistics shows every branch is reached
        assert verdict.eligible is expected
        assert verdict.state == (state_names()[state] if state else None)

    @settings(max_examples=200, deadline=None)
    @given(anywhere, days, nationality_lists)
    def test_outside_mexico_is_never_eligible(
        self, point: tuple[float, float], day: date, nationalities: list[str]
    ) -> None:
        lat, lon = point
        verdict = check_location(lat=lat, lon=lon, on=day, nationalities=nationalities)
        if verdict.country is None:
            assert not verdict.eligible
            assert verdict.reason in {"outside_mexico", "no_policy_in_force"}

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(points, min_size=1, max_size=40), days, nationality_lists)
    def test_the_batch_check_agrees_with_the_single_check_point_by_point(
        self, batch: list[tuple[float, float]], day: date, nationalities: list[str]
    ) -> None:
        lats = np.array([lat for lat, _ in batch])
        lons = np.array([lon for _, lon in batch])
        result = check_batch(lats, lons, on=day, nationalities=nationalities)
        expected = [
            check_location(lat=lat, lon=lon, on=day, nationalities=nationalities).eligible
            for lat, lon in batch
        ]
        assert result.tolist() == expected

    @given(
        st.one_of(
            st.tuples(
                st.floats(allow_nan=False).filter(lambda v: abs(v) > 90), st.floats(-180, 180)
            ),
            st.tuples(
                st.floats(-90, 90), st.floats(allow_nan=False).filter(lambda v: abs(v) > 180)
            ),
            st.tuples(st.just(math.nan), st.floats(-180, 180)),
            st.tuples(st.floats(-90, 90), st.sampled_from([math.nan, math.inf, -math.inf])),
        ),
        days,
    )
    def test_invalid_coordinates_always_raise(self, point: tuple[float, float], day: date) -> None:
        lat, lon = point
        with pytest.raises(InvalidCoordinates):
            check_location(lat=lat, lon=lon, on=day)
        with pytest.raises(InvalidCoordinates):
            check_batch([lat], [lon], on=day)
