"""Assisted registration over HTTP: consent, the claim code, the delegated token and who may
use it, the audit trail it leaves, and the person taking the account over."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select

from puerta.accounts.domain import Role
from puerta.audit.tables import AuditEvent
from puerta.runtime import Runtime
from tests.e2e.test_api_accounts import assert_problem
from tests.factories import PASSWORD, TIJUANA, login, member, organization, phone, staff

V1 = "/api/v1"
CONSENT = {"given": True, "how": "spoken"}


def _assist(client: TestClient, caseworker: dict[str, str], **extra: object) -> dict[str, object]:
    body = {"language": "ht", "consent": CONSENT} | extra
    response = client.post(f"{V1}/assisted", json=body, headers=caseworker)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _token(client: TestClient, caseworker: dict[str, str], account_id: object) -> dict[str, str]:
    response = client.post(f"{V1}/assisted/{account_id}/token", headers=caseworker)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass(frozen=True)
class Logged:
    kind: str
    actor_id: int | None
    data: str


def _events(runtime: Runtime) -> list[Logged]:
    with runtime.uow() as uow:
        rows = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        return [Logged(e.kind, e.actor_id, e.data) for e in rows]


class TestAssistedRegistration:
    def test_a_caseworker_registers_a_person_who_has_no_phone(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        created = _assist(client, caseworker)
        code = str(created["claim_code"])
        assert len(code) == 14 and code.count("-") == 2
        listed = client.get(f"{V1}/assisted", headers=caseworker).json()
        assert [a["account_id"] for a in listed] == [created["account_id"]]
        assert listed[0]["phone"] is None and listed[0]["consent"] == "spoken"
        assert code not in json.dumps(listed), "the claim code is shown only once"

    def test_without_consent_nothing_is_created(self, client: TestClient, runtime: Runtime) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        for consent in ({"given": False, "how": "spoken"}, {"given": True, "how": "nodded"}):
            response = client.post(
                f"{V1}/assisted", json={"language": "es", "consent": consent}, headers=caseworker
            )
            assert_problem(response, 422, "consent_required")
        missing = client.post(f"{V1}/assisted", json={"language": "es"}, headers=caseworker)
        assert_problem(missing, 422, "invalid_request")
        assert client.get(f"{V1}/assisted", headers=caseworker).json() == []
        assert [e.kind for e in _events(runtime) if e.kind == "assisted_account_created"] == []

    def test_bad_input_gets_a_clear_error(self, client: TestClient, runtime: Runtime) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        bad_phone = {"language": "es", "consent": CONSENT, "phone": "call me"}
        assert_problem(
            client.post(f"{V1}/assisted", json=bad_phone, headers=caseworker),
            422,
            "invalid_username",
        )
        bad_language = {"language": "xx", "consent": CONSENT}
        assert_problem(
            client.post(f"{V1}/assisted", json=bad_language, headers=caseworker),
            422,
            "unsupported_language",
        )
        _assist(client, caseworker, phone="+52 664 555 0101")
        taken = {"language": "es", "consent": CONSENT, "phone": "+526645550101"}
        assert_problem(
            client.post(f"{V1}/assisted", json=taken, headers=caseworker), 409, "username_taken"
        )

    def test_only_caseworkers_register_people(self, client: TestClient, runtime: Runtime) -> None:
        body = {"language": "es", "consent": CONSENT}
        for role in (Role.ADMIN, Role.REGISTRANT):
            headers = staff(runtime, role)
            assert_problem(client.post(f"{V1}/assisted", json=body, headers=headers), 403,
                           "role_required")  # fmt: skip
        assert_problem(client.post(f"{V1}/assisted", json=body), 401, "not_authenticated")


class TestDelegatedToken:
    def test_acts_as_the_person_and_every_event_names_the_caseworker(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        caseworker_id = client.get(f"{V1}/me", headers=caseworker).json()["id"]
        created = _assist(client, caseworker)
        acting = _token(client, caseworker, created["account_id"])
        me = client.get(f"{V1}/me", headers=acting).json()
        assert me["id"] == created["account_id"] and me["acting_id"] == caseworker_id
        group = client.put(f"{V1}/me/group", json={"members": [member()]}, headers=acting)
        assert group.status_code == 200, group.text
        request = client.post(
            f"{V1}/requests", json={"ports": ["san-ysidro"], "location": TIJUANA},
            headers=acting | {"Idempotency-Key": "assisted-1"},
        )  # fmt: skip
        assert request.status_code == 201, request.text
        made = [e for e in _events(runtime) if e.kind == "request_made"]
        assert len(made) == 1 and made[0].actor_id == caseworker_id
        assert json.loads(made[0].data)["on_behalf_of"] == created["account_id"]

    def test_the_persons_own_token_records_no_delegation(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        created = _assist(client, caseworker)
        username = phone()
        claimed = client.post(
            f"{V1}/accounts/claim",
            json={"claim_code": created["claim_code"], "username": username, "password": PASSWORD},
        )
        assert claimed.status_code == 200, claimed.text
        own = login(client, username)
        client.put(f"{V1}/me/group", json={"members": [member()]}, headers=own)
        client.post(
            f"{V1}/requests", json={"ports": ["san-ysidro"], "location": TIJUANA},
            headers=own | {"Idempotency-Key": "own-1"},
        )  # fmt: skip
        made = [e for e in _events(runtime) if e.kind == "request_made"]
        assert made[0].actor_id == created["account_id"]
        assert "on_behalf_of" not in json.loads(made[0].data)

    def test_no_other_caseworker_may_act_until_an_admin_reassigns(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        mine = staff(runtime, Role.CASEWORKER)
        same_org = staff(runtime, Role.CASEWORKER)
        other_org = staff(runtime, Role.CASEWORKER, org=organization(runtime, "otra-casa"))
        admin = staff(runtime, Role.ADMIN)
        created = _assist(client, mine)
        account_id = created["account_id"]
        old = _token(client, mine, account_id)
        for intruder in (same_org, other_org):
            assert_problem(client.post(f"{V1}/assisted/{account_id}/token", headers=intruder),
                           403, "not_your_assisted_account")  # fmt: skip
            assert_problem(client.get(f"{V1}/assisted/{account_id}", headers=intruder),
                           403, "not_your_assisted_account")  # fmt: skip
            assert client.get(f"{V1}/assisted", headers=intruder).json() == []
        assert_problem(client.post(f"{V1}/assisted/{account_id}/token", headers=admin),
                       403, "role_required")  # fmt: skip
        same_id = client.get(f"{V1}/me", headers=same_org).json()["id"]
        moved = client.post(
            f"{V1}/assisted/{account_id}/assign", json={"caseworker": same_id}, headers=admin
        )
        assert moved.status_code == 200 and moved.json()["assigned_to"] == same_id
        assert client.get(f"{V1}/me", headers=old).status_code == 401, "old tokens end"
        assert_problem(client.post(f"{V1}/assisted/{account_id}/token", headers=mine),
                       403, "not_your_assisted_account")  # fmt: skip
        _token(client, same_org, account_id)

    def test_reassigning_to_someone_who_is_not_a_caseworker_is_refused(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        admin = staff(runtime, Role.ADMIN)
        created = _assist(client, caseworker)
        admin_id = client.get(f"{V1}/me", headers=admin).json()["id"]
        response = client.post(
            f"{V1}/assisted/{created['account_id']}/assign",
            json={"caseworker": admin_id},
            headers=admin,
        )
        assert_problem(response, 422, "not_a_caseworker")
        listed = client.get(f"{V1}/assisted", headers=caseworker).json()
        assert [a["account_id"] for a in listed] == [created["account_id"]]

    def test_a_delegated_token_cannot_register_more_people(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        acting = _token(client, caseworker, _assist(client, caseworker)["account_id"])
        body = {"language": "es", "consent": CONSENT}
        assert_problem(client.post(f"{V1}/assisted", json=body, headers=acting), 403,
                       "role_required")  # fmt: skip


class TestClaim:
    def test_the_person_takes_over_and_the_delegation_ends(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        created = _assist(client, caseworker, phone="+52 664 555 0199")
        acting = _token(client, caseworker, created["account_id"])
        code = str(created["claim_code"]).lower().replace("-", " ")  # as typed on a phone
        claimed = client.post(
            f"{V1}/accounts/claim",
            json={"claim_code": code, "username": "+52 664 555 0199", "password": PASSWORD},
        )
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["id"] == created["account_id"]
        assert client.get(f"{V1}/me", headers=acting).status_code == 401
        assert_problem(
            client.post(f"{V1}/assisted/{created['account_id']}/token", headers=caseworker),
            409,
            "account_claimed",
        )
        assert client.get(f"{V1}/assisted", headers=caseworker).json() == []
        own = login(client, "+52 664 555 0199")
        assert client.get(f"{V1}/me", headers=own).json()["acting_id"] is None
        again = client.post(
            f"{V1}/accounts/claim",
            json={"claim_code": created["claim_code"], "username": phone(), "password": PASSWORD},
        )
        assert_problem(again, 401, "bad_claim_code")

    def test_a_wrong_code_or_a_weak_password_changes_nothing(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        caseworker = staff(runtime, Role.CASEWORKER)
        created = _assist(client, caseworker)
        wrong = {"claim_code": "2222-2222-2222", "username": phone(), "password": PASSWORD}
        assert_problem(client.post(f"{V1}/accounts/claim", json=wrong), 401, "bad_claim_code")
        garbage = wrong | {"claim_code": "not a code"}
        assert_problem(client.post(f"{V1}/accounts/claim", json=garbage), 401, "bad_claim_code")
        weak = wrong | {"claim_code": created["claim_code"], "password": "short"}
        assert_problem(client.post(f"{V1}/accounts/claim", json=weak), 422, "weak_password")
        _token(client, caseworker, created["account_id"])  # still assisted
