"""Draws, offers, appeals and their error paths over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.clock import FixedClock
from tests.e2e.test_api_accounts import assert_problem
from tests.factories import OAXACA, TIJUANA, registrant_with_group, staff

CLOSED = dt.datetime(2024, 9, 3, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def world(client: TestClient, clock: FixedClock) -> dict[str, Any]:
    """A family holding an offer at Nogales, and an admin."""
    rt = client.app.state.runtime  # type: ignore[attr-defined]
    family = registrant_with_group(client, language="en")
    response = client.post(
        "/api/v1/requests", json={"ports": ["nogales"], "location": TIJUANA},
        headers=family | {"Idempotency-Key": "w"},
    )  # fmt: skip
    assert response.status_code == 201
    admin = staff(rt, Role.ADMIN)
    clock.set(CLOSED)
    assert client.post("/api/v1/draws", json={"window": "2024-09-02"}, headers=admin).is_success
    return {"family": family, "admin": admin, "rt": rt}


class TestDrawsOverHttp:
    def test_unknown_and_undrawn_windows_are_404(self, client: TestClient) -> None:
        admin = staff(client.app.state.runtime, Role.ADMIN)  # type: ignore[attr-defined]
        assert_problem(
            client.post("/api/v1/draws", json={"window": "2023-01-01"}, headers=admin),
            404, "unknown_window",
        )  # fmt: skip
        assert_problem(client.get("/api/v1/draws/2023-01-01"), 404, "unknown_window")
        registrant_with_group(client)
        family = registrant_with_group(client)
        client.post(
            "/api/v1/requests", json={"ports": ["laredo"], "location": TIJUANA},
            headers=family | {"Idempotency-Key": "x"},
        )  # fmt: skip
        assert_problem(client.get("/api/v1/draws/2024-09-02"), 404, "no_draw")

    def test_the_current_window_publishes_its_commitment(self, client: TestClient) -> None:
        family = registrant_with_group(client)
        client.post(
            "/api/v1/requests", json={"ports": ["laredo"], "location": TIJUANA},
            headers=family | {"Idempotency-Key": "x"},
        )  # fmt: skip
        body = client.get("/api/v1/windows/current").json()
        assert body["window"] == "2024-09-02" and body["is_open"] and len(body["secret_hash"]) == 64

    def test_only_admins_run_draws(self, client: TestClient, world: dict[str, Any]) -> None:
        response = client.post(
            "/api/v1/draws", json={"window": "2024-09-02"}, headers=world["family"]
        )
        assert_problem(response, 403, "role_required")


class TestOffersOverHttp:
    def test_confirming_after_expiry_is_409(
        self, client: TestClient, clock: FixedClock, world: dict[str, Any]
    ) -> None:
        clock.advance(dt.timedelta(hours=23))
        response = client.post(
            "/api/v1/me/appointment/confirm", json={"location": TIJUANA}, headers=world["family"]
        )
        body = assert_problem(response, 409, "offer_expired")
        assert "expired" in str(body["detail"])
        shown = client.get("/api/v1/me/appointment", headers=world["family"]).json()
        assert shown["status"] == "expired"

    def test_confirming_from_outside_the_geofence_is_403(
        self, client: TestClient, world: dict[str, Any]
    ) -> None:
        response = client.post(
            "/api/v1/me/appointment/confirm", json={"location": OAXACA}, headers=world["family"]
        )
        assert_problem(response, 403, "outside_geofence")

    def test_an_admin_cancellation_opens_an_appeal_the_person_can_see(
        self, client: TestClient, world: dict[str, Any]
    ) -> None:
        family, admin = world["family"], world["admin"]
        offer = client.get("/api/v1/me/appointment", headers=family).json()
        url = f"/api/v1/appointments/{offer['id']}/cancel"
        assert_problem(
            client.post(url, json={"reason": "x"}, headers=admin), 422, "reason_required"
        )
        cancelled = client.post(url, json={"reason": "Port closed by flooding"}, headers=admin)
        assert cancelled.status_code == 200
        assert cancelled.json()["cancel_reason"] == "Port closed by flooding"
        [appeal] = client.get("/api/v1/appeals", headers=family).json()
        assert appeal["status"] == "open"
        unexplained = client.post(
            f"/api/v1/appeals/{appeal['id']}/decision",
            json={"decision": "reinstate", "note": "x"}, headers=admin,
        )  # fmt: skip
        body = assert_problem(unexplained, 422, "note_required")
        assert "note" in str(body["detail"]) and "cancellation" not in str(body["detail"])
        assert client.get("/api/v1/appeals", headers=family).json()[0]["status"] == "open"
        decision = client.post(
            f"/api/v1/appeals/{appeal['id']}/decision",
            json={"decision": "reinstate", "note": "The port reopened"}, headers=admin,
        )  # fmt: skip
        assert decision.json()["status"] == "reinstated"
        assert client.get("/api/v1/me/appointment", headers=family).json()["status"] == "offered"
        again = client.post(
            f"/api/v1/appeals/{appeal['id']}/decision",
            json={"decision": "uphold", "note": "changed my mind"}, headers=admin,
        )  # fmt: skip
        assert_problem(again, 409, "appeal_not_open")

    def test_unknown_appointments_and_appeals_are_404(
        self, client: TestClient, world: dict[str, Any]
    ) -> None:
        admin = world["admin"]
        assert_problem(
            client.post("/api/v1/appointments/999/cancel", json={"reason": "nope"}, headers=admin),
            404, "unknown_appointment",
        )  # fmt: skip
        assert_problem(
            client.post("/api/v1/appeals/999/decision",
                        json={"decision": "uphold", "note": "n/a"}, headers=admin),
            404, "unknown_appeal",
        )  # fmt: skip

    def test_a_person_cancels_and_may_request_again(
        self, client: TestClient, clock: FixedClock, world: dict[str, Any]
    ) -> None:
        family = world["family"]
        assert client.post("/api/v1/me/appointment/cancel", headers=family).json()["status"] == (
            "cancelled"
        )
        assert_problem(
            client.post("/api/v1/me/appointment/cancel", headers=family), 409, "not_cancellable"
        )
        clock.advance(dt.timedelta(hours=1))
        again = client.post(
            "/api/v1/requests", json={"ports": ["nogales"], "location": TIJUANA},
            headers=family | {"Idempotency-Key": "again"},
        )  # fmt: skip
        assert again.status_code == 201

    def test_no_appointment_yet_is_404(self, client: TestClient) -> None:
        family = registrant_with_group(client)
        assert_problem(client.get("/api/v1/me/appointment", headers=family), 404, "no_appointment")
