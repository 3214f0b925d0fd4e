"""The shelters use cases on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from puerta.accounts.domain import Role
from puerta.accounts.service import AccountView, create_account
from puerta.clock import FixedClock
from puerta.errors import DomainError
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from puerta.shelters import csvimport, service
from puerta.shelters.demo import SHELTERS, load_demo_shelters
from puerta.shelters.domain import Need, ShelterInput
from puerta.shelters.tables import Shelter, ShelterOccupancy
from tests.factories import PASSWORD, organization, phone

HEADER = ",".join(csvimport.COLUMNS) + "\n"


def add(rt: Runtime, slug: str = "casa", **overrides: object) -> None:
    fields: dict[str, object] = {
        "name": "Casa", "organization": "casa-del-migrante", "address": "Calle 1",
        "municipality": "Tijuana", "lat": 32.5, "lon": -117.0, "beds": 10,
    } | overrides  # fmt: skip
    service.create_shelter(uow=rt.uow(), clock=rt.clock, shelter=ShelterInput(slug=slug, **fields))  # type: ignore[arg-type]


def caseworker(rt: Runtime, org: str) -> AccountView:
    return create_account(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=phone(), password=PASSWORD,
        language="es", languages=available_languages(), role=Role.CASEWORKER, organization=org,
    )  # fmt: skip


def history(rt: Runtime) -> list[tuple[int, int, int | None]]:
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(ShelterOccupancy.occupied, ShelterOccupancy.beds, ShelterOccupancy.updated_by)
            .order_by(ShelterOccupancy.id)
        ).all()  # fmt: skip
    return [(a, b, c) for a, b, c in rows]


def count(rt: Runtime) -> int:
    with rt.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Shelter)) or 0)


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    organization(runtime)
    organization(runtime, "otra-org")
    return runtime


class TestOccupancy:
    def test_every_update_is_kept_with_the_beds_and_who_sent_it(
        self, rt: Runtime, clock: FixedClock
    ) -> None:
        add(rt)
        worker = caseworker(rt, "casa-del-migrante")
        service.update_occupancy(
            uow=rt.uow(), clock=rt.clock, slug="casa", occupied=3, account=worker
        )
        clock.advance(dt.timedelta(hours=1))
        seen = service.update_occupancy(
            uow=rt.uow(), clock=rt.clock, slug="casa", occupied=8, account=None
        )
        assert seen.occupied == 8 and seen.updated_at == clock.now()
        assert history(rt) == [(3, 10, worker.id), (8, 10, None)]

    def test_a_refused_update_changes_nothing(self, rt: Runtime) -> None:
        add(rt)
        service.update_occupancy(
            uow=rt.uow(), clock=rt.clock, slug="casa", occupied=3, account=None
        )
        other = caseworker(rt, "otra-org")
        for occupied, account, code in [(11, None, "occupancy_out_of_range"),
                                        (-1, None, "occupancy_out_of_range"),
                                        (4, other, "not_your_shelter")]:  # fmt: skip
            with pytest.raises(DomainError) as refused:
                service.update_occupancy(uow=rt.uow(), clock=rt.clock, slug="casa",
                                         occupied=occupied, account=account)  # fmt: skip
            assert refused.value.code == code
        assert history(rt) == [(3, 10, None)]

    def test_a_caseworker_sees_only_the_organizations_shelters(self, rt: Runtime) -> None:
        add(rt, "mine")
        add(rt, "theirs", organization="otra-org")
        mine = service.staff_shelters(uow=rt.uow(), account=caseworker(rt, "casa-del-migrante"))
        assert [v.slug for v in mine] == ["mine"]


class TestCreateAndSearch:
    def test_the_state_comes_from_the_boundaries_and_an_unknown_organization_is_refused(
        self, rt: Runtime
    ) -> None:
        add(rt, "tapachula", lat=14.9, lon=-92.26)
        found = service.list_shelters(uow=rt.uow(), clock=rt.clock, today=dt.date(2024, 9, 2))
        assert found[0].state == "MX-CHP" and found[0].inside_geofence
        earlier = service.list_shelters(uow=rt.uow(), clock=rt.clock, today=dt.date(2024, 8, 22))
        assert not earlier[0].inside_geofence
        with pytest.raises(DomainError) as refused:
            add(rt, "x", organization="nobody")
        assert refused.value.code == "unknown_organization" and count(rt) == 1

    def test_nearest_first(self, rt: Runtime) -> None:
        add(rt, "tijuana")
        add(rt, "juarez", lat=31.69, lon=-106.42)
        found = service.list_shelters(uow=rt.uow(), clock=rt.clock, today=dt.date(2024, 9, 2),
                                      origin=(31.7, -106.4), need=Need())  # fmt: skip
        assert [f.slug for f in found] == ["juarez", "tijuana"]


class TestImport:
    def test_one_bad_row_refuses_the_whole_file(self, rt: Runtime) -> None:
        text = HEADER + (
            "a,A,casa-del-migrante,,Mexicali,32.6,-115.4,5,,,,,,\n"
            "b,B,nobody,,Mexicali,32.6,-115.4,5,,,,,,\n"
        )
        with pytest.raises(csvimport.CsvRejected) as refused:
            service.import_shelters(uow=rt.uow(), clock=rt.clock, data=text.encode())
        assert [(p.line, p.error.code) for p in refused.value.problems] == [
            (3, "unknown_organization")
        ]
        assert count(rt) == 0

    def test_a_dry_run_writes_nothing_and_a_real_one_creates_then_updates(
        self, rt: Runtime
    ) -> None:
        data = (HEADER + "a,A,casa-del-migrante,,Mexicali,32.6,-115.4,5,food,,,,,\n").encode()
        report = service.import_shelters(uow=rt.uow(), clock=rt.clock, data=data, dry_run=True)
        assert (report.created, report.dry_run, count(rt)) == (1, True, 0)
        assert service.import_shelters(uow=rt.uow(), clock=rt.clock, data=data).created == 1
        again = service.import_shelters(
            uow=rt.uow(), clock=rt.clock, data=data.replace(b",5,", b",9,")
        )
        assert (again.created, again.updated, count(rt)) == (0, 1, 1)

    def test_beds_cannot_go_below_the_people_staying(self, rt: Runtime) -> None:
        add(rt, "a")
        service.update_occupancy(uow=rt.uow(), clock=rt.clock, slug="a", occupied=8, account=None)
        data = (HEADER + "a,A,casa-del-migrante,,Tijuana,32.5,-117.0,5,,,,,,\n").encode()
        with pytest.raises(csvimport.CsvRejected) as refused:
            service.import_shelters(uow=rt.uow(), clock=rt.clock, data=data)
        assert refused.value.problems[0].error.code == "beds_below_occupancy"


class TestHistoryAndDemo:
    def test_occupancy_by_state_per_local_day(self, rt: Runtime, clock: FixedClock) -> None:
        add(rt, "a")
        add(rt, "b", beds=20)
        service.update_occupancy(uow=rt.uow(), clock=rt.clock, slug="a", occupied=2, account=None)
        clock.advance(dt.timedelta(days=1))
        service.update_occupancy(uow=rt.uow(), clock=rt.clock, slug="b", occupied=5, account=None)
        today = clock.now().astimezone(ZoneInfo("America/Chicago")).date()
        days = [today - dt.timedelta(days=1), today]
        rows = service.occupancy_history(uow=rt.uow(), days=days, tz=ZoneInfo("America/Chicago"))
        assert [(r.day, r.beds, r.occupied) for r in rows] == [(days[0], 10, 2), (days[1], 30, 7)]

    def test_the_demo_shelters_load_once(self, runtime: Runtime) -> None:
        first = list(load_demo_shelters(uow=runtime.uow(), clock=runtime.clock))
        again = list(load_demo_shelters(uow=runtime.uow(), clock=runtime.clock))
        assert len(first) == len(again) == len(SHELTERS) == count(runtime)
        assert len(history(runtime)) == len(SHELTERS)
        found = service.public_shelters(
            uow=runtime.uow(), clock=runtime.clock, today=dt.date(2024, 9, 2)
        )
        assert all("(sample data)" in item.name for item in found)
        assert all(item.inside_geofence for item in found)
