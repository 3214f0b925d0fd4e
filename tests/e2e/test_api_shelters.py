"""The shelters API over HTTP: create, occupancy, search, import and the two exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.clock import FixedClock
from puerta.runtime import Runtime
from tests.factories import organization, register, staff

API = "/api/v1"
TIJUANA = {"lat": 32.50, "lon": -117.00}
JUAREZ = {"lat": 31.69, "lon": -106.42}
TAPACHULA = {"lat": 14.90, "lon": -92.26}
SECRET_ADDRESS = "Calle Escondida 77"
# A confidential shelter's exact coordinates: written so that no rounding hides a leak.
SECRET = {"lat": 31.73457, "lon": -106.48123}
HEADER = (
    "slug,name,organization,address,municipality,lat,lon,beds,services,populations,"
    "languages,open_door,contact,confidential_location\n"
)


def rt_of(client: TestClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[attr-defined,no-any-return]


def shelter(slug: str, org: str = "casa-del-migrante", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": slug, "name": f"Casa {slug}", "organization": org,
        "address": f"Calle {slug} 1", "municipality": "Tijuana", **TIJUANA, "beds": 10,
        "services": ["food", "health"], "populations": ["families"], "languages": ["es", "ht"],
        "open_door": True, "contact": "+52 664 000 0000", "confidential_location": False,
    }  # fmt: skip
    return body | overrides


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    organization(rt_of(client))
    return staff(rt_of(client), Role.ADMIN)


def create(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post(f"{API}/shelters", json=shelter(**body), headers=admin)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def occupy(client: TestClient, who: dict[str, str], slug: str, occupied: Any) -> Any:
    return client.put(f"{API}/shelters/{slug}/occupancy", json={"occupied": occupied}, headers=who)


def listed(client: TestClient, **query: Any) -> list[dict[str, Any]]:
    answer = client.get(f"{API}/shelters", params=query)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


class TestCreate:
    def test_an_admin_adds_a_shelter_and_its_state_comes_from_the_coordinates(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        made = create(client, admin, slug="casa-tijuana")
        assert made["state"] == "MX-BCN" and made["state_name"] == "Baja California"
        assert made["occupied"] is None and made["beds"] == 10
        assert made["services"] == ["food", "health"]

    def test_an_unknown_organization_is_refused_with_its_code(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        answer = client.post(f"{API}/shelters", json=shelter("x", org="nobody"), headers=admin)
        assert answer.status_code == 422
        assert answer.json()["code"] == "unknown_organization"
        assert listed(client) == []

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"lat": 14.63, "lon": -90.51}, "shelter_outside_mexico"),
            ({"lat": 200.0}, "invalid_coordinates"),
            ({"beds": -1}, "invalid_beds"),
            ({"services": ["spa"]}, "unknown_service"),
            ({"populations": ["tourists"]}, "unknown_population"),
            ({"languages": ["not a language"]}, "invalid_languages"),
            ({"slug": "Bad Slug"}, "invalid_slug"),
            ({"name": ""}, "invalid_text"),
            ({"beds": "10"}, "invalid_request"),
        ],
    )
    def test_bad_input_is_refused_with_a_code_and_nothing_is_saved(
        self, client: TestClient, admin: dict[str, str], overrides: dict[str, Any], code: str
    ) -> None:
        body = shelter("x") | overrides
        answer = client.post(f"{API}/shelters", json=body, headers=admin)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == code
        assert listed(client) == []

    def test_the_same_slug_twice_is_a_conflict(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        create(client, admin, slug="casa")
        answer = client.post(f"{API}/shelters", json=shelter("casa"), headers=admin)
        assert answer.status_code == 409 and answer.json()["code"] == "shelter_exists"

    def test_only_an_admin_may_add_one(self, client: TestClient, admin: dict[str, str]) -> None:
        caseworker = staff(rt_of(client), Role.CASEWORKER)
        assert (
            client.post(f"{API}/shelters", json=shelter("x"), headers=caseworker).status_code == 403
        )
        assert client.post(f"{API}/shelters", json=shelter("x")).status_code == 401


class TestOccupancy:
    def test_a_caseworker_of_the_organization_reports_it(
        self, client: TestClient, admin: dict[str, str], clock: FixedClock
    ) -> None:
        create(client, admin, slug="casa")
        answer = occupy(client, staff(rt_of(client), Role.CASEWORKER), "casa", 7)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "occupied": 7,
            "beds": 10,
            "updated_at": clock.now().isoformat().replace("+00:00", "Z"),
        }
        assert listed(client)[0]["free_beds"] == 3

    def test_an_admin_may_report_it_too(self, client: TestClient, admin: dict[str, str]) -> None:
        create(client, admin, slug="casa")
        assert occupy(client, admin, "casa", 10).status_code == 200

    @pytest.mark.parametrize("occupied", [11, -1])
    def test_above_the_beds_or_negative_is_refused_and_changes_nothing(
        self, client: TestClient, admin: dict[str, str], occupied: int
    ) -> None:
        create(client, admin, slug="casa")
        assert occupy(client, admin, "casa", 4).status_code == 200
        answer = occupy(client, admin, "casa", occupied)
        assert answer.status_code == 422 and answer.json()["code"] == "occupancy_out_of_range"
        assert listed(client)[0]["occupied"] == 4

    def test_a_caseworker_of_another_organization_is_forbidden(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        create(client, admin, slug="casa")
        other = staff(rt_of(client), Role.CASEWORKER, org=organization(rt_of(client), "otra-org"))
        answer = occupy(client, other, "casa", 1)
        assert answer.status_code == 403 and answer.json()["code"] == "not_your_shelter"
        assert listed(client)[0]["occupied"] is None

    def test_registrants_officers_and_anonymous_callers_cannot(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        create(client, admin, slug="casa")
        assert occupy(client, register(client), "casa", 1).status_code == 403
        assert (
            occupy(
                client, staff(rt_of(client), Role.OFFICER, port="san-ysidro"), "casa", 1
            ).status_code
            == 403
        )
        assert occupy(client, {}, "casa", 1).status_code == 401

    def test_an_unknown_shelter_is_not_found(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        answer = occupy(client, admin, "nowhere", 1)
        assert answer.status_code == 404 and answer.json()["code"] == "unknown_shelter"


class TestSearch:
    def test_nearest_first_with_distances(self, client: TestClient, admin: dict[str, str]) -> None:
        create(client, admin, slug="tapachula", municipality="Tapachula", **TAPACHULA)
        create(client, admin, slug="juarez", municipality="Juárez", **JUAREZ)
        create(client, admin, slug="tijuana")
        found = listed(client, lat=31.7, lon=-106.4)
        assert [item["slug"] for item in found] == ["juarez", "tijuana", "tapachula"]
        assert found[0]["distance_km"] < 3 < found[1]["distance_km"] < found[2]["distance_km"]
        assert [i["slug"] for i in listed(client, lat=14.9, lon=-92.3)][0] == "tapachula"

    def test_filters_by_service_population_and_room(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        create(client, admin, slug="full", services=["legal"], populations=["women"])
        create(client, admin, slug="room", services=["food"], populations=["men"])
        create(client, admin, slug="silent")
        occupy(client, admin, "full", 10)
        occupy(client, admin, "room", 2)
        assert [i["slug"] for i in listed(client, has_room="true")] == ["room"]
        assert [i["slug"] for i in listed(client, service="legal")] == ["full"]
        assert [i["slug"] for i in listed(client, population="men")] == ["room"]
        assert len(listed(client, limit=2)) == 2

    def test_unknown_codes_and_half_a_location_are_refused(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        for query, code in [({"service": "spa"}, "unknown_service"),
                            ({"population": "x"}, "unknown_population"),
                            ({"lat": 31.7}, "invalid_coordinates"),
                            ({"lat": 99, "lon": 0}, "invalid_request"),
                            ({"limit": 0}, "invalid_request")]:  # fmt: skip
            answer = client.get(f"{API}/shelters", params=query)
            assert answer.status_code == 422 and answer.json()["code"] == code, query

    def test_an_update_goes_stale_after_48_hours(
        self, client: TestClient, admin: dict[str, str], clock: FixedClock
    ) -> None:
        create(client, admin, slug="casa")
        assert listed(client)[0]["stale"] is True  # never reported
        occupy(client, admin, "casa", 3)
        clock.advance(dt.timedelta(hours=47, minutes=59))
        assert listed(client)[0]["stale"] is False
        clock.advance(dt.timedelta(minutes=1))
        assert listed(client)[0]["stale"] is True

    def test_tapachula_is_inside_the_geofence_only_under_the_2024_08_23_policy(
        self, client: TestClient, admin: dict[str, str], clock: FixedClock
    ) -> None:
        create(client, admin, slug="tapachula", municipality="Tapachula", **TAPACHULA)
        assert listed(client)[0]["inside_geofence"] is True  # the clock is on 2 Sep 2024
        clock.set(dt.datetime(2024, 8, 22, 18, tzinfo=dt.UTC))
        assert listed(client)[0]["inside_geofence"] is False

    def test_the_search_location_is_not_logged(
        self, client: TestClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
    ) -> None:
        create(client, admin, slug="casa")
        with caplog.at_level(logging.DEBUG):
            listed(client, lat=31.123456, lon=-106.654321)
        ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("puerta"))
        assert "31.123456" not in ours and "106.654321" not in ours
        assert "GET /api/v1/shelters 200" in ours


class TestConfidentialLocation:
    @pytest.fixture
    def hidden(self, client: TestClient, admin: dict[str, str]) -> None:
        create(client, admin, slug="refugio", municipality="Juárez", address=SECRET_ADDRESS,
               confidential_location=True, **SECRET)  # fmt: skip
        occupy(client, admin, "refugio", 2)

    def leaks(self, text: str) -> list[str]:
        needles = [SECRET_ADDRESS, "31.7345", "106.4812", "31.73", "-106.48"]
        return [needle for needle in needles if needle in text]

    def test_the_list_shows_the_municipality_only(self, client: TestClient, hidden: None) -> None:
        answer = client.get(f"{API}/shelters", params={"lat": 31.7, "lon": -106.4})
        item = answer.json()[0]
        assert item["municipality"] == "Juárez" and item["state"] == "MX-CHH"
        assert item["address"] is None and item["lat"] is None and item["lon"] is None
        assert self.leaks(answer.text) == []

    def test_the_distance_is_measured_from_a_coarse_point(
        self, client: TestClient, hidden: None
    ) -> None:
        # Two searches a few hundred metres apart around the exact place cannot tell it.
        near = listed(client, lat=SECRET["lat"], lon=SECRET["lon"])[0]["distance_km"]
        assert near > 1

    def test_neither_export_has_the_address_or_the_coordinates(
        self, client: TestClient, hidden: None
    ) -> None:
        hsds = client.get(f"{API}/shelters/export.hsds.json")
        hxl = client.get(f"{API}/shelters/export.hxl.csv")
        assert hsds.status_code == hxl.status_code == 200
        assert self.leaks(hsds.text) == [] and self.leaks(hxl.text) == []
        assert "Juárez" in hsds.text and "Juárez" in hxl.text

    def test_the_staff_view_still_has_them(self, client: TestClient, admin: dict[str, str]) -> None:
        made = create(client, admin, slug="refugio", address=SECRET_ADDRESS,
                      confidential_location=True, **SECRET)  # fmt: skip
        assert made["address"] == SECRET_ADDRESS and made["lat"] == SECRET["lat"]


class TestExports:
    def test_hsds_has_organization_location_service_and_capacity(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        create(client, admin, slug="casa")
        occupy(client, admin, "casa", 4)
        page = client.get(f"{API}/shelters/export.hsds.json").json()
        assert page["total_items"] == 1
        service = page["contents"][0]
        assert service["organization"]["name"] == "Casa casa-del-migrante"
        capacity = service["capacities"][0]
        assert (capacity["available"], capacity["maximum"]) == (6, 10)
        assert capacity["unit"]["name"] == "Bed" and capacity["updated"].startswith("2024-09-02")
        location = service["service_at_locations"][0]["location"]
        assert location["latitude"] == TIJUANA["lat"]
        assert location["addresses"][0]["city"] == "Tijuana"

    def test_hxl_has_a_row_of_hashtags_under_the_header(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        create(client, admin, slug="casa")
        occupy(client, admin, "casa", 4)
        answer = client.get(f"{API}/shelters/export.hxl.csv")
        assert answer.headers["content-type"].startswith("text/csv")
        header, tags, row = list(csv.reader(io.StringIO(answer.text)))
        record = dict(zip(tags, row, strict=True))
        assert record["#loc +name"] == "Casa casa" and record["#adm1 +name"] == "Baja California"
        assert record["#capacity +beds"] == "10" and record["#capacity +occupied"] == "4"
        assert record["#geo +lat"] == "32.5" and header[0] == "Slug"

    def test_the_exports_are_not_read_as_a_slug(self, client: TestClient) -> None:
        assert client.get(f"{API}/shelters/export.hsds.json").json()["contents"] == []
        answer = client.put(f"{API}/shelters/export.hsds.json/occupancy", json={"occupied": 1})
        assert answer.status_code == 401


def import_csv(client: TestClient, who: dict[str, str], text: str, **params: Any) -> Any:
    return client.post(
        f"{API}/shelters/import", content=text.encode(), params=params,
        headers={**who, "Content-Type": "text/csv"},
    )  # fmt: skip


GOOD_ROW = (
    "casa-a,Casa A,casa-del-migrante,Calle 1,Mexicali,32.62,-115.45,25,"
    "food;health,families,es;ht,yes,,no\n"
)


class TestImport:
    def test_a_good_file_creates_then_updates(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        answer = import_csv(client, admin, HEADER + GOOD_ROW)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"created": 1, "updated": 0, "dry_run": False}
        assert listed(client)[0]["services"] == ["food", "health"]
        again = import_csv(client, admin, HEADER + GOOD_ROW.replace(",25,", ",30,"))
        assert again.json() == {"created": 0, "updated": 1, "dry_run": False}
        assert listed(client)[0]["beds"] == 30

    def test_a_dry_run_checks_and_writes_nothing(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        answer = import_csv(client, admin, HEADER + GOOD_ROW, dry_run="true")
        assert answer.json() == {"created": 1, "updated": 0, "dry_run": True}
        assert listed(client) == []

    def test_every_bad_row_is_named_by_its_line_and_nothing_is_saved(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        text = (
            HEADER + GOOD_ROW
            + "b,B,nobody,,Mexicali,32.6,-115.4,5,,,,,,\n"
            + 'c,"Casa\nC",casa-del-migrante,,Mexicali,32.6,-115.4,many,,,,,,\n'
            + "d,D,casa-del-migrante,,Guatemala,14.63,-90.51,5,,,,,,\n"
            + "casa-a,A2,casa-del-migrante,,Mexicali,32.6,-115.4,5,,,,,,\n"
            + "e,E,casa-del-migrante,,Mexicali,32.6,-115.4,5,,,,,\n"
        )  # fmt: skip
        answer = import_csv(client, admin, text)
        assert answer.status_code == 422
        problem = answer.json()
        assert problem["code"] == "invalid_csv"
        assert [(e["line"], e["code"]) for e in problem["errors"]] == [
            (3, "unknown_organization"), (4, "invalid_beds"), (6, "shelter_outside_mexico"),
            (7, "duplicate_slug"), (8, "csv_row_shape"),
        ]  # fmt: skip
        assert all(e["reason"] for e in problem["errors"])
        assert listed(client) == []

    def test_a_file_without_the_columns_or_not_utf8_is_refused(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        answer = import_csv(client, admin, "slug,name\nx,y\n")
        assert answer.json()["errors"][0]["line"] == 1
        assert answer.json()["errors"][0]["code"] == "csv_columns"
        raw = client.post(f"{API}/shelters/import", content=b"\xff\xfe\x00", headers=admin)
        assert raw.status_code == 422 and raw.json()["code"] == "csv_not_text"

    def test_reasons_are_in_the_callers_language(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        answer = client.post(
            f"{API}/shelters/import",
            content=(HEADER + "x,X,nobody,,M,32.6,-115.4,5,,,,,,\n").encode(),
            headers={**admin, "Content-Type": "text/csv"},
        )  # fmt: skip
        assert "nobody" in answer.json()["errors"][0]["reason"]

    def test_only_an_admin_may_import(self, client: TestClient, admin: dict[str, str]) -> None:
        caseworker = staff(rt_of(client), Role.CASEWORKER)
        assert import_csv(client, caseworker, HEADER + GOOD_ROW).status_code == 403
        assert import_csv(client, {}, HEADER + GOOD_ROW).status_code == 401
