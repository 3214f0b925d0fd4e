"""Incident reports over HTTP: anonymous reporting, the receipt, triage, roles, statistics."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from puerta.accounts.domain import Role
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER
from tests.e2e.test_api_accounts import assert_problem
from tests.factories import registrant_with_group, staff
from tests.incidents_helpers import MARKERS, PASSPHRASE, SECRET_TEXT, body, key_file

V1 = "/api/v1"


@pytest.fixture
def app_client(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"incidents_key_file": key_file(tmp_path)})
    app = create_app(configured, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.runtime.engine.dispose()


def triager(client: TestClient) -> dict[str, str]:
    """An incidents caseworker's headers, unlocked."""
    headers = staff(client.app.state.runtime, Role.INCIDENTS)  # type: ignore[attr-defined]
    answer = client.post(f"{V1}/incidents/unlock", json={"passphrase": PASSPHRASE}, headers=headers)
    assert answer.status_code == 200, answer.text
    return headers | {"X-Puerta-Unlock": answer.json()["unlock"]}


def send(client: TestClient, **overrides: Any) -> str:
    answer = client.post(f"{V1}/incidents", json=body(**overrides))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["receipt"])


class TestReport:
    def test_anyone_reports_and_gets_a_receipt_in_groups_of_digits(
        self, app_client: TestClient
    ) -> None:
        receipt = send(app_client)
        assert len(receipt) == 24 and receipt.replace("-", "").isdigit()
        looked = app_client.post(f"{V1}/incidents/lookup", json={"receipt": receipt})
        assert looked.json() == {"status": "received", "referred_to": None,
                                 "received_on": "2024-09-02", "messages": []}  # fmt: skip

    def test_a_logged_in_caller_is_anonymous_all_the_same(self, app_client: TestClient) -> None:
        person = registrant_with_group(app_client)
        answer = app_client.post(f"{V1}/incidents", json=body(), headers=person)
        assert answer.status_code == 201
        with app_client.app.state.runtime.uow() as uow:  # type: ignore[attr-defined]
            columns = uow.session.execute(text("select * from incident_reports")).keys()
        assert not {"account_id", "ip", "address", "user_agent"} & set(columns)

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"text": "x" * 5001}, "text_too_long"),
            ({"text": "x" * 20000}, "invalid_request"),
            ({"municipality": "12345"}, "unknown_municipality"),
            ({"month": "2023-02", "day": 29}, "bad_day"),
            ({"month": "2024-10", "day": None}, "future_date"),
            ({"month": "2024-09", "day": 3}, "future_date"),
            ({"perpetrator": "aliens"}, "unknown_perpetrator"),
            ({"extra": "field"}, "invalid_request"),
        ],
    )
    def test_bad_input_is_a_clear_422_and_stores_nothing(
        self, app_client: TestClient, overrides: dict[str, Any], code: str
    ) -> None:
        answer = app_client.post(f"{V1}/incidents", json=body(**overrides))
        assert_problem(answer, 422, code)
        assert "<script>" not in answer.text
        assert app_client.get(f"{V1}/stats/incidents").json()["total"] == 0

    def test_without_a_team_key_the_server_refuses_to_take_reports(
        self, client: TestClient
    ) -> None:
        assert_problem(client.post(f"{V1}/incidents", json=body()), 503, "incidents_not_configured")


class TestReceipt:
    def test_a_wrong_receipt_is_a_404_saying_nothing_more(self, app_client: TestClient) -> None:
        send(app_client)
        for receipt in ("0000-0000-0000-0000-0000", "nonsense", ""):
            for route, extra in (("lookup", {}), ("follow-up", {"text": "hi"})):
                answer = app_client.post(
                    f"{V1}/incidents/{route}", json={"receipt": receipt} | extra
                )
                assert_problem(answer, 404, "receipt_not_found")

    def test_the_receipt_alone_adds_information_and_reads_the_team_s_messages(
        self, app_client: TestClient
    ) -> None:
        receipt = send(app_client)
        added = app_client.post(f"{V1}/incidents/follow-up",
                                json={"receipt": receipt, "text": "they came back"})  # fmt: skip
        assert added.status_code == 201, added.text
        team = triager(app_client)
        assert app_client.get(f"{V1}/incidents/1", headers=team).json()["follow_ups"] == 1
        sent = app_client.post(f"{V1}/incidents/1/messages", json={"text": "call us"},
                               headers=team)  # fmt: skip
        assert sent.status_code == 200
        looked = app_client.post(f"{V1}/incidents/lookup", json={"receipt": receipt}).json()
        assert [m["text"] for m in looked["messages"]] == ["call us"]


class TestTriage:
    def test_the_team_reads_the_report_exactly_as_written(self, app_client: TestClient) -> None:
        send(app_client)
        report = app_client.get(f"{V1}/incidents/1", headers=triager(app_client)).json()
        assert report["text"] == SECRET_TEXT and report["municipality_name"] == "Tapachula"

    def test_moves_along_the_lifecycle_and_exports_referred_cases(
        self, app_client: TestClient
    ) -> None:
        send(app_client)
        team = triager(app_client)
        status = f"{V1}/incidents/1/status"
        assert_problem(app_client.post(status, json={"status": "closed", "referred_to": "x"},
                                       headers=team), 422, "unknown_referral")  # fmt: skip
        assert_problem(app_client.post(status, json={"status": "referred"}, headers=team),
                       409, "incident_status_not_allowed")  # fmt: skip
        app_client.post(status, json={"status": "in_review"}, headers=team)
        moved = app_client.post(status, json={"status": "referred", "referred_to": "legal_aid"},
                                headers=team)  # fmt: skip
        assert moved.json()["status"] == "referred"
        listed = app_client.get(f"{V1}/incidents?status=referred", headers=team).json()
        assert [r["id"] for r in listed] == [1]
        exported = app_client.get(f"{V1}/incidents/export.huridocs.json", headers=team).json()
        assert exported["events"][0]["intervention"]["referred_to"] == "legal_aid"
        assert not any(marker in str(exported) for marker in MARKERS)

    def test_without_the_unlock_value_of_this_token_nothing_is_read(
        self, app_client: TestClient
    ) -> None:
        send(app_client)
        team = triager(app_client)
        other = staff(app_client.app.state.runtime, Role.INCIDENTS)  # type: ignore[attr-defined]
        for headers in (
            {"Authorization": team["Authorization"]},
            other | {"X-Puerta-Unlock": team["X-Puerta-Unlock"]},
            {"Authorization": team["Authorization"], "X-Puerta-Unlock": "AAAA"},
        ):
            assert_problem(app_client.get(f"{V1}/incidents/1", headers=headers), 403,
                           "incidents_locked")  # fmt: skip

    def test_a_wrong_passphrase_unlocks_nothing(self, app_client: TestClient) -> None:
        headers = staff(app_client.app.state.runtime, Role.INCIDENTS)  # type: ignore[attr-defined]
        answer = app_client.post(f"{V1}/incidents/unlock", json={"passphrase": "guess"},
                                 headers=headers)  # fmt: skip
        assert_problem(answer, 403, "unlock_failed")

    @pytest.mark.parametrize("role", [Role.REGISTRANT, Role.CASEWORKER, Role.OFFICER, Role.ADMIN])
    def test_no_other_role_sees_any_report(self, app_client: TestClient, role: Role) -> None:
        send(app_client)
        runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
        headers = staff(runtime, role, port="san-ysidro" if role is Role.OFFICER else None)
        unlock = app_client.post(f"{V1}/incidents/unlock", json={"passphrase": PASSPHRASE},
                                 headers=headers)  # fmt: skip
        assert unlock.status_code == 403
        for path in ("/incidents", "/incidents/1", "/incidents/export.huridocs.json"):
            answer = app_client.get(f"{V1}{path}", headers=headers)
            assert answer.status_code == 403
            assert not any(marker in answer.text for marker in MARKERS)


class TestStatistics:
    def test_small_counts_read_fewer_than_10_and_large_ones_are_shown(
        self, app_client: TestClient
    ) -> None:
        for _ in range(11):
            send(app_client, incident_type="robbery", text="r")
        send(app_client, incident_type="kidnapping", text="k")
        figures = app_client.get(f"{V1}/stats/incidents").json()
        by_type = {c["key"]: c["count"] for c in figures["by_type"]}
        assert figures["total"] == 12
        assert by_type["kidnapping"] == "<10" and by_type["robbery"] == "hidden"
        assert {c["key"]: c["count"] for c in figures["by_state"]}["MX-CHP"] == 12


class TestLogs:
    def test_the_report_routes_log_neither_text_nor_address(
        self, app_client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        receipt = send(app_client)
        app_client.post(f"{V1}/incidents/follow-up", json={"receipt": receipt, "text": "ZQX-more"})
        logged = caplog.text
        assert "POST /api/v1/incidents 201" in logged
        for marker in (*MARKERS, receipt, receipt.replace("-", ""), "testclient"):
            assert marker not in logged
