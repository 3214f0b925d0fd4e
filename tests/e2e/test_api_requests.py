"""Requests, ports, capacity and the geofence check over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.clock import FixedClock
from tests.e2e.test_api_accounts import assert_problem
from tests.factories import OAXACA, TIJUANA, member, register, registrant_with_group, staff


def post_request(
    client: TestClient,
    headers: dict[str, str],
    *,
    key: str = "key-1",
    ports: list[str] | None = None,
    location: dict[str, float] = TIJUANA,
) -> object:
    return client.post(
        "/api/v1/requests",
        json={"ports": ports or ["san-ysidro", "calexico"], "location": location},
        headers=headers | {"Idempotency-Key": key},
    )


class TestMakeRequest:
    def test_creates_a_request_in_the_open_window(self, client: TestClient) -> None:
        response = post_request(client, registrant_with_group(client))
        assert response.status_code == 201, response.text  # type: ignore[attr-defined]
        body = response.json()  # type: ignore[attr-defined]
        assert body["window"] == "2024-09-02"
        assert body["ports"] == ["san-ysidro", "calexico"]
        assert body["geofence_state"] == "Baja California"
        assert "lat" not in str(body) and "32.51" not in str(body)

    def test_a_retry_with_the_same_key_returns_the_same_request(self, client: TestClient) -> None:
        headers = registrant_with_group(client)
        first = post_request(client, headers).json()  # type: ignore[attr-defined]
        again = post_request(client, headers)
        assert again.status_code == 201  # type: ignore[attr-defined]
        assert again.headers["Idempotent-Replayed"] == "true"  # type: ignore[attr-defined]
        assert again.json() == first  # type: ignore[attr-defined]

    def test_a_second_request_in_the_window_is_409(self, client: TestClient) -> None:
        headers = registrant_with_group(client)
        post_request(client, headers)
        assert_problem(post_request(client, headers, key="key-2"), 409, "already_requested")

    def test_outside_the_geofence_is_403_with_the_reason_in_the_persons_language(
        self, client: TestClient
    ) -> None:
        headers = registrant_with_group(client, language="es")
        body = assert_problem(
            post_request(client, headers, location=OAXACA), 403, "outside_geofence"
        )
        assert "paralelo 19" in str(body["detail"])

    def test_without_a_group_is_409_group_missing(self, client: TestClient) -> None:
        assert_problem(post_request(client, register(client)), 409, "group_missing")

    def test_between_windows_is_409_window_closed(
        self, client: TestClient, clock: FixedClock
    ) -> None:
        headers = registrant_with_group(client, language="ht")
        clock.set(dt.datetime(2024, 9, 3, 16, 30, tzinfo=dt.UTC))
        body = assert_problem(post_request(client, headers), 409, "window_closed")
        # The next opening, in the person's language and in the window's zone, named.
        detail = str(body["detail"])
        assert "3 septanm" in detail and "12:00" in detail and "Chicago" in detail, detail
        assert "2024-09-03" not in detail, detail

    @pytest.mark.parametrize(
        ("payload", "code"),
        [
            ({"ports": ["atlantis"], "location": TIJUANA}, "unknown_port"),
            ({"ports": ["laredo", "laredo"], "location": TIJUANA}, "invalid_port_choice"),
            ({"ports": [], "location": TIJUANA}, "invalid_request"),
            ({"ports": ["laredo"], "location": {"lat": 91, "lon": 0}}, "invalid_request"),
            ({"ports": ["laredo"], "location": {"lat": "north", "lon": 0}}, "invalid_request"),
            ({"ports": ["laredo"]}, "invalid_request"),
        ],
    )
    def test_bad_requests_are_422_and_store_nothing(
        self, client: TestClient, payload: dict[str, object], code: str
    ) -> None:
        headers = registrant_with_group(client) | {"Idempotency-Key": "k"}
        assert_problem(client.post("/api/v1/requests", json=payload, headers=headers), 422, code)
        assert_problem(
            client.get("/api/v1/requests/current", headers=headers), 404, "no_current_request"
        )

    def test_the_idempotency_key_is_required(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/requests",
            json={"ports": ["laredo"], "location": TIJUANA},
            headers=registrant_with_group(client),
        )
        body = assert_problem(response, 422, "invalid_request")
        assert body["errors"][0]["field"] == "header.Idempotency-Key"  # type: ignore[index]

    def test_only_registrants_make_requests(self, client: TestClient) -> None:
        admin = staff(client.app.state.runtime, Role.ADMIN)  # type: ignore[attr-defined]
        assert_problem(post_request(client, admin), 403, "role_required")
        assert_problem(post_request(client, {}), 401, "not_authenticated")


class TestCurrentRequest:
    def test_get_and_delete_the_current_request(self, client: TestClient) -> None:
        headers = registrant_with_group(client)
        created = post_request(client, headers).json()  # type: ignore[attr-defined]
        assert client.get("/api/v1/requests/current", headers=headers).json() == created
        deleted = client.delete("/api/v1/requests/current", headers=headers)
        assert deleted.json()["status"] == "withdrawn"
        assert_problem(
            client.delete("/api/v1/requests/current", headers=headers), 404, "no_current_request"
        )

    def test_cannot_withdraw_once_the_window_closed(
        self, client: TestClient, clock: FixedClock
    ) -> None:
        headers = registrant_with_group(client)
        post_request(client, headers)
        clock.advance(dt.timedelta(hours=22))
        assert_problem(
            client.delete("/api/v1/requests/current", headers=headers), 409, "window_closed"
        )


class TestPorts:
    def test_lists_the_eight_ports_with_the_default_seats(self, client: TestClient) -> None:
        ports = client.get("/api/v1/ports").json()
        assert len(ports) == 8
        assert sum(p["seats"] for p in ports) == 1450

    def test_an_admin_plans_capacity_and_everyone_sees_it(self, client: TestClient) -> None:
        admin = staff(client.app.state.runtime, Role.ADMIN)  # type: ignore[attr-defined]
        response = client.put(
            "/api/v1/ports/nogales/capacity/2024-09-16", json={"seats": 60}, headers=admin
        )
        assert response.status_code == 200, response.text
        ports = client.get("/api/v1/ports", params={"date": "2024-09-16"}).json()
        assert {p["slug"]: p["seats"] for p in ports}["nogales"] == 60

    def test_only_admins_plan_capacity(self, client: TestClient) -> None:
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        url = "/api/v1/ports/nogales/capacity/2024-09-16"
        for headers in (
            registrant_with_group(client),
            staff(rt, Role.OFFICER, "nogales"),
            staff(rt, Role.CASEWORKER),
        ):
            assert_problem(
                client.put(url, json={"seats": 1}, headers=headers), 403, "role_required"
            )
        assert_problem(client.put(url, json={"seats": 1}), 401, "not_authenticated")

    @pytest.mark.parametrize(
        ("url", "seats", "status", "code"),
        [
            ("/api/v1/ports/atlantis/capacity/2024-09-16", 5, 404, "unknown_port"),
            ("/api/v1/ports/nogales/capacity/2024-09-01", 5, 422, "date_in_past"),
            ("/api/v1/ports/nogales/capacity/2024-09-16", -5, 422, "invalid_request"),
            ("/api/v1/ports/nogales/capacity/someday", 5, 422, "invalid_request"),
            ("/api/v1/ports/nogales/capacity/2024-09-16", True, 422, "invalid_request"),
            ("/api/v1/ports/nogales/capacity/2024-09-16", "10", 422, "invalid_request"),
            ("/api/v1/ports/nogales/capacity/2024-09-16", 10.0, 422, "invalid_request"),
            ("/api/v1/ports/nogales/capacity/9999-12-31", 5, 422, "date_too_far"),
            ("/api/v1/ports/nogales/capacity/2025-09-03", 5, 422, "date_too_far"),
        ],
    )
    def test_bad_plans_are_refused(
        self, client: TestClient, url: str, seats: object, status: int, code: str
    ) -> None:
        admin = staff(client.app.state.runtime, Role.ADMIN)  # type: ignore[attr-defined]
        assert_problem(client.put(url, json={"seats": seats}, headers=admin), status, code)
        plans = client.get("/api/v1/ports", params={"date": "2024-09-16"}).json()
        assert {p["slug"]: p["seats"] for p in plans}["nogales"] == 100

    def test_capacity_may_be_planned_up_to_the_horizon(self, client: TestClient) -> None:
        admin = staff(client.app.state.runtime, Role.ADMIN)  # type: ignore[attr-defined]
        url = "/api/v1/ports/nogales/capacity/2025-09-02"  # 365 days after 2 Sep 2024
        assert client.put(url, json={"seats": 5}, headers=admin).status_code == 200
        far = client.put("/api/v1/ports/nogales/capacity/2025-09-03", json={"seats": 5},
                         headers=admin)  # fmt: skip
        body = assert_problem(far, 422, "date_too_far")
        assert "365" in str(body["detail"]) and "2025-09-02" in str(body["detail"])


class TestGeofenceCheck:
    def test_answers_with_the_verdict(self, client: TestClient) -> None:
        body = client.get(
            "/api/v1/geofence/check", params={"lat": 31.69, "lon": -106.42, "date": "2024-05-01"}
        ).json()
        assert body == {
            "eligible": True,
            "country": "MEX",
            "state": "Chihuahua",
            "policy": "2023-01-12-north-of-19",
            "reason": "at_or_above_latitude_19",
        }

    def test_nationality_counts_from_august_2024(self, client: TestClient) -> None:
        params = {**OAXACA, "nationality": "MEX"}
        before = client.get("/api/v1/geofence/check", params=params | {"date": "2024-08-22"})
        after = client.get("/api/v1/geofence/check", params=params | {"date": "2024-08-23"})
        assert (before.json()["eligible"], after.json()["eligible"]) == (False, True)

    @pytest.mark.parametrize(
        ("params", "code"),
        [
            ({"lat": 95, "lon": 0}, "invalid_coordinates"),
            ({"lat": 20, "lon": -181}, "invalid_coordinates"),
            ({"lat": "nan", "lon": 0}, "invalid_coordinates"),
            ({"lat": "twenty", "lon": 0}, "invalid_request"),
            ({"lon": 0}, "invalid_request"),
            ({"lat": 20, "lon": 0, "date": "2024-13-01"}, "invalid_request"),
        ],
    )
    def test_bad_coordinates_are_422(
        self, client: TestClient, params: dict[str, object], code: str
    ) -> None:
        assert_problem(client.get("/api/v1/geofence/check", params=params), 422, code)


class TestGroupMembersNationalities:
    def test_a_mixed_family_with_a_mexican_member_may_request_from_the_south(
        self, client: TestClient
    ) -> None:
        headers = registrant_with_group(
            client,
            members=[member(nationality="MEX"), member(given_names="Ana", nationality="HND")],
        )
        response = post_request(client, headers, location=OAXACA)
        assert response.status_code == 201  # type: ignore[attr-defined]
