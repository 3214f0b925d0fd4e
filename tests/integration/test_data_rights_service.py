"""The erasure of a person's data, through the services, on SQLite and PostgreSQL: each
state their appointment may be in gives its seats back; requests waiting for a draw leave
it; a failure halfway leaves everything as it was; an account number is never given again."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from puerta.accounts import rights
from puerta.accounts.domain import InvalidToken, Role, RoleRequired
from puerta.accounts.rights import Held, Holder
from puerta.accounts.service import AccountView, account_view, create_account
from puerta.accounts.tables import Account, AuthToken, Group
from puerta.appointments import booking
from puerta.appointments.tables import Appeal, Appointment, AppointmentRequest
from puerta.audit.service import verify_chain
from puerta.draws.service import verify_draw
from puerta.i18n import available_languages
from puerta.notifications.tables import Notification
from puerta.runtime import Runtime
from tests.factories import PASSWORD, family_account, phone
from tests.integration.helpers import AFTER_CLOSE, WINDOW, confirm, draw, plan, requesting_family

PORT = "san-ysidro"


def _view(rt: Runtime, account_id: int) -> AccountView:
    with rt.uow() as uow:
        row = uow.session.get(Account, account_id)
        assert row is not None
        return account_view(row)


def _erase(rt: Runtime, account_id: int, holders: tuple[Holder, ...] | None = None) -> Any:
    return rights.erase_account(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, account=_view(rt, account_id),
        password=PASSWORD, consent=None, holders=rt.holders if holders is None else holders,
    )  # fmt: skip


def _offer(rt: Runtime, account_id: int) -> dict[str, Any]:
    """The columns of the family's one offer or appointment."""
    with rt.uow() as uow:
        row = uow.session.scalar(select(Appointment).where(Appointment.account_id == account_id))
        assert row is not None
        return rights.columns(row)


def _selected(rt: Runtime, size: int = 2) -> int:
    """A family of ``size`` holding an open offer at San Ysidro from the draw of WINDOW."""
    plan(rt, PORT, 10)
    account = requesting_family(rt, [PORT], size=size)
    rt.clock.set(AFTER_CLOSE)  # type: ignore[attr-defined]
    draw(rt)
    return account


class TestErasureGivesTheSeatsBack:
    def test_an_open_offer_is_given_up_as_the_person_would(self, runtime: Runtime) -> None:
        account = _selected(runtime)
        erased = _erase(runtime, account)
        offer = _offer(runtime, account)
        assert (offer["status"], offer["cancelled_by"]) == ("cancelled", "person")
        assert offer["freed_at"] is not None and erased.counts["seats_released"] == 1
        assert verify_draw(uow=runtime.uow(), schedule=runtime.schedule, window=WINDOW).ok

    def test_an_offer_past_its_deadline_is_expired_and_no_notice_is_left(
        self, runtime: Runtime
    ) -> None:
        account = _selected(runtime)
        runtime.clock.advance(dt.timedelta(days=2))  # type: ignore[attr-defined]
        _erase(runtime, account)
        assert _offer(runtime, account)["status"] == "expired"
        with runtime.uow() as uow:
            notes = select(Notification).where(Notification.account_id == account)
            assert uow.session.scalars(notes).all() == []

    def test_a_cancellation_under_appeal_stands_and_its_appeal_goes(self, runtime: Runtime) -> None:
        account = _selected(runtime)
        appointment = confirm(runtime, account)
        booking.cancel_by_admin(
            uow=runtime.uow(), clock=runtime.clock, appointment_id=appointment.id,
            reason="Registered twice, by mistake.", actor_id=1,
        )  # fmt: skip
        assert _offer(runtime, account)["freed_at"] is None, "held until the appeal is decided"
        _erase(runtime, account)
        offer = _offer(runtime, account)
        assert offer["freed_at"] is not None and offer["cancel_reason"] is None
        with runtime.uow() as uow:
            assert uow.session.scalars(select(Appeal)).all() == []
        assert verify_chain(uow=runtime.uow()).ok

    def test_a_request_waiting_for_a_draw_is_withdrawn(self, runtime: Runtime) -> None:
        account = requesting_family(runtime, [PORT], standing=True)
        erased = _erase(runtime, account)
        assert erased.counts["requests_withdrawn"] == 1
        with runtime.uow() as uow:
            request = uow.session.scalar(select(AppointmentRequest))
            assert request is not None and request.status == "withdrawn"
            assert request.idempotency_key == f"erased-{request.id}"
        runtime.clock.set(AFTER_CLOSE)  # type: ignore[attr-defined]
        assert draw(runtime).entries == 0


class TestErasureIsWhole:
    def test_a_failure_halfway_leaves_everything_as_it_was(self, runtime: Runtime) -> None:
        account = _selected(runtime)
        confirm(runtime, account)

        class Failing:
            def export(self, session: Session, account_id: int, group_id: int | None) -> Held:
                raise AssertionError("not exported here")

            def erase(
                self, session: Session, account_id: int, group_id: int | None, now: dt.datetime
            ) -> dict[str, int]:
                raise RuntimeError("the disk is full")

        with pytest.raises(RuntimeError):
            _erase(runtime, account, holders=(*runtime.holders[:1], Failing()))
        assert _offer(runtime, account)["status"] == "confirmed"
        with runtime.uow() as uow:
            group = uow.session.scalar(select(Group).where(Group.account_id == account))
            assert group is not None and len(group.members) == 2
            assert uow.session.get(Account, account).username.startswith("+")  # type: ignore[union-attr]

    def test_an_account_without_a_group_is_erased_too(self, runtime: Runtime) -> None:
        view = create_account(
            uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher, username=phone(),
            password=PASSWORD, language="es", languages=available_languages(),
        )  # fmt: skip
        assert _erase(runtime, view.id).counts["members"] == 0
        with runtime.uow() as uow:
            tokens = select(AuthToken).where(AuthToken.account_id == view.id)
            assert uow.session.scalars(tokens).all() == []

    def test_the_erased_accounts_number_is_never_given_to_another(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        _erase(runtime, account)
        assert family_account(runtime) > account
        with runtime.uow() as uow:
            erased = uow.session.get(Account, account)
            assert erased is not None
            assert (erased.username, erased.password_hash) == (f"erased-{account}", "")
        with pytest.raises(InvalidToken):
            _erase(runtime, account)

    def test_a_staff_account_is_not_erased(self, runtime: Runtime) -> None:
        account = family_account(runtime)
        staff = dataclasses.replace(_view(runtime, account), role=Role.ADMIN)
        with pytest.raises(RoleRequired):
            rights.erase_account(
                uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher, account=staff,
                password=PASSWORD, consent=None, holders=runtime.holders,
            )  # fmt: skip
