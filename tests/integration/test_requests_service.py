"""Requests, capacity plans and the window against a real database."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, inspect, select

from puerta.accounts.service import GroupNotFound, create_account
from puerta.appointments import domain, service
from puerta.appointments.tables import AppointmentRequest
from puerta.clock import FixedClock
from puerta.runtime import Runtime
from tests.factories import GUATEMALA_CITY, OAXACA, PASSWORD, TIJUANA, family_account, phone


def request(
    rt: Runtime,
    account_id: int,
    *,
    key: str = "k1",
    ports: list[str] | None = None,
    where: dict[str, float] = TIJUANA,
    standing: bool = False,
) -> service.RequestView:
    return service.make_request(
        uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account_id,
        ports=ports or ["san-ysidro", "calexico"], idempotency_key=key, standing=standing,
        rng=rt.rng, **where,
    )  # fmt: skip


def count_requests(rt: Runtime) -> int:
    with rt.uow() as uow:
        return uow.session.scalar(select(func.count(AppointmentRequest.id))) or 0


class TestMakeRequest:
    def test_enters_the_group_in_the_open_window(self, runtime: Runtime) -> None:
        view = request(runtime, family_account(runtime))
        assert view.window == dt.date(2024, 9, 2)
        assert view.ports == ["san-ysidro", "calexico"]
        assert view.status is domain.RequestStatus.PENDING
        assert view.geofence_state == "Baja California"

    def test_stores_the_verdict_and_never_the_coordinates(self, runtime: Runtime) -> None:
        request(runtime, family_account(runtime))
        columns = {c["name"] for c in inspect(runtime.engine).get_columns("appointment_requests")}
        assert not {"lat", "lon", "latitude", "longitude", "location"} & columns
        with runtime.uow() as uow:
            row = uow.session.scalars(select(AppointmentRequest)).one()
            assert (row.geofence_eligible, row.geofence_policy) == (
                True,
                "2024-08-23-south-states",
            )

    def test_a_retry_with_the_same_key_returns_the_first_request(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        first = request(runtime, account)
        again = request(runtime, account)
        assert again.replayed and again.id == first.id
        assert count_requests(runtime) == 1

    def test_a_key_reused_for_other_ports_is_refused(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        request(runtime, account)
        with pytest.raises(domain.IdempotencyKeyReused):
            request(runtime, account, ports=["nogales"])

    def test_a_key_reused_for_a_standing_request_is_refused(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        request(runtime, account)
        with pytest.raises(domain.IdempotencyKeyReused):
            request(runtime, account, standing=True)
        assert count_requests(runtime) == 1

    def test_a_retry_after_a_withdrawal_still_gets_the_first_answer(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        first = request(runtime, account)
        service.withdraw_request(
            uow=runtime.uow(),
            clock=runtime.clock,
            schedule=runtime.schedule,
            account_id=account,
            drawn=runtime.window_drawn,
        )
        again = request(runtime, account)
        assert again.replayed and dataclasses.replace(again, replayed=False) == first
        assert first.status is domain.RequestStatus.PENDING

    def test_a_second_request_in_the_same_window_is_refused(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        request(runtime, account)
        with pytest.raises(domain.AlreadyRequested):
            request(runtime, account, key="k2")
        assert count_requests(runtime) == 1

    def test_the_next_window_takes_a_new_request_once_the_last_draw_ran(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        from puerta.draws.service import run_draw

        for slug in ("san-ysidro", "calexico"):  # no seats: the group is not selected
            service.set_capacity(
                uow=runtime.uow(), clock=clock, slug=slug, service_date=dt.date(2024, 9, 16),
                seats=0, actor_id=None,
            )  # fmt: skip
        account = family_account(runtime)
        request(runtime, account)
        clock.advance(dt.timedelta(days=1))
        run_draw(
            uow=runtime.uow(), clock=clock, config=runtime.draw_config,
            window=dt.date(2024, 9, 2), actor_id=None,
        )  # fmt: skip
        assert request(runtime, account, key="k2").window == dt.date(2024, 9, 3)

    def test_a_request_still_waiting_for_its_draw_counts_in_the_next_window(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        # The undrawn window's request is entered in the next draw: a second one would give
        # the group two entries and two offers.
        account = family_account(runtime)
        request(runtime, account)
        clock.advance(dt.timedelta(days=1))
        with pytest.raises(domain.AlreadyRequested):
            request(runtime, account, key="k2")

    def test_outside_the_geofence_is_refused_and_nothing_is_stored(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        for where in (OAXACA, GUATEMALA_CITY):
            with pytest.raises(domain.OutsideGeofence):
                request(runtime, account, where=where)
        assert count_requests(runtime) == 0

    def test_a_mexican_national_may_request_from_anywhere_in_mexico(self, runtime: Runtime) -> None:
        from puerta.accounts.domain import Member

        account = family_account(
            runtime,
            [
                Member("Juan", "Pérez", dt.date(1980, 1, 1), "MEX", ("es",)),
                Member("Ana", "Pérez", dt.date(2010, 1, 1), "GTM", ("es",)),
            ],
        )
        assert request(runtime, account, where=OAXACA).geofence_state == "Oaxaca"

    def test_between_windows_requests_are_refused(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        clock.set(dt.datetime(2024, 9, 3, 16, 30, tzinfo=dt.UTC))  # 11:30 in Chicago
        with pytest.raises(domain.WindowClosed) as caught:
            request(runtime, family_account(runtime))
        assert caught.value.params["opens_at"].startswith("2024-09-03T17:00")

    def test_an_account_without_a_group_cannot_request(self, runtime: Runtime) -> None:
        account = create_account(
            uow=runtime.uow(),
            clock=runtime.clock,
            hasher=runtime.hasher,
            username=phone(),
            password=PASSWORD,
            language="es",
            languages=frozenset({"es"}),
        )
        with pytest.raises(GroupNotFound):
            request(runtime, account.id)


class TestStandingRequest:
    def test_a_standing_request_counts_in_later_windows_too(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = family_account(runtime)
        request(runtime, account, standing=True)
        clock.advance(dt.timedelta(days=1))
        with pytest.raises(domain.AlreadyRequested):
            request(runtime, account, key="k2")

    def test_cannot_be_withdrawn_while_a_closed_windows_draw_is_pending(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        from puerta.draws.service import run_draw

        for slug in ("san-ysidro", "calexico"):  # no seats: the request stands after the draw
            service.set_capacity(
                uow=runtime.uow(), clock=clock, slug=slug, service_date=dt.date(2024, 9, 16),
                seats=0, actor_id=None,
            )  # fmt: skip
        account = family_account(runtime)
        request(runtime, account, standing=True)
        clock.advance(dt.timedelta(days=1))  # the next window is open, the last one undrawn
        with pytest.raises(service.WithdrawAfterClose):
            service.withdraw_request(
                uow=runtime.uow(),
                clock=clock,
                schedule=runtime.schedule,
                account_id=account,
                drawn=runtime.window_drawn,
            )
        run_draw(
            uow=runtime.uow(), clock=clock, config=runtime.draw_config,
            window=dt.date(2024, 9, 2), actor_id=None,
        )  # fmt: skip
        withdrawn = service.withdraw_request(
            uow=runtime.uow(),
            clock=clock,
            schedule=runtime.schedule,
            account_id=account,
            drawn=runtime.window_drawn,
        )
        assert withdrawn.status is domain.RequestStatus.WITHDRAWN

    def test_the_first_request_of_a_window_commits_to_its_secret(self, runtime: Runtime) -> None:
        from puerta.appointments.tables import WindowCommitment

        request(runtime, family_account(runtime))
        with runtime.uow() as uow:
            commitment = uow.session.get(WindowCommitment, dt.date(2024, 9, 2))
            assert commitment is not None and len(commitment.secret_hash) == 64


class TestWithdrawRequest:
    def test_withdrawing_frees_the_window_for_a_new_request(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        request(runtime, account)
        withdrawn = service.withdraw_request(
            uow=runtime.uow(),
            clock=runtime.clock,
            schedule=runtime.schedule,
            account_id=account,
            drawn=runtime.window_drawn,
        )
        assert withdrawn.status is domain.RequestStatus.WITHDRAWN
        with pytest.raises(domain.NoCurrentRequest):
            service.current_request(
                uow=runtime.uow(), schedule=runtime.schedule, account_id=account
            )
        assert request(runtime, account, key="k2", ports=["nogales"]).ports == ["nogales"]

    def test_a_request_cannot_be_withdrawn_after_its_window_closed(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = family_account(runtime)
        request(runtime, account)
        clock.advance(dt.timedelta(hours=23))
        with pytest.raises(service.WithdrawAfterClose):
            service.withdraw_request(
                uow=runtime.uow(),
                clock=clock,
                schedule=runtime.schedule,
                account_id=account,
                drawn=runtime.window_drawn,
            )


class TestCapacity:
    def test_a_plan_overrides_the_default_seats_on_its_date(self, runtime: Runtime) -> None:
        day = dt.date(2024, 9, 16)
        service.set_capacity(
            uow=runtime.uow(),
            clock=runtime.clock,
            slug="nogales",
            service_date=day,
            seats=40,
            actor_id=None,
        )
        service.set_capacity(
            uow=runtime.uow(),
            clock=runtime.clock,
            slug="nogales",
            service_date=day,
            seats=55,
            actor_id=None,
        )
        ports = service.list_ports(
            uow=runtime.uow(), default_seats=runtime.settings.port_seats, service_date=day
        )
        by_slug = {p.slug: p for p in ports}
        assert (by_slug["nogales"].seats, by_slug["nogales"].default_seats) == (55, 100)
        assert by_slug["san-ysidro"].seats == 385

    @pytest.mark.parametrize(
        ("slug", "day", "seats", "error"),
        [
            ("atlantis", dt.date(2024, 9, 16), 10, domain.UnknownPort),
            ("nogales", dt.date(2024, 9, 1), 10, service.DateInPast),
            ("nogales", dt.date(2024, 9, 16), -1, domain.InvalidSeats),
        ],
    )
    def test_refuses_bad_plans(
        self, runtime: Runtime, slug: str, day: dt.date, seats: int, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            service.set_capacity(
                uow=runtime.uow(),
                clock=runtime.clock,
                slug=slug,
                service_date=day,
                seats=seats,
                actor_id=None,
            )
