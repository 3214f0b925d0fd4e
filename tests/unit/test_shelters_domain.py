"""The shelters' pure rules: distances, staleness, free beds, CSV rows, the public view and
the HSDS and HXL mappings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.errors import DomainError
from puerta.shelters import csvimport, exports
from puerta.shelters.domain import (
    STALE_AFTER,
    Need,
    Reading,
    ShelterInput,
    ShelterView,
    check_occupancy,
    clean_shelter,
    coarse_point,
    distance_km,
    free_beds,
    is_stale,
    listing,
    occupancy_by_state,
    search,
)

NOW = dt.datetime(2024, 9, 2, 18, tzinfo=dt.UTC)
lats = st.floats(-89.9, 89.9)
lons = st.floats(-179.9, 179.9)


def view(slug: str = "casa", **overrides: object) -> ShelterView:
    base = ShelterView(
        slug=slug, name=f"Casa {slug}", organization="org", organization_name="Org",
        address="Calle Escondida 77", municipality="Juárez", state="MX-CHH",
        state_name="Chihuahua", lat=31.73457, lon=-106.48123, beds=10,
        services=("food",), populations=("women",), languages=("es",), open_door=False,
        contact="+52 656 000 0000", confidential_location=False, occupied=4,
        updated_at=NOW - dt.timedelta(hours=1), created_at=NOW - dt.timedelta(days=3),
    )  # fmt: skip
    return replace(base, **overrides)  # type: ignore[arg-type]


class TestDistance:
    def test_one_degree_of_longitude_at_the_equator_is_about_111_km(self) -> None:
        assert distance_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.01)

    def test_tijuana_to_ciudad_juarez_is_about_1000_km(self) -> None:
        assert distance_km(32.5, -117.0, 31.69, -106.42) == pytest.approx(1000, rel=0.02)

    @given(lats, lons, lats, lons)
    def test_is_symmetric_and_never_negative(self, a: float, b: float, c: float, d: float) -> None:
        assert distance_km(a, b, c, d) == pytest.approx(distance_km(c, d, a, b), abs=1e-6)
        assert 0 <= distance_km(a, b, c, d) <= 20_016

    @given(st.tuples(lats, lons, lats, lons, lats, lons))
    def test_keeps_the_triangle_inequality(self, p: tuple[float, ...]) -> None:
        ab, bc, ac = distance_km(*p[:4]), distance_km(*p[2:]), distance_km(*p[:2], *p[4:])
        assert ac <= ab + bc + 1e-6


class TestOccupancy:
    @given(st.integers(0, 10_000), st.integers(-20_000, 20_000))
    def test_accepts_exactly_zero_to_the_beds(self, beds: int, occupied: int) -> None:
        if 0 <= occupied <= beds:
            assert check_occupancy(occupied, beds) == occupied
        else:
            with pytest.raises(DomainError) as refused:
                check_occupancy(occupied, beds)
            assert refused.value.code == "occupancy_out_of_range"

    def test_a_bool_is_not_a_count(self) -> None:
        with pytest.raises(DomainError):
            check_occupancy(True, 10)  # type: ignore[arg-type]

    def test_free_beds_are_unknown_until_reported_and_never_negative(self) -> None:
        assert free_beds(10, None) is None
        assert free_beds(10, 4) == 6
        assert free_beds(10, 12) == 0  # beds lowered by an import after the report

    def test_is_stale_when_never_reported_or_at_48_hours(self) -> None:
        assert is_stale(None, NOW)
        assert not is_stale(NOW - STALE_AFTER + dt.timedelta(seconds=1), NOW)
        assert is_stale(NOW - STALE_AFTER, NOW)


def raw(**overrides: object) -> ShelterInput:
    base = ShelterInput("casa", "Casa", "org", "Calle 1", "Tijuana", 32.5, -117.0, 10,
                        ("FOOD", "health", "food"), ("families",), ("ES", "ht"))  # fmt: skip
    return replace(base, **overrides)  # type: ignore[arg-type]


class TestCleanShelter:
    def test_normalizes_codes_in_the_published_order(self) -> None:
        cleaned = clean_shelter(raw())
        assert cleaned.services == ("food", "health") and cleaned.languages == ("es", "ht")

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"slug": "-bad"}, "invalid_slug"),
            ({"slug": "x" * 65}, "invalid_slug"),
            ({"name": "  "}, "invalid_text"),
            ({"name": "a\x00b"}, "invalid_text"),
            ({"municipality": "m" * 101}, "invalid_text"),
            ({"beds": -1}, "invalid_beds"),
            ({"beds": 10_001}, "invalid_beds"),
            ({"beds": True}, "invalid_beds"),
            ({"services": ("spa",)}, "unknown_service"),
            ({"populations": ("tourists",)}, "unknown_population"),
            ({"languages": ("español",)}, "invalid_languages"),
            ({"lat": float("nan")}, "invalid_coordinates"),
            ({"lon": 181.0}, "invalid_coordinates"),
        ],
    )
    def test_refuses_each_bad_field_with_its_code(
        self, overrides: dict[str, object], code: str
    ) -> None:
        with pytest.raises(DomainError) as refused:
            clean_shelter(raw(**overrides))
        assert refused.value.code == code


HEADER = ",".join(csvimport.COLUMNS) + "\n"
ROW = "casa-a,Casa A,org,Calle 1,Mexicali,32.62,-115.45,25,food;health,families,es;ht,yes,,no\n"


class TestCsvRows:
    def test_reads_a_good_row(self) -> None:
        rows, problems = csvimport.read_rows(HEADER + ROW)
        assert problems == [] and rows[0].line == 2
        shelter = rows[0].shelter
        assert shelter.services == ("food", "health") and shelter.open_door is True
        assert shelter.lat == 32.62 and shelter.confidential_location is False

    def test_names_each_bad_row_by_the_line_it_starts_on(self) -> None:
        text = (
            HEADER + ROW
            + 'b,"B\nspread over two lines",org,,M,32.6,-115.4,many,,,,,,\n'
            + "\n"
            + "c,C,org,,M,32.6,-115.4,5,,,,maybe,,\n"
            + ROW
            + "d,D,org,,M,32.6,-115.4\n"
        )  # fmt: skip
        rows, problems = csvimport.read_rows(text)
        assert [r.line for r in rows] == [2]
        assert [(p.line, p.error.code) for p in problems] == [
            (3, "invalid_beds"), (6, "invalid_flag"), (7, "duplicate_slug"), (8, "csv_row_shape"),
        ]  # fmt: skip

    def test_accepts_a_column_order_of_its_own_and_a_byte_order_mark(self) -> None:
        data = ("\ufeffname,slug,organization,municipality,lat,lon,beds\n"
                "Casa,casa,org,Mexicali,32.6,-115.4,5\n").encode()  # fmt: skip
        rows, problems = csvimport.read_rows(csvimport.decode(data))
        assert problems == [] and rows[0].shelter.slug == "casa"

    @pytest.mark.parametrize("text", ["", "slug,name\n", HEADER.replace("beds", "bedz")])
    def test_refuses_a_file_without_the_needed_columns(self, text: str) -> None:
        with pytest.raises(csvimport.CsvRejected) as refused:
            csvimport.read_rows(text)
        assert [(p.line, p.error.code) for p in refused.value.problems] == [(1, "csv_columns")]

    def test_refuses_bytes_that_are_not_utf8_text(self) -> None:
        for data in (b"\xff\xfe", b"a\x00b"):
            with pytest.raises(DomainError) as refused:
                csvimport.decode(data)
            assert refused.value.code == "csv_not_text"

    @given(st.text(max_size=200))
    def test_never_fails_other_than_with_a_domain_error(self, text: str) -> None:
        try:
            csvimport.read_rows(HEADER + text)
        except DomainError:
            pass


class TestPublicView:
    @given(lats, lons)
    def test_a_confidential_location_shows_no_address_and_no_coordinates(
        self, lat: float, lon: float
    ) -> None:
        item = listing(view(lat=lat, lon=lon, confidential_location=True), now=NOW,
                       inside_geofence=True, origin=(lat, lon))  # fmt: skip
        assert item.address is None and item.lat is None and item.lon is None
        assert item.municipality == "Juárez"
        assert item.distance_km == round(distance_km(lat, lon, *coarse_point(lat, lon)), 1)

    def test_an_open_location_shows_everything(self) -> None:
        item = listing(view(), now=NOW, inside_geofence=True, origin=(31.7, -106.4))
        assert (item.address, item.lat) == ("Calle Escondida 77", 31.73457)
        assert item.free_beds == 6 and not item.stale

    def test_search_filters_and_puts_the_nearest_first(self) -> None:
        here = (31.7, -106.4)
        far = view("far", lat=14.9, lon=-92.26)
        near = view("near", services=("legal",), occupied=10)
        items = [listing(v, now=NOW, inside_geofence=True, origin=here) for v in (far, near)]
        assert [i.slug for i in search(items, Need(), 10)] == ["near", "far"]
        assert [i.slug for i in search(items, Need(has_room=True), 10)] == ["far"]
        assert [i.slug for i in search(items, Need(service="legal"), 10)] == ["near"]
        assert search(items, Need(), 1)[0].slug == "near"

    def test_a_need_with_an_unknown_code_is_refused(self) -> None:
        with pytest.raises(DomainError):
            Need.checked("spa", None, False)
        assert Need.checked("", "", True) == Need(None, None, True)


class TestHistory:
    def test_carries_each_shelters_latest_reading_forward_and_sums_by_state(self) -> None:
        day = dt.date(2024, 9, 1)
        at = dt.datetime(2024, 9, 1, 12, tzinfo=dt.UTC)
        readings = [
            Reading("a", "MX-CHH", at, 3, 10),
            Reading("a", "MX-CHH", at + dt.timedelta(days=1), 5, 10),
            Reading("b", "MX-CHH", at + dt.timedelta(hours=2), 1, 20),
            Reading("c", "MX-BCN", at + dt.timedelta(days=1), 7, 8),
        ]
        rows = occupancy_by_state(readings, [day, day + dt.timedelta(days=1)], dt.UTC)
        found = {(r.state, r.day): (r.beds, r.occupied, r.shelters) for r in rows}
        assert found == {
            ("MX-CHH", day): (30, 4, 2),
            ("MX-CHH", day + dt.timedelta(days=1)): (30, 6, 2),
            ("MX-BCN", day + dt.timedelta(days=1)): (8, 7, 1),
        }


class TestExports:
    def test_hsds_capacity_has_available_maximum_and_updated(self) -> None:
        service = exports.hsds_service(listing(view(), now=NOW, inside_geofence=True))
        capacity = service["capacities"][0]
        assert (capacity["available"], capacity["maximum"]) == (6, 10)
        assert capacity["unit"] == exports.BED_UNIT
        assert dt.datetime.fromisoformat(capacity["updated"]) == NOW - dt.timedelta(hours=1)
        assert service["organization"]["id"] == exports.hsds_id("organization", "org")
        assert (
            exports.hsds_service(listing(view(occupied=None), now=NOW, inside_geofence=True))[
                "capacities"
            ]
            == []
        )

    def test_hsds_of_a_confidential_location_has_the_municipality_only(self) -> None:
        item = listing(view(confidential_location=True), now=NOW, inside_geofence=True)
        text = json.dumps(exports.hsds_page([item]))
        location = exports.hsds_page([item])["contents"][0]["service_at_locations"][0]["location"]
        assert "latitude" not in location and "longitude" not in location
        assert location["addresses"][0]["city"] == "Juárez"
        assert "Escondida" not in text and "31.73" not in text and "106.48" not in text

    def test_hxl_has_the_hashtag_row_and_blanks_a_confidential_location(self) -> None:
        secret = view("secret", confidential_location=True)
        items = [
            listing(view(), now=NOW, inside_geofence=True),
            listing(secret, now=NOW, inside_geofence=False),
        ]
        header, tags, open_row, secret_row = csv.reader(io.StringIO(exports.hxl_csv(items)))
        assert tags[:3] == ["#loc +code", "#loc +name", "#org +code"]
        assert len(header) == len(tags) == len(open_row)
        secret = dict(zip(tags, secret_row, strict=True))
        assert secret["#geo +lat"] == secret["#loc +address"] == ""
        assert secret["#adm2 +name"] == "Juárez" and secret["#status +geofence"] == "false"
        assert dict(zip(tags, open_row, strict=True))["#geo +lat"] == "31.73457"

    def test_hxl_keeps_a_spreadsheet_from_running_a_cell_as_a_formula(self) -> None:
        item = listing(view(name="=HYPERLINK(1)"), now=NOW, inside_geofence=True)
        row = list(csv.reader(io.StringIO(exports.hxl_csv([item]))))[2]
        assert row[1] == "'=HYPERLINK(1)"
