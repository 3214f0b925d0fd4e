"""Running, showing and verifying draws against a real database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from puerta.accounts.tables import Group
from puerta.appointments.booking import my_appointment
from puerta.appointments.domain import RequestStatus, commit_secret
from puerta.appointments.offers import expire_offers
from puerta.appointments.tables import Appointment, AppointmentRequest, WindowCommitment
from puerta.clock import FixedClock
from puerta.draws import domain
from puerta.draws.service import get_draw, verify_draw, window_status
from puerta.draws.tables import Draw
from puerta.jobs import tick
from puerta.runtime import Runtime
from tests.integration.helpers import AFTER_CLOSE, WINDOW, draw, plan, requesting_family


def statuses(rt: Runtime) -> dict[int, str]:
    with rt.uow() as uow:
        return dict(
            uow.session.execute(
                select(AppointmentRequest.account_id, AppointmentRequest.status)
            ).all()
        )


class TestRunDraw:
    def test_offers_seats_and_closes_the_requests_it_did_not_select(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        plan(runtime, "nogales", 3)
        families = [requesting_family(runtime, ["nogales"], size=2, key=f"k{i}") for i in range(3)]
        clock.set(AFTER_CLOSE)
        view = draw(runtime)
        assert view.created and view.entries == 3
        assert view.summary["persons_selected"] == 2  # one family of two fits in three seats
        after = statuses(runtime)
        assert sorted(after[f] for f in families) == ["not_selected", "not_selected", "selected"]

    def test_records_the_draw_and_each_offer_in_the_audit_log(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        from puerta.audit.service import list_events

        requesting_family(runtime, ["laredo"])
        clock.set(AFTER_CLOSE)
        draw(runtime)
        kinds = [e.kind for e in list_events(uow=runtime.uow())]
        assert kinds == ["request_made", "draw_run", "offer_made"]

    def test_running_it_again_returns_the_first_result_and_changes_nothing(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        requesting_family(runtime, ["laredo"])
        clock.set(AFTER_CLOSE)
        first = draw(runtime)
        clock.advance(dt.timedelta(hours=1))
        again = draw(runtime)
        assert not again.created
        assert (again.seed, again.summary, again.ran_at) == (
            first.seed,
            first.summary,
            first.ran_at,
        )
        with runtime.uow() as uow:
            assert len(uow.session.scalars(select(Appointment)).all()) == 1

    def test_refuses_a_window_still_open(self, runtime: Runtime) -> None:
        requesting_family(runtime, ["laredo"])
        with pytest.raises(domain.WindowStillOpen):
            draw(runtime)

    def test_refuses_a_window_nobody_ever_opened(self, runtime: Runtime, clock: FixedClock) -> None:
        clock.set(AFTER_CLOSE)
        with pytest.raises(domain.UnknownWindow):
            draw(runtime, dt.date(2024, 8, 1))
        with pytest.raises(domain.UnknownWindow):
            get_draw(uow=runtime.uow(), window=dt.date(2024, 8, 1))

    def test_runs_in_window_order(self, runtime: Runtime, clock: FixedClock) -> None:
        requesting_family(runtime, ["laredo"], key="a")
        clock.advance(dt.timedelta(days=1))
        requesting_family(runtime, ["laredo"], key="b")
        clock.advance(dt.timedelta(days=1))
        draw(runtime, WINDOW + dt.timedelta(days=1))
        with pytest.raises(domain.DrawOutOfOrder):
            draw(runtime, WINDOW)

    def test_a_standing_request_is_entered_again_until_selected(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        plan(runtime, "nogales", 0)
        plan(runtime, "nogales", 5, dt.date(2024, 9, 17))
        family = requesting_family(runtime, ["nogales"], standing=True)
        clock.set(AFTER_CLOSE)
        assert draw(runtime).summary["groups_selected"] == 0
        assert statuses(runtime)[family] == RequestStatus.PENDING
        clock.advance(dt.timedelta(hours=1))
        tick(runtime)  # `puerta serve` ticks every minute: it commits the new window's secret
        clock.advance(dt.timedelta(days=1))
        second = draw(runtime, WINDOW + dt.timedelta(days=1))
        assert second.entries == 1 and second.summary["groups_selected"] == 1
        assert my_appointment(uow=runtime.uow(), clock=clock, account_id=family).service_date == (
            dt.date(2024, 9, 17)
        )

    def test_seats_of_expired_offers_go_to_the_next_draw(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        plan(runtime, "calexico", 2)
        plan(runtime, "calexico", 0, dt.date(2024, 9, 17))
        requesting_family(runtime, ["calexico"], size=2)
        clock.set(AFTER_CLOSE)
        draw(runtime)
        clock.advance(dt.timedelta(hours=23))
        assert expire_offers(uow=runtime.uow(), clock=clock) == 1
        requesting_family(runtime, ["calexico"], size=2, key="next")
        clock.advance(dt.timedelta(days=1))
        nxt = draw(runtime, WINDOW + dt.timedelta(days=1))
        assert nxt.params["capacity"]["calexico"]["released"] == 2
        assert nxt.summary["by_port"]["calexico"]["seats"] == 2
        assert nxt.summary["groups_selected"] == 1

    def test_the_reserve_share_goes_only_to_groups_with_an_approved_vulnerability(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        plan(runtime, "nogales", 20)  # 2 reserve seats, 8 by seniority, 10 by lottery
        families = [requesting_family(runtime, ["nogales"], key=f"k{i}") for i in range(30)]
        vulnerable = families[-1]  # registered last: seniority alone would not pick it
        with runtime.uow() as uow:
            uow.session.execute(
                update(Group)
                .where(Group.account_id == vulnerable)
                .values(vulnerability_approved=True)
            )
            uow.commit()
        clock.set(AFTER_CLOSE)
        view = draw(runtime)
        assert view.summary["by_share"]["reserve"] == 1  # one vulnerable person, two seats
        with runtime.uow() as uow:
            reserve = uow.session.scalars(
                select(Appointment.account_id).where(Appointment.share == "reserve")
            ).all()
        assert reserve == [vulnerable]


class TestVerifyDraw:
    def test_a_draw_re_runs_to_the_same_result(self, runtime: Runtime, clock: FixedClock) -> None:
        plan(runtime, "san-ysidro", 6)
        for i in range(8):
            requesting_family(runtime, ["san-ysidro", "calexico"], size=1 + i % 3, key=f"k{i}")
        clock.set(AFTER_CLOSE)
        draw(runtime)
        report = verify_draw(uow=runtime.uow(), schedule=runtime.schedule, window=WINDOW)
        assert report.ok and report.differences == 0

    def test_a_changed_selection_is_caught(self, runtime: Runtime, clock: FixedClock) -> None:
        requesting_family(runtime, ["san-ysidro", "calexico"])
        clock.set(AFTER_CLOSE)
        draw(runtime)
        with runtime.uow() as uow:
            uow.session.execute(update(Appointment).values(port="calexico"))
            uow.commit()
        report = verify_draw(uow=runtime.uow(), schedule=runtime.schedule, window=WINDOW)
        assert not report.allocation_ok and report.differences == 2
        assert report.digest_ok and report.seed_ok and report.commitment_ok

    def test_a_stored_digest_that_does_not_match_the_entries_is_caught(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        requesting_family(runtime, ["laredo"])
        clock.set(AFTER_CLOSE)
        draw(runtime)
        with runtime.uow() as uow:
            uow.session.execute(update(Draw).values(entries_digest="0" * 64))
            uow.commit()
        report = verify_draw(uow=runtime.uow(), schedule=runtime.schedule, window=WINDOW)
        assert not report.digest_ok and not report.ok
        assert report.commitment_ok and report.seed_ok and report.allocation_ok

    def test_a_published_commitment_that_does_not_match_the_secret_is_caught(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        requesting_family(runtime, ["laredo"])
        clock.set(AFTER_CLOSE)
        draw(runtime)
        with runtime.uow() as uow:
            other = commit_secret(b"another secret")
            uow.session.execute(update(WindowCommitment).values(secret_hash=other))
            uow.commit()
        report = verify_draw(uow=runtime.uow(), schedule=runtime.schedule, window=WINDOW)
        assert not report.commitment_ok and not report.ok
        assert report.digest_ok and report.seed_ok and report.allocation_ok

    def test_an_undrawn_window_has_nothing_to_verify(self, runtime: Runtime) -> None:
        requesting_family(runtime, ["laredo"])
        with pytest.raises(domain.NoDraw):
            verify_draw(uow=runtime.uow(), schedule=runtime.schedule, window=WINDOW)


class TestWindowStatus:
    def test_publishes_the_commitment_of_the_open_window(self, runtime: Runtime) -> None:
        requesting_family(runtime, ["laredo"])
        status = window_status(uow=runtime.uow(), clock=runtime.clock, schedule=runtime.schedule)
        assert status.is_open and status.window == WINDOW and status.secret_hash

    def test_between_windows_names_the_next_one(self, runtime: Runtime, clock: FixedClock) -> None:
        clock.set(AFTER_CLOSE)
        status = window_status(uow=runtime.uow(), clock=clock, schedule=runtime.schedule)
        assert not status.is_open and status.window == dt.date(2024, 9, 3)


class TestSkippedWindows:
    def test_requests_of_a_window_never_drawn_enter_the_next_draw(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        first = requesting_family(runtime, ["laredo"], key="a")
        clock.advance(dt.timedelta(days=1))
        second = requesting_family(runtime, ["laredo"], key="b")
        clock.advance(dt.timedelta(days=1))
        later = draw(runtime, WINDOW + dt.timedelta(days=1))  # the draw of 2 Sep never ran
        assert later.entries == 2
        assert {statuses(runtime)[f] for f in (first, second)} == {"selected"}
