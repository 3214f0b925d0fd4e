"""The whole appointment cycle over HTTP: register, group, request, draw, confirm, check in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.audit.service import verify_chain
from puerta.clock import FixedClock
from tests.e2e.test_api_accounts import assert_problem
from tests.factories import TIJUANA, login, member, phone, registrant_with_group, staff

CDT = dt.timezone(dt.timedelta(hours=-5))
PDT = dt.timezone(dt.timedelta(hours=-7))
WINDOW = "2024-09-02"
SERVICE_DATE = "2024-09-16"


def request(client: TestClient, headers: dict[str, str], ports: list[str], key: str) -> Any:
    response = client.post(
        "/api/v1/requests",
        json={"ports": ports, "location": TIJUANA, "standing": False},
        headers=headers | {"Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text
    return response.json()


class TestTheWholeCycle:
    def test_families_go_from_registration_to_check_in(
        self, client: TestClient, clock: FixedClock
    ) -> None:
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        admin = staff(rt, Role.ADMIN)
        officer = staff(rt, Role.OFFICER, "san-ysidro")
        other_officer = staff(rt, Role.OFFICER, "laredo")

        # Three families register and request; seats for two of them at their first choice.
        joseph = registrant_with_group(
            client, language="ht", members=[member(), member(given_names="Jean",
                                                             birth_date="2016-07-02")]
        )  # fmt: skip
        ana = member(given_names="Ana", birth_date="1985-11-05")
        perez = registrant_with_group(client, members=[ana])
        three = [member(given_names=name) for name in ("Luis", "Rosa", "Sofía")]
        ramirez = registrant_with_group(client, members=three)
        request(client, joseph, ["san-ysidro"], "j1")
        request(client, perez, ["san-ysidro", "calexico"], "p1")
        request(client, ramirez, ["san-ysidro"], "r1")
        for slug, seats in (("san-ysidro", 3), ("calexico", 1)):
            plan = client.put(
                f"/api/v1/ports/{slug}/capacity/{SERVICE_DATE}", json={"seats": seats},
                headers=admin,
            )  # fmt: skip
            assert plan.status_code == 200

        # The draw cannot run while the window is open, then runs once.
        assert_problem(
            client.post("/api/v1/draws", json={"window": WINDOW}, headers=admin),
            409, "window_still_open",
        )  # fmt: skip
        clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
        first = client.post("/api/v1/draws", json={"window": WINDOW}, headers=admin)
        assert first.status_code == 201, first.text
        again = client.post("/api/v1/draws", json={"window": WINDOW}, headers=admin)
        assert again.status_code == 200 and again.json() == first.json()
        public = client.get(f"/api/v1/draws/{WINDOW}").json()
        assert public["entries"] == 3 and public["service_date"] == SERVICE_DATE
        assert public["summary"]["persons_selected"] <= 4
        assert "Marie" not in str(public)

        offers = {
            name: client.get("/api/v1/me/appointment", headers=h)
            for name, h in (("joseph", joseph), ("perez", perez), ("ramirez", ramirez))
        }
        offered = {n: r.json() for n, r in offers.items() if r.status_code == 200}
        # san-ysidro holds 3 seats and calexico 1: the Ramírez family (3) and the Josephs (2)
        # cannot both be seated, and no family is ever split.
        assert sum(o["persons"] for o in offered.values() if o["port"] == "san-ysidro") <= 3
        assert all(o["status"] == "offered" for o in offered.values())
        # Whatever the order, Ana Pérez (1 person, two ports) fits, and exactly one of the
        # other two families does; the one left out has no appointment.
        assert "perez" in offered and len(offered) == 2
        for name in offers.keys() - offered.keys():
            assert_problem(offers[name], 404, "no_appointment")

        # Each selected family confirms from inside the geofence.
        confirmed = {}
        for name in offered:
            headers = {"joseph": joseph, "perez": perez, "ramirez": ramirez}[name]
            response = client.post(
                "/api/v1/me/appointment/confirm", json={"location": TIJUANA}, headers=headers
            )
            assert response.status_code == 200, response.text
            confirmed[name] = response.json()
            number = confirmed[name]["confirmation_number"]
            assert len(number) == 9 and not set(number) & set("01OI")

        # On the service date, the officer sees the manifest and checks each family in.
        clock.set(dt.datetime(2024, 9, 16, 8, 0, tzinfo=PDT))
        manifest = client.get(f"/api/v1/ports/san-ysidro/manifest/{SERVICE_DATE}", headers=officer)
        assert manifest.status_code == 200
        born = {"joseph": "2016-07-02", "perez": "1985-11-05", "ramirez": "1990-03-14"}
        at_san_ysidro = {n: c for n, c in confirmed.items() if c["port"] == "san-ysidro"}
        assert len(manifest.json()) == len(at_san_ysidro)
        for name, appointment in at_san_ysidro.items():
            number = appointment["confirmation_number"]
            wrong = client.post(
                "/api/v1/checkins",
                json={"confirmation_number": number, "birth_date": "2001-01-01"},
                headers=officer,
            )
            assert_problem(wrong, 404, "no_matching_appointment")
            elsewhere = client.post(
                "/api/v1/checkins",
                json={"confirmation_number": number.lower(), "birth_date": born[name]},
                headers=other_officer,
            )
            # An officer of another port learns nothing: the answer is the wrong number's.
            assert_problem(elsewhere, 404, "no_matching_appointment")
            assert elsewhere.json() == wrong.json() and "san-ysidro" not in elsewhere.text
            checked = client.post(
                "/api/v1/checkins",
                json={"confirmation_number": number.lower(), "birth_date": born[name]},
                headers=officer,
            )
            assert checked.status_code == 200, checked.text
            assert checked.json()["status"] == "checked_in"

        report = verify_chain(uow=rt.uow())
        assert report.ok and report.events > 10


class TestNoShow:
    def test_a_no_show_lets_the_group_request_again(
        self, client: TestClient, clock: FixedClock
    ) -> None:
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        admin = staff(rt, Role.ADMIN)
        officer = staff(rt, Role.OFFICER, "el-paso")
        username = phone()
        family = registrant_with_group(client, username=username)
        request(client, family, ["el-paso"], "k1")
        clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
        assert client.post("/api/v1/draws", json={"window": WINDOW}, headers=admin).is_success
        confirmed = client.post(
            "/api/v1/me/appointment/confirm", json={"location": TIJUANA}, headers=family
        ).json()
        assert_problem(
            client.post("/api/v1/requests", json={"ports": ["el-paso"], "location": TIJUANA},
                        headers=family | {"Idempotency-Key": "k2"}),
            409, "already_scheduled",
        )  # fmt: skip
        early = client.post(f"/api/v1/appointments/{confirmed['id']}/no-show", headers=officer)
        assert_problem(early, 409, "service_date_not_reached")
        clock.set(dt.datetime(2024, 9, 16, 16, 0, tzinfo=CDT))
        missed = client.post(f"/api/v1/appointments/{confirmed['id']}/no-show", headers=officer)
        assert missed.status_code == 200 and missed.json()["status"] == "no_show"
        family = login(client, username)
        again = client.post(
            "/api/v1/requests", json={"ports": ["el-paso"], "location": TIJUANA},
            headers=family | {"Idempotency-Key": "k3"},
        )  # fmt: skip
        assert again.status_code == 201, again.text
