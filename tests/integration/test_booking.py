"""Offers after the draw: confirmation, expiry, cancellations, appeals and check-in."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import func, select

from puerta.accounts.domain import Member
from puerta.accounts.service import set_group
from puerta.appointments import booking, checkin, rules
from puerta.appointments.domain import OutsideGeofence
from puerta.appointments.offers import expire_offers
from puerta.appointments.rules import AppealDecision, AppointmentStatus
from puerta.appointments.tables import AppointmentRequest
from puerta.clock import FixedClock
from puerta.notifications.tables import Notification
from puerta.runtime import Runtime
from tests.factories import OAXACA, TIJUANA
from tests.integration.helpers import AFTER_CLOSE, confirm, draw, plan, requesting_family

SAN_YSIDRO_MORNING = dt.datetime(2024, 9, 16, 15, 0, tzinfo=dt.UTC)  # 08:00 in Tijuana


@pytest.fixture
def offered(runtime: Runtime, clock: FixedClock) -> int:
    """A family of two holding an offer at San Ysidro for 16 Sep 2024."""
    account = requesting_family(runtime, ["san-ysidro"], size=2)
    clock.set(AFTER_CLOSE)
    draw(runtime)
    return account


def notified(rt: Runtime, account: int) -> list[str]:
    with rt.uow() as uow:
        return list(
            uow.session.scalars(
                select(Notification.kind)
                .where(Notification.account_id == account)
                .order_by(Notification.id)
            )
        )


class TestConfirmOffer:
    def test_gives_a_slot_and_a_readable_number(self, runtime: Runtime, offered: int) -> None:
        view = confirm(runtime, offered)
        assert view.status is AppointmentStatus.CONFIRMED
        assert view.slot_starts_at is not None and view.slot_starts_at.hour == 14  # 07:00 PDT
        number = (view.confirmation_number or "").replace("-", "")
        assert len(number) == 8 and set(number) <= set(rules.CONFIRMATION_ALPHABET)
        assert notified(runtime, offered) == ["offer_made", "appointment_confirmed"]

    def test_spreads_groups_over_the_slots(self, runtime: Runtime, clock: FixedClock) -> None:
        families = [requesting_family(runtime, ["san-ysidro"], key=f"k{i}") for i in range(3)]
        clock.set(AFTER_CLOSE)
        draw(runtime)
        slots = {confirm(runtime, f).slot_starts_at for f in families}
        assert len(slots) == 3

    def test_refuses_outside_the_geofence(self, runtime: Runtime, offered: int) -> None:
        with pytest.raises(OutsideGeofence):
            booking.confirm_offer(
                uow=runtime.uow(), clock=runtime.clock, rng=runtime.rng,
                schedule=runtime.schedule, slots=runtime.slots, account_id=offered, **OAXACA,
            )  # fmt: skip
        assert (
            booking.my_appointment(
                uow=runtime.uow(), clock=runtime.clock, account_id=offered
            ).status
            is AppointmentStatus.OFFERED
        )

    def test_refuses_after_expiry_even_before_the_job_ran(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        clock.advance(dt.timedelta(hours=23))
        with pytest.raises(rules.OfferExpired):
            confirm(runtime, offered)
        assert expire_offers(uow=runtime.uow(), clock=clock) == 1
        with pytest.raises(rules.OfferExpired):
            confirm(runtime, offered)
        assert notified(runtime, offered)[-1] == "offer_expired"

    def test_a_cancelled_appointments_slot_counts_as_free(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        first, second = (requesting_family(runtime, ["san-ysidro"], key=k) for k in "ab")
        clock.set(AFTER_CLOSE)
        draw(runtime)
        given_up = confirm(runtime, first).slot_starts_at
        booking.cancel_by_person(uow=runtime.uow(), clock=clock, account_id=first)
        assert confirm(runtime, second).slot_starts_at == given_up  # the earliest, empty again

    def test_a_confirmation_number_already_taken_is_drawn_again(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        families = [requesting_family(runtime, ["san-ysidro"], key=k) for k in "ab"]
        clock.set(AFTER_CLOSE)
        draw(runtime)
        numbers = [
            booking.confirm_offer(
                uow=runtime.uow(), clock=clock, rng=random.Random(1), schedule=runtime.schedule,
                slots=runtime.slots, account_id=family, **TIJUANA,
            ).confirmation_number
            for family in families
        ]  # fmt: skip
        assert len(set(numbers)) == 2  # the same rng drew the first one's number first

    def test_a_confirmed_appointment_cannot_be_confirmed_twice(
        self, runtime: Runtime, offered: int
    ) -> None:
        confirm(runtime, offered)
        with pytest.raises(rules.NotConfirmable):
            confirm(runtime, offered)


class TestGroupWhileScheduled:
    def test_the_group_is_locked_while_it_holds_seats(self, runtime: Runtime, offered: int) -> None:
        with pytest.raises(rules.GroupLocked):
            set_group(
                uow=runtime.uow(), clock=runtime.clock, account_id=offered,
                members=[Member("X", "Y", dt.date(2000, 1, 1), "HND", ())],
                lock=runtime.group_lock,
            )  # fmt: skip

    def test_the_group_stays_locked_while_a_cancellation_is_under_appeal(
        self, runtime: Runtime, offered: int
    ) -> None:
        appointment = confirm(runtime, offered)
        booking.cancel_by_admin(
            uow=runtime.uow(), clock=runtime.clock, appointment_id=appointment.id,
            reason="Port closed", actor_id=1,
        )  # fmt: skip
        with pytest.raises(rules.GroupLocked):
            set_group(
                uow=runtime.uow(), clock=runtime.clock, account_id=offered,
                members=[Member("X", "Y", dt.date(2000, 1, 1), "HND", ())],
                lock=runtime.group_lock,
            )  # fmt: skip

    def test_a_group_with_an_offer_cannot_request(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        from puerta.appointments.service import make_request
        from tests.factories import TIJUANA

        clock.advance(dt.timedelta(hours=1))
        with pytest.raises(rules.AlreadyScheduled):
            make_request(
                uow=runtime.uow(), clock=clock, schedule=runtime.schedule, account_id=offered,
                ports=["laredo"], idempotency_key="again", standing=False, rng=runtime.rng,
                **TIJUANA,
            )  # fmt: skip
        view = booking.my_appointment(uow=runtime.uow(), clock=clock, account_id=offered)
        assert view.status is AppointmentStatus.OFFERED
        with runtime.uow() as uow:
            count = select(func.count(AppointmentRequest.id))
            assert uow.session.scalar(count.where(AppointmentRequest.account_id == offered)) == 1


class TestCancellations:
    def test_a_person_may_give_up_and_the_seats_are_freed(
        self, runtime: Runtime, offered: int
    ) -> None:
        view = booking.cancel_by_person(uow=runtime.uow(), clock=runtime.clock, account_id=offered)
        assert (view.status, view.cancelled_by) == (AppointmentStatus.CANCELLED, "person")
        with pytest.raises(rules.NotCancellable):
            booking.cancel_by_person(uow=runtime.uow(), clock=runtime.clock, account_id=offered)

    def test_the_system_needs_a_reason_and_opens_an_appeal(
        self, runtime: Runtime, offered: int
    ) -> None:
        appointment = confirm(runtime, offered)
        with pytest.raises(rules.ReasonRequired):
            booking.cancel_by_admin(
                uow=runtime.uow(), clock=runtime.clock, appointment_id=appointment.id,
                reason="  ", actor_id=1,
            )  # fmt: skip
        view = booking.cancel_by_admin(
            uow=runtime.uow(), clock=runtime.clock, appointment_id=appointment.id,
            reason="Port closed for repairs", actor_id=1,
        )  # fmt: skip
        assert view.appeal is not None and view.appeal.status == "open"
        assert notified(runtime, offered)[-2:] == ["appointment_cancelled", "appeal_opened"]

    def test_reinstating_gives_the_same_appointment_back(
        self, runtime: Runtime, offered: int
    ) -> None:
        appointment = confirm(runtime, offered)
        cancelled = booking.cancel_by_admin(
            uow=runtime.uow(), clock=runtime.clock, appointment_id=appointment.id,
            reason="Suspected duplicate", actor_id=1,
        )  # fmt: skip
        assert cancelled.appeal is not None
        decided = booking.decide_appeal(
            uow=runtime.uow(), clock=runtime.clock, appeal_id=cancelled.appeal.id,
            decision=AppealDecision.REINSTATE, note="Not a duplicate", actor_id=1, offer_hours=23,
        )  # fmt: skip
        assert decided.status == "reinstated"
        back = booking.my_appointment(uow=runtime.uow(), clock=runtime.clock, account_id=offered)
        assert back.status is AppointmentStatus.CONFIRMED
        assert back.confirmation_number == appointment.confirmation_number
        with pytest.raises(rules.AppealNotOpen):
            booking.decide_appeal(
                uow=runtime.uow(), clock=runtime.clock, appeal_id=cancelled.appeal.id,
                decision=AppealDecision.UPHOLD, note="again", actor_id=1, offer_hours=23,
            )  # fmt: skip

    def test_reinstating_withdraws_the_request_made_meanwhile_so_no_second_offer_follows(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        from puerta.appointments.service import make_request

        appointment = confirm(runtime, offered)
        cancelled = booking.cancel_by_admin(
            uow=runtime.uow(), clock=clock, appointment_id=appointment.id,
            reason="Suspected duplicate", actor_id=1,
        )  # fmt: skip
        assert cancelled.appeal is not None
        clock.advance(dt.timedelta(hours=1))  # the window of 3 Sep is open
        make_request(
            uow=runtime.uow(), clock=clock, schedule=runtime.schedule, account_id=offered,
            ports=["laredo"], idempotency_key="again", standing=True, rng=runtime.rng,
            **TIJUANA,
        )  # fmt: skip
        booking.decide_appeal(
            uow=runtime.uow(), clock=clock, appeal_id=cancelled.appeal.id,
            decision=AppealDecision.REINSTATE, note="Not a duplicate", actor_id=1, offer_hours=23,
        )  # fmt: skip
        clock.advance(dt.timedelta(days=1))
        assert draw(runtime, dt.date(2024, 9, 3)).summary["groups_selected"] == 0
        back = booking.my_appointment(uow=runtime.uow(), clock=clock, account_id=offered)
        assert (back.id, back.status) == (appointment.id, AppointmentStatus.CONFIRMED)
        with runtime.uow() as uow:
            again = select(AppointmentRequest.status).where(
                AppointmentRequest.idempotency_key == "again"
            )
            assert uow.session.scalar(again) == "withdrawn"

    def test_reinstating_is_refused_while_the_group_holds_another_offer(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        from puerta.appointments.service import make_request

        appointment = confirm(runtime, offered)
        cancelled = booking.cancel_by_admin(
            uow=runtime.uow(), clock=clock, appointment_id=appointment.id,
            reason="Suspected duplicate", actor_id=1,
        )  # fmt: skip
        assert cancelled.appeal is not None
        clock.advance(dt.timedelta(hours=1))  # the window of 3 Sep is open
        make_request(
            uow=runtime.uow(), clock=clock, schedule=runtime.schedule, account_id=offered,
            ports=["laredo"], idempotency_key="again", standing=False, rng=runtime.rng,
            **TIJUANA,
        )  # fmt: skip
        clock.advance(dt.timedelta(days=1))
        draw(runtime, dt.date(2024, 9, 3))
        with pytest.raises(rules.AlreadyScheduled):
            booking.decide_appeal(
                uow=runtime.uow(), clock=clock, appeal_id=cancelled.appeal.id,
                decision=AppealDecision.REINSTATE, note="Not a duplicate", actor_id=1,
                offer_hours=23,
            )  # fmt: skip
        latest = booking.my_appointment(uow=runtime.uow(), clock=clock, account_id=offered)
        assert (latest.port, latest.status) == ("laredo", AppointmentStatus.OFFERED)
        appeals = booking.list_appeals(uow=runtime.uow(), account_id=offered, status=None)
        assert [a.status for a in appeals] == ["open"]

    def test_a_reinstated_offer_gets_a_new_deadline(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        offer = booking.my_appointment(uow=runtime.uow(), clock=clock, account_id=offered)
        cancelled = booking.cancel_by_admin(
            uow=runtime.uow(), clock=clock, appointment_id=offer.id,
            reason="Suspected duplicate", actor_id=1,
        )  # fmt: skip
        assert cancelled.appeal is not None
        clock.advance(dt.timedelta(hours=30))  # past the offer's first deadline
        booking.decide_appeal(
            uow=runtime.uow(), clock=clock, appeal_id=cancelled.appeal.id,
            decision=AppealDecision.REINSTATE, note="Not a duplicate", actor_id=1, offer_hours=23,
        )  # fmt: skip
        back = booking.my_appointment(uow=runtime.uow(), clock=clock, account_id=offered)
        assert back.status is AppointmentStatus.OFFERED
        assert back.expires_at == clock.now() + dt.timedelta(hours=23)
        assert expire_offers(uow=runtime.uow(), clock=clock) == 0
        assert confirm(runtime, offered).status is AppointmentStatus.CONFIRMED

    def test_a_reinstated_appointment_cancelled_again_opens_its_appeal_again(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        appointment = confirm(runtime, offered)
        for note in ("Not a duplicate", "Still not a duplicate"):
            cancelled = booking.cancel_by_admin(
                uow=runtime.uow(), clock=clock, appointment_id=appointment.id,
                reason="Suspected duplicate", actor_id=1,
            )  # fmt: skip
            assert cancelled.appeal is not None and cancelled.appeal.status == "open"
            clock.advance(dt.timedelta(minutes=5))
            booking.decide_appeal(
                uow=runtime.uow(), clock=clock, appeal_id=cancelled.appeal.id,
                decision=AppealDecision.REINSTATE, note=note, actor_id=1, offer_hours=23,
            )  # fmt: skip
        back = booking.my_appointment(uow=runtime.uow(), clock=clock, account_id=offered)
        assert back.status is AppointmentStatus.CONFIRMED and back.appeal is not None
        assert (back.appeal.status, back.appeal.decision_note) == (
            "reinstated",
            "Still not a duplicate",
        )

    def test_upholding_frees_the_seats_for_the_next_draw(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        appointment = confirm(runtime, offered)
        cancelled = booking.cancel_by_admin(
            uow=runtime.uow(), clock=clock, appointment_id=appointment.id,
            reason="Fraudulent registration", actor_id=1,
        )  # fmt: skip
        assert cancelled.appeal is not None
        booking.decide_appeal(
            uow=runtime.uow(), clock=clock, appeal_id=cancelled.appeal.id,
            decision=AppealDecision.UPHOLD, note="Confirmed fraud", actor_id=1, offer_hours=23,
        )  # fmt: skip
        plan(runtime, "san-ysidro", 0, dt.date(2024, 9, 17))
        clock.advance(dt.timedelta(hours=1))
        requesting_family(runtime, ["san-ysidro"], size=2, key="other")
        clock.advance(dt.timedelta(days=1))
        assert draw(runtime, dt.date(2024, 9, 3)).summary["groups_selected"] == 1

    def test_a_passed_service_date_cannot_be_reinstated(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        appointment = confirm(runtime, offered)
        cancelled = booking.cancel_by_admin(
            uow=runtime.uow(), clock=clock, appointment_id=appointment.id,
            reason="Port closed", actor_id=1,
        )  # fmt: skip
        assert cancelled.appeal is not None
        clock.set(dt.datetime(2024, 9, 18, tzinfo=dt.UTC))
        with pytest.raises(rules.ServiceDatePassed):
            booking.decide_appeal(
                uow=runtime.uow(), clock=clock, appeal_id=cancelled.appeal.id,
                decision=AppealDecision.REINSTATE, note="too late", actor_id=1, offer_hours=23,
            )  # fmt: skip


class TestCheckIn:
    def test_only_on_the_service_date(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        number = confirm(runtime, offered).confirmation_number or ""
        with pytest.raises(rules.NotServiceDate):
            checkin.check_in(
                uow=runtime.uow(), clock=clock, officer_id=1, officer_port="san-ysidro",
                confirmation_number=number, birth_date=dt.date(1990, 1, 1),
            )  # fmt: skip
        clock.set(SAN_YSIDRO_MORNING)
        view = checkin.check_in(
            uow=runtime.uow(), clock=clock, officer_id=1, officer_port="san-ysidro",
            confirmation_number=f" {number.lower()} ", birth_date=dt.date(1990, 1, 2),
        )  # fmt: skip
        assert view.status is AppointmentStatus.CHECKED_IN
        with pytest.raises(rules.NotCheckedInable):
            checkin.check_in(
                uow=runtime.uow(), clock=clock, officer_id=1, officer_port="san-ysidro",
                confirmation_number=number, birth_date=dt.date(1990, 1, 2),
            )  # fmt: skip

    def test_another_ports_officer_is_answered_as_for_a_wrong_birth_date(
        self, runtime: Runtime, offered: int, clock: FixedClock
    ) -> None:
        number = confirm(runtime, offered).confirmation_number or ""
        clock.set(SAN_YSIDRO_MORNING)
        answers = []
        for port, born in (("laredo", dt.date(1990, 1, 2)), ("san-ysidro", dt.date(2001, 1, 1))):
            with pytest.raises(rules.NoMatchingAppointment) as caught:
                checkin.check_in(
                    uow=runtime.uow(), clock=clock, officer_id=1, officer_port=port,
                    confirmation_number=number, birth_date=born,
                )  # fmt: skip
            answers.append((type(caught.value), caught.value.status, str(caught.value)))
        assert answers[0] == answers[1] and "at this port" in answers[0][2]

    def test_the_manifest_lists_who_comes_by_slot(self, runtime: Runtime, offered: int) -> None:
        confirm(runtime, offered)
        entries = checkin.manifest(
            uow=runtime.uow(), port="san-ysidro", service_date=dt.date(2024, 9, 16),
            officer_port="san-ysidro",
        )  # fmt: skip
        assert [len(e.persons) for e in entries] == [2]
        with pytest.raises(rules.WrongPort):
            checkin.manifest(
                uow=runtime.uow(), port="san-ysidro", service_date=dt.date(2024, 9, 16),
                officer_port="laredo",
            )  # fmt: skip
