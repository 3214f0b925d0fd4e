"""A person's right to their data, over HTTP: the export of everything puerta holds about
them, and its erasure, for a family holding a confirmed appointment, a document, a screening
and an exception request, beside another family that must not notice a thing.

After the erasure the database (SQLite: its files byte for byte; PostgreSQL: every row) is
read back: nothing of the person's names, birth dates, document or username may be left.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from puerta.accounts.domain import Role
from puerta.accounts.rights import FORMAT, SECRETS
from puerta.accounts.tables import Account, AuthToken, Group
from puerta.appointments.tables import Appeal, Appointment, AppointmentRequest
from puerta.audit.service import verify_chain
from puerta.audit.tables import AuditEvent
from puerta.clock import FixedClock
from puerta.documents.tables import ImmigrationDocument
from puerta.draws.service import verify_draw
from puerta.notifications.tables import Notification
from puerta.proofs.tables import ProofIndex
from puerta.runtime import Runtime
from puerta.vulnerability.tables import ExceptionRequest, Screening
from tests.e2e.test_assisted_cycle import ok, stored_bytes
from tests.factories import PASSWORD, TIJUANA, login, member, phone, registrant_with_group, staff

V1 = "/api/v1"
CDT = dt.timezone(dt.timedelta(hours=-5))
WINDOW, NEXT_WINDOW = dt.date(2024, 9, 2), dt.date(2024, 9, 3)
SERVICE_DATE = "2024-09-16"
DRAW_TIME = dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT)
AFTER_DRAW = dt.datetime(2024, 9, 3, 12, 30, tzinfo=CDT)
NEXT_DRAW_TIME = dt.datetime(2024, 9, 4, 11, 30, tzinfo=CDT)
PORT = "san-ysidro"
MOTHER = member(given_names="Fedna Roselaure", family_names="Thelusmond",
                birth_date="1993-08-27", nationality="HTI", languages=["ht", "es"],
                id_document="HT7730214X")  # fmt: skip
CHILD = member(given_names="Kervens", family_names="Thelusmond", birth_date="2019-02-11",
               nationality="HTI", languages=["ht"])  # fmt: skip
# What must be gone from the database once the family is erased.
TRACES = ("Fedna Roselaure", "Thelusmond", "Kervens", "HT7730214X", "1993-08-27", "2019-02-11")
# The person's tables, each with the export list its rows appear in.
EXPORTED = {
    Account: "account", AuthToken: "sessions", Group: "group", AppointmentRequest: "requests",
    Appointment: "appointments", Screening: "screening", ExceptionRequest: "exception",
    ImmigrationDocument: "documents", ProofIndex: "proofs", Notification: "notifications",
}  # fmt: skip


@dataclass
class Families:
    username: str
    person: dict[str, str]
    other: dict[str, str]
    admin: dict[str, str]


def _request(client: TestClient, headers: dict[str, str], key: str) -> None:
    body = {"ports": [PORT], "location": TIJUANA, "standing": False}
    ok(client.post(f"{V1}/requests", json=body, headers=headers | {"Idempotency-Key": key}), 201)


def _families(client: TestClient, clock: FixedClock) -> Families:
    """Two families with confirmed appointments at San Ysidro; the first also has a
    document, a screening, an exception request, proofs and notices."""
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    admin = staff(rt, Role.ADMIN)
    username = phone()
    person = registrant_with_group(client, username=username, members=[MOTHER, CHILD])
    other = registrant_with_group(client, members=[member(given_names="Ana Lucía")])
    document = {"member": 0, "kind": "fmm", "requested_on": "2024-08-20", "office": "INM Tijuana"}
    ok(client.post(f"{V1}/me/documents", json=document, headers=person), 201)
    screening = {"answers": [{"member": 1, "needs": ["medical_emergency"]}]}
    ok(client.put(f"{V1}/me/screening", json=screening, headers=person))
    ok(client.post(f"{V1}/me/exception", headers=person), 201)
    seats = {"seats": 10}
    ok(client.put(f"{V1}/ports/{PORT}/capacity/{SERVICE_DATE}", json=seats, headers=admin))
    _request(client, person, "person")
    _request(client, other, "other")
    clock.set(DRAW_TIME)
    ok(client.post(f"{V1}/draws", json={"window": WINDOW.isoformat()}, headers=admin), 201)
    clock.set(AFTER_DRAW)
    for headers in (person, other):
        confirm = {"location": TIJUANA}
        ok(client.post(f"{V1}/me/appointment/confirm", json=confirm, headers=headers))
    ok(client.get(f"{V1}/me/proofs", headers=person))
    return Families(username, person, other, admin)


@pytest.fixture
def families(client: TestClient, clock: FixedClock) -> Families:
    return _families(client, clock)


def _runtime(client: TestClient) -> Runtime:
    rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return rt


def _erase(client: TestClient, headers: dict[str, str], password: str = PASSWORD) -> Any:
    return client.request("DELETE", f"{V1}/me", json={"password": password}, headers=headers)


class TestExport:
    def test_holds_every_kind_of_record_of_a_family_with_a_confirmed_appointment(
        self, client: TestClient, families: Families
    ) -> None:
        answer = client.get(f"{V1}/me/export", headers=families.person)
        export = ok(answer)
        assert answer.headers["content-disposition"].startswith("attachment")
        assert export["format"] == FORMAT == "puerta-export/1"
        assert export["account"]["username"] == families.username
        assert export["account"]["role"] == "registrant"
        members = export["group"]["members"]
        assert [(m["given_names"], m["birth_date"]) for m in members] == [
            ("Fedna Roselaure", "1993-08-27"), ("Kervens", "2019-02-11"),
        ]  # fmt: skip
        assert members[0]["id_document"] == "HT7730214X" and members[0]["languages"] == ["ht", "es"]
        assert [r["status"] for r in export["requests"]] == ["selected"]
        (appointment,) = export["appointments"]
        assert appointment["status"] == "confirmed" and appointment["confirmation_number"]
        assert export["screening"]["answers"] == [{"member": 1, "needs": ["medical_emergency"]}]
        assert export["exception"]["status"] == "pending"
        assert [d["kind"] for d in export["documents"]] == ["fmm"]
        assert {p["kind"] for p in export["proofs"]} == {"registration", "appointment"}
        kinds = {n["kind"] for n in export["notifications"]}
        assert {"offer_made", "appointment_confirmed"} <= kinds
        events = {e["kind"] for e in export["audit_events"]}
        assert {"request_made", "offer_made", "appointment_confirmed", "screening_set",
                "exception_requested", "document_recorded"} <= events  # fmt: skip
        assert {n["what"] for n in export["not_included"]} >= {"incident_reports", "draw_records"}
        assert export["truncated"] == []

    def test_has_every_column_of_the_persons_rows_and_none_of_their_secrets(
        self, client: TestClient, families: Families
    ) -> None:
        export = ok(client.get(f"{V1}/me/export", headers=families.person))
        for table, name in EXPORTED.items():
            rows = export[name]
            row = (rows or [None])[0] if isinstance(rows, list) else rows
            assert row is not None, f"no {name} in the export"
            wanted = {c.key for c in inspect(table).column_attrs} - SECRETS
            assert wanted <= row.keys(), f"{name} lacks {wanted - row.keys()}"
        text = json.dumps(export)
        assert not any(secret in text for secret in SECRETS)
        assert "$argon2" not in text

    def test_holds_nothing_of_another_family(self, client: TestClient, families: Families) -> None:
        mine = ok(client.get(f"{V1}/me/export", headers=families.person))
        theirs = ok(client.get(f"{V1}/me/export", headers=families.other))
        assert "Thelusmond" in json.dumps(mine) and "Thelusmond" not in json.dumps(theirs)
        assert theirs["group"]["members"][0]["given_names"] == "Ana Lucía"
        mine_ids = {e["seq"] for e in mine["audit_events"]}
        assert not mine_ids & {e["seq"] for e in theirs["audit_events"]}


class TestErasure:
    def test_a_wrong_password_is_refused_and_changes_nothing(
        self, client: TestClient, families: Families
    ) -> None:
        before = ok(client.get(f"{V1}/me/export", headers=families.person))
        refused = _erase(client, families.person, "not the password at all")
        assert refused.status_code == 403 and refused.json()["code"] == "wrong_password"
        assert ok(client.get(f"{V1}/me/export", headers=families.person)) == before

    def test_cancels_the_appointment_gives_back_its_seats_and_keeps_the_draw_verifiable(
        self, client: TestClient, clock: FixedClock, families: Families, database_url: str
    ) -> None:
        rt = _runtime(client)
        published = ok(client.get(f"{V1}/draws/{WINDOW}"))
        other_before = ok(client.get(f"{V1}/me/export", headers=families.other))
        person_id = ok(client.get(f"{V1}/me", headers=families.person))["id"]
        stored = stored_bytes(rt, database_url)
        assert families.username.encode() in stored, "the scan reads what the database holds"

        erased = ok(_erase(client, families.person))
        assert erased["counts"]["seats_released"] == 1 and erased["counts"]["members"] == 2

        # The token is dead, a second erasure too; the username is free again (checked last).
        assert client.get(f"{V1}/me", headers=families.person).status_code == 401
        assert _erase(client, families.person).status_code == 401
        with rt.uow() as uow:
            (offer,) = uow.session.scalars(
                select(Appointment).where(Appointment.account_id == person_id)
            ).all()
            assert offer.status == "cancelled" and offer.freed_at is not None
            assert offer.confirmation_number is None
            group = uow.session.scalar(select(Group).where(Group.account_id == person_id))
            assert group is not None and group.members == []
            for table in (Screening, ExceptionRequest, ImmigrationDocument, Appeal):
                assert uow.session.scalars(select(table)).all() == [], table
            assert (
                uow.session.scalars(
                    select(Notification).where(Notification.account_id == person_id)
                ).all()
                == []
            )
            erasure = uow.session.scalar(
                select(AuditEvent).where(AuditEvent.kind == "account_erased")
            )
            assert erasure is not None and erasure.subject == f"account:{person_id}"

        # The chain and the published draw are intact; the next draw gets the seats back.
        assert verify_chain(uow=rt.uow()).ok
        assert verify_draw(uow=rt.uow(), schedule=rt.schedule, window=WINDOW).ok
        assert ok(client.get(f"{V1}/draws/{WINDOW}")) == published
        newcomer = registrant_with_group(client, members=[member(given_names="Luz")])
        _request(client, newcomer, "newcomer")
        clock.set(NEXT_DRAW_TIME)
        again = ok(
            client.post(f"{V1}/draws", json={"window": NEXT_WINDOW.isoformat()},
                        headers=families.admin), 201,
        )  # fmt: skip
        assert again["params"]["capacity"][PORT]["released"] == 2
        clock.set(AFTER_DRAW)

        # The other family notices nothing.
        assert ok(client.get(f"{V1}/me/export", headers=families.other)) == other_before

        # Nothing that names the person is left, in any table or file.
        stored = stored_bytes(rt, database_url)
        for trace in (*TRACES, families.username):
            assert trace.encode() not in stored, f"{trace} is still in the database"
        created = {"username": families.username, "password": PASSWORD, "language": "es"}
        ok(client.post(f"{V1}/accounts", json=created), 201)
        login(client, families.username)

    def test_the_audit_log_keeps_only_numbers_and_codes(
        self, client: TestClient, families: Families
    ) -> None:
        rt = _runtime(client)
        ok(_erase(client, families.person))
        with rt.uow() as uow:
            logged = [(e.subject, e.data) for e in uow.session.scalars(select(AuditEvent))]
        for trace in (*TRACES, families.username):
            assert trace not in json.dumps(logged)


class TestDelegatedErasure:
    """A caseworker acting for the person erases with their own password and the person's
    recorded consent; the audit log names them, on the person's behalf."""

    def _assisted(self, client: TestClient) -> tuple[dict[str, str], dict[str, str], int]:
        rt = _runtime(client)
        caseworker = staff(rt, Role.CASEWORKER)
        created = ok(
            client.post(
                f"{V1}/assisted", headers=caseworker,
                json={"language": "ht", "consent": {"given": True, "how": "spoken"}},
            ), 201,
        )  # fmt: skip
        issued = client.post(f"{V1}/assisted/{created['account_id']}/token", headers=caseworker)
        acting = {"Authorization": f"Bearer {ok(issued)['access_token']}"}
        ok(client.put(f"{V1}/me/group", json={"members": [MOTHER]}, headers=acting))
        return caseworker, acting, created["account_id"]

    def test_needs_the_persons_consent(self, client: TestClient) -> None:
        _, acting, _ = self._assisted(client)
        refused = client.request("DELETE", f"{V1}/me", json={"password": PASSWORD}, headers=acting)
        assert refused.status_code == 422 and refused.json()["code"] == "consent_required"
        assert ok(client.get(f"{V1}/me/group", headers=acting))["size"] == 1

    def test_is_confirmed_by_the_caseworkers_password_and_recorded_in_their_name(
        self, client: TestClient
    ) -> None:
        rt = _runtime(client)
        caseworker, acting, person_id = self._assisted(client)
        caseworker_id = ok(client.get(f"{V1}/me", headers=caseworker))["id"]
        ok(client.get(f"{V1}/me/export", headers=acting))
        body = {"password": PASSWORD, "consent": "signed"}
        ok(client.request("DELETE", f"{V1}/me", json=body, headers=acting))
        assert client.get(f"{V1}/me", headers=acting).status_code == 401
        assert ok(client.get(f"{V1}/me", headers=caseworker))["id"] == caseworker_id
        with rt.uow() as uow:
            events = {
                e.kind: (e.actor_id, json.loads(e.data))
                for e in uow.session.scalars(select(AuditEvent))
            }
        assert events["data_exported"] == (caseworker_id, {"on_behalf_of": person_id})
        actor, data = events["account_erased"]
        assert actor == caseworker_id and data["on_behalf_of"] == person_id
        assert data["consent"] == "signed"
