"""Accounts, login tokens and groups against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from puerta.accounts import domain, service
from puerta.accounts.domain import Member, Role
from puerta.accounts.tables import Account, Group, GroupMember
from puerta.clock import FixedClock
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from tests.factories import PASSWORD, phone

LANGS = frozenset({"es", "en", "ht"})


def create(rt: Runtime, username: str, **kwargs: object) -> service.AccountView:
    return service.create_account(
        uow=rt.uow(),
        clock=rt.clock,
        hasher=rt.hasher,
        username=username,
        password=PASSWORD,
        language="es",
        languages=LANGS,
        **kwargs,  # type: ignore[arg-type]
    )


def log_in(rt: Runtime, username: str, password: str = PASSWORD) -> str:
    token, _ = service.log_in(
        uow=rt.uow(),
        clock=rt.clock,
        hasher=rt.hasher,
        username=username,
        password=password,
        ttl=dt.timedelta(hours=rt.settings.token_ttl_hours),
    )
    return token


class TestCreateAccount:
    def test_stores_an_argon2id_hash_never_the_password(self, runtime: Runtime) -> None:
        create(runtime, "Ana@Example.org")
        with runtime.uow() as uow:
            account = uow.session.scalars(select(Account)).one()
            assert account.username == "ana@example.org"
            assert account.password_hash.startswith("$argon2id$")
            assert PASSWORD not in account.password_hash

    def test_refuses_a_username_taken_in_another_spelling(self, runtime: Runtime) -> None:
        create(runtime, "+52 55 1234 5678")
        with pytest.raises(domain.UsernameTaken):
            create(runtime, "0052-55-1234-5678")
        with runtime.uow() as uow:
            assert uow.session.scalar(select(func.count(Account.id))) == 1

    def test_an_officer_needs_a_known_port(self, runtime: Runtime) -> None:
        with pytest.raises(domain.OfficerNeedsPort):
            create(runtime, phone(), role=Role.OFFICER)
        officer = create(runtime, phone(), role=Role.OFFICER, port="nogales")
        assert officer.port == "nogales"

    def test_available_languages_include_spanish_english_and_haitian_creole(self) -> None:
        assert {"es", "en", "ht"} <= available_languages()


class TestLogIn:
    def test_issues_a_token_that_identifies_the_account(self, runtime: Runtime) -> None:
        account = create(runtime, phone())
        token = log_in(runtime, account.username)
        found = service.account_for_token(uow=runtime.uow(), clock=runtime.clock, token=token)
        assert found.id == account.id

    def test_refuses_a_wrong_password_and_an_unknown_user_alike(self, runtime: Runtime) -> None:
        account = create(runtime, phone())
        with pytest.raises(domain.BadCredentials):
            log_in(runtime, account.username, "wrong password")
        with pytest.raises(domain.BadCredentials):
            log_in(runtime, "nobody@example.org")

    def test_a_token_stops_working_when_it_expires(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = create(runtime, phone())
        token = log_in(runtime, account.username)
        clock.advance(dt.timedelta(hours=runtime.settings.token_ttl_hours))
        with pytest.raises(domain.InvalidToken):
            service.account_for_token(uow=runtime.uow(), clock=clock, token=token)

    def test_a_token_stops_working_after_logout(self, runtime: Runtime) -> None:
        account = create(runtime, phone())
        token = log_in(runtime, account.username)
        service.log_out(uow=runtime.uow(), token=token)
        with pytest.raises(domain.InvalidToken):
            service.account_for_token(uow=runtime.uow(), clock=runtime.clock, token=token)


class TestSetGroup:
    members = [
        Member("Marie", "Joseph", dt.date(1990, 3, 14), "HTI", ("ht",)),
        Member("Jean", "Joseph", dt.date(2016, 7, 2), "HTI", ("ht",)),
    ]

    def test_replacing_the_group_keeps_the_registration_date(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = create(runtime, phone())
        first = service.set_group(
            uow=runtime.uow(),
            clock=clock,
            account_id=account.id,
            members=self.members,
            lock=runtime.group_lock,
        )
        clock.advance(dt.timedelta(days=3))
        second = service.set_group(
            uow=runtime.uow(),
            clock=clock,
            account_id=account.id,
            members=self.members[:1],
            lock=runtime.group_lock,
        )
        assert second.registered_at == first.registered_at
        assert second.updated_at == first.updated_at + dt.timedelta(days=3)
        with runtime.uow() as uow:
            assert uow.session.scalar(select(func.count(GroupMember.id))) == 1

    def test_an_invalid_group_leaves_the_stored_group_untouched(self, runtime: Runtime) -> None:
        account = create(runtime, phone())
        service.set_group(
            uow=runtime.uow(),
            clock=runtime.clock,
            account_id=account.id,
            members=self.members,
            lock=runtime.group_lock,
        )
        with pytest.raises(domain.InvalidGroup):
            service.set_group(
                uow=runtime.uow(),
                clock=runtime.clock,
                account_id=account.id,
                members=[self.members[0], Member("", "x", dt.date(2000, 1, 1), "HTI", ())],
                lock=runtime.group_lock,
            )
        group = service.get_group(uow=runtime.uow(), account_id=account.id)
        assert [m.given_names for m in group.members] == ["Marie", "Jean"]

    def test_there_is_one_group_per_account(self, runtime: Runtime) -> None:
        account = create(runtime, phone())
        for _ in range(2):
            service.set_group(
                uow=runtime.uow(),
                clock=runtime.clock,
                account_id=account.id,
                members=self.members,
                lock=runtime.group_lock,
            )
        with runtime.uow() as uow:
            assert uow.session.scalar(select(func.count(Group.id))) == 1

    def test_a_missing_group_is_reported(self, runtime: Runtime) -> None:
        account = create(runtime, phone())
        with pytest.raises(service.GroupNotFound):
            service.get_group(uow=runtime.uow(), account_id=account.id)
