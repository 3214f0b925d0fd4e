"""Issue 10's whole story over HTTP: a pregnant woman without a phone is registered by a
caseworker with her consent, screened, her exception approved, selected through the reserve,
confirmed through the delegated token and checked in; then she claims her account.

Afterwards the database (SQLite: its files byte for byte; PostgreSQL: every row) and every
log line are read back: no need code and no screening answer may be found in plain text.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from puerta.accounts.domain import Role
from puerta.audit.service import verify_chain
from puerta.audit.tables import AuditEvent
from puerta.clock import FixedClock
from puerta.db import Base
from puerta.runtime import Runtime
from tests.factories import PASSWORD, TIJUANA, login, member, phone, registrant_with_group, staff

V1 = "/api/v1"
CDT = dt.timezone(dt.timedelta(hours=-5))
PDT = dt.timezone(dt.timedelta(hours=-7))
WINDOW, SERVICE_DATE = "2024-09-02", "2024-09-16"
ROSA = member(given_names="Rosa Elena", family_names="Quispe", birth_date="1996-05-21",
              nationality="HND", languages=["es"])  # fmt: skip
# What must never be readable at rest or in a log: the need codes and their labels' codes.
NEED_CODES = ("pregnant", "no_safe_housing", "cannot_use_app")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _request(client: TestClient, headers: dict[str, str], key: str) -> None:
    ok(
        client.post(
            f"{V1}/requests",
            json={"ports": ["san-ysidro"], "location": TIJUANA, "standing": False},
            headers=headers | {"Idempotency-Key": key},
        ),
        201,
    )


def stored_bytes(runtime: Runtime, database_url: str) -> bytes:
    """Everything the database holds: SQLite's files byte for byte (the WAL too), or on
    PostgreSQL every row of every table, as text."""
    if database_url.startswith("sqlite"):
        runtime.engine.dispose()  # checkpoints the WAL into the database file
        path = Path(database_url.split("///", 1)[1])
        files = [f for f in path.parent.glob(path.name + "*") if f.is_file()]
        return b"".join(f.read_bytes() for f in files)
    # Plain SQL, not select(table): the sealed columns' types would open what they hold.
    with runtime.engine.connect() as conn:
        tables = Base.metadata.sorted_tables
        rows = [conn.execute(text(f"SELECT * FROM {t.name}")).all() for t in tables]
    return repr(rows).encode()


class TestAssistedCycle:
    def test_a_pregnant_woman_without_a_phone_reaches_the_port_and_claims_her_account(
        self,
        client: TestClient,
        clock: FixedClock,
        database_url: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        admin = staff(rt, Role.ADMIN)
        officer = staff(rt, Role.OFFICER, "san-ysidro")
        caseworker = staff(rt, Role.CASEWORKER)
        caseworker_id = ok(client.get(f"{V1}/me", headers=caseworker))["id"]

        # With her spoken consent, her caseworker registers her and acts for her.
        created = ok(
            client.post(
                f"{V1}/assisted",
                json={"language": "es", "consent": {"given": True, "how": "spoken"}},
                headers=caseworker,
            ),
            201,
        )

        def act_for_her() -> dict[str, str]:
            issued = client.post(f"{V1}/assisted/{created['account_id']}/token", headers=caseworker)
            return {"Authorization": f"Bearer {ok(issued)['access_token']}"}

        acting = act_for_her()
        ok(client.put(f"{V1}/me/group", json={"members": [ROSA]}, headers=acting))
        screening = {"answers": [{"member": 0, "needs": ["pregnant", "no_safe_housing",
                                                         "cannot_use_app"]}]}  # fmt: skip
        ok(client.put(f"{V1}/me/screening", json=screening, headers=acting))
        asked = ok(client.post(f"{V1}/me/exception", headers=acting), 201)
        assert asked["status"] == "pending" and asked["urgent"] is False

        # The queue shows the case without its needs; she is assigned and approved.
        queue = ok(client.get(f"{V1}/exceptions?status=pending", headers=caseworker))
        assert asked["id"] in [case["id"] for case in queue]
        assert not any(code in json.dumps(queue) for code in NEED_CODES)
        ok(client.post(f"{V1}/exceptions/{asked['id']}/assign", headers=caseworker))
        ok(
            client.post(
                f"{V1}/exceptions/{asked['id']}/decision",
                json={"decision": "approve", "reason": "Pregnant, no safe housing."},
                headers=caseworker,
            )
        )
        assert ok(client.get(f"{V1}/me/exception", headers=acting))["status"] == "approved"

        # Twenty families without an exception ask for the same port as she does.
        others = [
            registrant_with_group(client, members=[member(given_names=f"Ana{i}")])
            for i in range(20)
        ]
        for i, headers in enumerate(others):
            _request(client, headers, f"other-{i}")
        _request(client, acting, "rosa")
        ok(
            client.put(
                f"{V1}/ports/san-ysidro/capacity/{SERVICE_DATE}",
                json={"seats": 10},
                headers=admin,
            )  # fmt: skip
        )
        clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
        ok(client.post(f"{V1}/draws", json={"window": WINDOW}, headers=admin), 201)

        # She is selected through the reserve, and confirms through her caseworker, who acts
        # for her with a new token (a delegated token lasts a working day).
        assert client.get(f"{V1}/me", headers=acting).status_code == 401
        acting = act_for_her()
        offer = ok(client.get(f"{V1}/me/appointment", headers=acting))
        assert (offer["port"], offer["share"], offer["status"]) == (
            "san-ysidro",
            "reserve",
            "offered",
        )
        reserve = []
        for headers in others:
            answer = client.get(f"{V1}/me/appointment", headers=headers)
            if answer.status_code == 200:
                reserve.append(answer.json()["share"] == "reserve")
        assert not any(reserve), "the reserve goes to approved groups only"
        confirmed = ok(
            client.post(f"{V1}/me/appointment/confirm", json={"location": TIJUANA}, headers=acting)
        )

        # On the service date the officer checks her in.
        clock.set(dt.datetime(2024, 9, 16, 8, 0, tzinfo=PDT))
        checked = ok(
            client.post(
                f"{V1}/checkins",
                json={
                    "confirmation_number": confirmed["confirmation_number"],
                    "birth_date": ROSA["birth_date"],
                },
                headers=officer,
            )
        )
        assert checked["status"] == "checked_in"

        # Every step her caseworker took for her names them, on her behalf.
        with rt.uow() as uow:
            events = [
                (e.kind, e.actor_id, json.loads(e.data))
                for e in uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
            ]
        for kind in ("request_made", "appointment_confirmed"):
            mine = [e for e in events if e[0] == kind and e[2].get("on_behalf_of")]
            assert mine and all(e[1] == caseworker_id for e in mine), kind
        assert not any(code in json.dumps(events) for code in NEED_CODES)

        # Then she claims her account: her caseworker's token ends, hers works.
        username = phone()
        claim = {"claim_code": created["claim_code"], "username": username, "password": PASSWORD}
        ok(client.post(f"{V1}/accounts/claim", json=claim))
        assert client.get(f"{V1}/me", headers=acting).status_code == 401
        own = login(client, username)
        assert ok(client.get(f"{V1}/me/appointment", headers=own))["status"] == "checked_in"
        assert ok(client.get(f"{V1}/me/screening", headers=own))["answers"][0]["needs"]
        assert verify_chain(uow=rt.uow()).ok

        # Nothing of her screening is readable at rest or in the logs.
        stored = stored_bytes(rt, database_url)
        assert b"san-ysidro" in stored, "the scan reads what the database holds"
        assert b"Quispe" not in stored, "her name is sealed at rest (puerta.datakeys)"
        for code in NEED_CODES:
            assert code.encode() not in stored, f"{code} is in the database file in plain text"
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert logged, "the requests were logged"
        for secret in (*NEED_CODES, ROSA["given_names"], ROSA["family_names"], username):
            assert secret not in logged, f"{secret} is in the logs"
