"""Immigration documents and their statistics over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from tests.e2e.test_api_accounts import assert_problem
from tests.factories import member, register, registrant_with_group, staff

DOCS = "/api/v1/me/documents"
FAMILY = [member(), member(given_names="Jean", birth_date="2016-07-02")]


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "member": 1, "kind": "tvrh", "requested_on": "2024-08-01", "office": "INM  tijuana",
    } | overrides  # fmt: skip


@pytest.fixture
def person(client: TestClient) -> dict[str, str]:
    return registrant_with_group(client, members=FAMILY)


def listed(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get(DOCS, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


class TestRecordDocument:
    def test_records_a_requested_document_of_a_member(
        self, client: TestClient, person: dict[str, str]
    ) -> None:
        answer = client.post(DOCS, json=body(), headers=person)
        assert answer.status_code == 201, answer.text
        doc = answer.json()
        assert {k: doc[k] for k in ("member", "kind", "status", "office", "decided_on")} == {
            "member": 1, "kind": "tvrh", "status": "requested", "office": "INM TIJUANA",
            "decided_on": None,
        }  # fmt: skip
        assert listed(client, person) == [doc]

    def test_records_an_issued_one_whose_expiry_passed_as_expired(
        self, client: TestClient, person: dict[str, str]
    ) -> None:
        sent = body(status="issued", decided_on="2024-08-02", expires_on="2024-09-01")
        assert client.post(DOCS, json=sent, headers=person).json()["status"] == "expired"

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"kind": "passport"}, "unknown_document_kind"),
            ({"status": "lost"}, "unknown_document_status"),
            ({"member": 2}, "unknown_member"),
            ({"member": -1}, "invalid_request"),
            ({"member": "0"}, "invalid_request"),
            ({"requested_on": "2024-09-03"}, "document_date_in_future"),
            ({"requested_on": "1999-12-31"}, "document_date_too_early"),
            ({"requested_on": "2024-02-30"}, "invalid_request"),
            ({"requested_on": "2024-08-01T00:00:00"}, "invalid_request"),
            ({"status": "issued"}, "decision_date_required"),
            ({"decided_on": "2024-08-02"}, "decision_date_not_allowed"),
            ({"status": "denied", "decided_on": "2024-07-31"}, "decision_before_request"),
            ({"status": "denied", "decided_on": "2024-08-02", "expires_on": "2025-01-01"},
             "expiry_not_allowed"),
            ({"status": "issued", "decided_on": "2024-08-02", "expires_on": "2024-08-02"},
             "expiry_not_after_decision"),
            ({"status": "issued", "decided_on": "2024-08-02", "expires_on": "2044-08-02"},
             "expiry_too_far"),
            ({"status": "expired", "decided_on": "2024-08-02", "expires_on": "2024-12-02"},
             "not_expired_yet"),
            ({"office": "x"}, "invalid_office"),
            ({"office": "INM <script>"}, "invalid_office"),
            ({"office": ""}, "invalid_request"),
            ({"extra": 1}, "invalid_request"),
        ],
    )  # fmt: skip
    def test_bad_input_is_a_clear_problem_and_stores_nothing(
        self, client: TestClient, person: dict[str, str], overrides: dict[str, Any], code: str
    ) -> None:
        answer = client.post(DOCS, json=body(**overrides), headers=person)
        assert_problem(answer, 409 if code == "document_transition" else 422, code)
        assert listed(client, person) == []

    def test_the_problem_is_in_the_persons_language(self, client: TestClient) -> None:
        headers = registrant_with_group(client, language="es")
        detail = assert_problem(
            client.post(DOCS, json=body(member=5), headers=headers), 422, "unknown_member"
        )["detail"]
        assert "familia" in str(detail)

    def test_without_a_family_group_is_group_missing(self, client: TestClient) -> None:
        headers = register(client)
        assert_problem(client.post(DOCS, json=body(), headers=headers), 409, "group_missing")
        assert listed(client, headers) == []


class TestUpdateDocument:
    def test_issues_then_expires_a_document(
        self, client: TestClient, person: dict[str, str]
    ) -> None:
        doc = client.post(DOCS, json=body(), headers=person).json()
        change = {"status": "issued", "decided_on": "2024-08-20", "expires_on": "2025-08-20"}
        answer = client.patch(f"{DOCS}/{doc['id']}", json=change, headers=person)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "issued" and answer.json()["office"] == "INM TIJUANA"
        answer = client.patch(f"{DOCS}/{doc['id']}", json={"expires_on": None}, headers=person)
        assert answer.json()["expires_on"] is None

    @pytest.mark.parametrize(
        ("change", "status", "code"),
        [
            ({"status": "expired"}, 409, "document_transition"),
            ({"status": None}, 422, "invalid_request"),
            ({"office": None}, 422, "invalid_request"),
            ({"requested_on": None}, 422, "invalid_request"),
            ({"kind": "fmm"}, 422, "invalid_request"),
            ({"member": 0}, 422, "invalid_request"),
            ({"status": "issued"}, 422, "decision_date_required"),
            ({"requested_on": "2030-01-01"}, 422, "document_date_in_future"),
        ],
    )
    def test_bad_changes_are_refused_and_change_nothing(
        self,
        client: TestClient,
        person: dict[str, str],
        change: dict[str, Any],
        status: int,
        code: str,
    ) -> None:
        doc = client.post(DOCS, json=body(), headers=person).json()
        assert_problem(
            client.patch(f"{DOCS}/{doc['id']}", json=change, headers=person), status, code
        )
        assert listed(client, person) == [doc]

    def test_another_persons_document_is_not_found(
        self, client: TestClient, person: dict[str, str]
    ) -> None:
        doc = client.post(DOCS, json=body(), headers=person).json()
        other = registrant_with_group(client, members=FAMILY)
        change = {"status": "denied", "decided_on": "2024-08-20"}
        mine = assert_problem(
            client.patch(f"{DOCS}/{doc['id']}", json=change, headers=other),
            404, "document_not_found",
        )  # fmt: skip
        missing = assert_problem(
            client.patch(f"{DOCS}/999999", json=change, headers=other), 404, "document_not_found"
        )
        assert mine["detail"] == missing["detail"]
        assert listed(client, person) == [doc] and listed(client, other) == []

    @pytest.mark.parametrize("document_id", ["0", "abc", str(2**31)])
    def test_a_malformed_id_is_refused(
        self, client: TestClient, person: dict[str, str], document_id: str
    ) -> None:
        answer = client.patch(f"{DOCS}/{document_id}", json={}, headers=person)
        assert_problem(answer, 422, "invalid_request")


class TestAccess:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", DOCS), ("POST", DOCS), ("PATCH", f"{DOCS}/1")],
    )
    def test_needs_a_login(self, client: TestClient, method: str, path: str) -> None:
        answer = client.request(method, path, json=body())
        assert_problem(answer, 401, "not_authenticated")

    @pytest.mark.parametrize("role", [Role.OFFICER, Role.ADMIN, Role.CASEWORKER])
    def test_staff_are_refused(self, client: TestClient, role: Role) -> None:
        headers = staff(
            client.app.state.runtime, role, port="nogales" if role is Role.OFFICER else None
        )  # type: ignore[attr-defined]
        for method, path in (("GET", DOCS), ("POST", DOCS), ("PATCH", f"{DOCS}/1")):
            answer = client.request(method, path, json=body(), headers=headers)
            assert_problem(answer, 403, "role_required")


class TestStatistics:
    def test_is_public_and_hides_small_counts(
        self, client: TestClient, person: dict[str, str]
    ) -> None:
        for _ in range(12):
            client.post(DOCS, json=body(), headers=person)
        client.post(DOCS, json=body(status="denied", decided_on="2024-08-10"), headers=person)
        answer = client.get("/api/v1/stats/documents")
        assert answer.status_code == 200, answer.text
        table = answer.json()
        (row,) = table["rows"]
        assert row == {
            "kind": "tvrh", "office": "INM TIJUANA", "month": "2024-08", "requests": 13,
            "issued": 0, "denied": "<10", "median_days_to_issue": None,
            "p90_days_to_issue": None,
        }  # fmt: skip
        assert (table["fewer_than_10"], table["hidden"]) == ("<10", "hidden")
        assert {k["kind"] for k in table["kinds"]} == {"fmm", "tvrh", "comar_constancia",
                                                      "curp_temporal"}  # fmt: skip
        assert "Marie" not in answer.text and "Joseph" not in answer.text

    def test_is_empty_without_documents(self, client: TestClient) -> None:
        table = client.get("/api/v1/stats/documents").json()
        assert table["rows"] == [] and table["months"] == []
        assert all(k["requests"] == 0 for k in table["kinds"])
