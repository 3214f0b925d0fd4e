"""Personal data at rest (puerta.datakeys), on SQLite and PostgreSQL: nothing of a person's
name, birth date or document number, nor a window's secret before its draw, is in the
database as it lies on disk (SQLite's files, the WAL too) or as its rows hold it
(PostgreSQL, read with plain SQL); yet check-in and the online check still find people by
birth date, and rotating either kind of key keeps every old row readable.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import LargeBinary, select, text, type_coerce

from puerta.accounts.domain import Member
from puerta.accounts.service import get_group
from puerta.accounts.tables import GroupMember
from puerta.appointments import checkin, rules, service
from puerta.appointments.rules import AppointmentStatus
from puerta.appointments.tables import WindowCommitment
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.datakeys.keks import init_kek_file
from puerta.datakeys.ring import KEYS, UnknownKeyEncryptionKey, key_id_of
from puerta.datakeys.rotation import data_keys_command
from puerta.db import Base
from puerta.draws.service import verify_draw
from puerta.models import metadata
from puerta.proofs import lookup
from puerta.runtime import Runtime, build_runtime
from puerta.vulnerability import service as vulnerability
from tests.conftest import FAST_HASHER
from tests.factories import TIJUANA, family_account
from tests.integration.helpers import AFTER_CLOSE, WINDOW, confirm, draw

SAN_YSIDRO_MORNING = dt.datetime(2024, 9, 16, 15, 0, tzinfo=dt.UTC)
BORN = dt.date(1987, 11, 23)
WILMER = Member("Wilmer Anselmo", "Quiñónez Batres", BORN, "GTM", ("es",), id_document="G48213377")
LUCIA = Member("Lucía", "Quiñónez Tzul", dt.date(2016, 2, 29), "GTM", ("es", "quc"))
# What must not be found at rest, in every form a database might keep it in.
SECRETS = [
    "Wilmer", "Anselmo", "Quiñónez", "Batres", "Tzul", "G48213377",
    "1987-11-23", "1987, 11, 23", "2016-02-29", "2016, 2, 29",
]  # fmt: skip


def stored_bytes(runtime: Runtime, database_url: str) -> bytes:
    """SQLite: its files byte for byte, the WAL before and after its checkpoint. PostgreSQL:
    every row of every table, read with plain SQL (no column type opens anything)."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        files = lambda: [f for f in path.parent.glob(path.name + "*") if f.is_file()]  # noqa: E731
        before = b"".join(f.read_bytes() for f in files())
        runtime.engine.dispose()  # checkpoints the WAL into the database file
        return before + b"".join(f.read_bytes() for f in files())
    with runtime.engine.connect() as conn:
        tables = [t.name for t in Base.metadata.sorted_tables]
        rows = [conn.execute(text(f'SELECT * FROM "{t}"')).all() for t in tables]
    return repr(rows).encode()


def assert_sealed(stored: bytes) -> None:
    assert b"GTM" in stored, "the scan reads what the database holds"
    for secret in SECRETS:
        assert secret.encode() not in stored, f"{secret} is stored in plain text"


def request(rt: Runtime, account: int) -> None:
    service.make_request(
        uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account,
        ports=["san-ysidro"], idempotency_key="k", standing=False, rng=rt.rng, **TIJUANA,
    )  # fmt: skip


def key_ids(rt: Runtime) -> set[int | None]:
    """The data keys the members' names are sealed with, read from the stored bytes."""
    with rt.uow() as uow:
        raw = uow.session.scalars(select(type_coerce(GroupMember.given_names, LargeBinary)))
        return {key_id_of(bytes(value)) for value in raw}


class TestNothingInPlainText:
    def test_a_registration_leaves_no_name_birth_date_or_document_at_rest(
        self, runtime: Runtime, database_url: str
    ) -> None:
        account = family_account(runtime, [WILMER, LUCIA])
        request(runtime, account)
        read = get_group(uow=runtime.uow(), account_id=account)
        assert [(m.given_names, m.birth_date, m.id_document) for m in read.members] == [
            ("Wilmer Anselmo", BORN, "G48213377"), ("Lucía", dt.date(2016, 2, 29), None),
        ]  # fmt: skip
        assert_sealed(stored_bytes(runtime, database_url))

    def test_the_windows_secret_is_not_at_rest_until_the_draw_reveals_it(
        self, runtime: Runtime, database_url: str, clock: FixedClock
    ) -> None:
        request(runtime, family_account(runtime, [WILMER]))
        with runtime.uow() as uow:
            commitment = uow.session.get(WindowCommitment, WINDOW)
            assert commitment is not None and commitment.revealed is None
            secret = commitment.secret
        assert len(secret) == 64
        assert secret.encode() not in stored_bytes(runtime, database_url)
        clock.set(AFTER_CLOSE)
        assert draw(runtime).secret == secret
        assert secret.encode() in stored_bytes(runtime, database_url), "public once drawn"
        assert verify_draw(uow=runtime.uow(), schedule=runtime.schedule, window=WINDOW).ok


class TestFoundByBirthDate:
    def test_check_in_and_the_online_check_open_the_birth_dates_to_compare_them(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = family_account(runtime, [WILMER, LUCIA])
        request(runtime, account)
        clock.set(AFTER_CLOSE)
        draw(runtime)
        number = confirm(runtime, account).confirmation_number or ""
        clock.set(SAN_YSIDRO_MORNING)
        facts = lookup.check_online(uow=runtime.uow(), clock=clock, confirmation_number=number,
                                    birth_date=dt.date(2016, 2, 29))  # fmt: skip
        assert [(m.initials, m.birth_year) for m in facts.members] == [("WQ", 1987), ("LQ", 2016)]
        for wrong in (dt.date(1987, 11, 24), dt.date(2016, 2, 28)):
            with pytest.raises(lookup.NoMatchToVerify):
                lookup.check_online(uow=runtime.uow(), clock=clock, confirmation_number=number,
                                    birth_date=wrong)  # fmt: skip
            with pytest.raises(rules.NoMatchingAppointment):
                checkin.check_in(uow=runtime.uow(), clock=clock, officer_id=1,
                                 officer_port="san-ysidro", confirmation_number=number,
                                 birth_date=wrong)  # fmt: skip
        view = checkin.check_in(uow=runtime.uow(), clock=clock, officer_id=1,
                                officer_port="san-ysidro", confirmation_number=number,
                                birth_date=BORN)  # fmt: skip
        assert view.status is AppointmentStatus.CHECKED_IN


def rebuilt(settings: Settings, clock: FixedClock) -> Runtime:
    """Another process on the same database: its own ring, nothing cached."""
    return build_runtime(settings, clock=clock, hasher=FAST_HASHER, rng=random.Random(9))


def command(rt: Runtime, action: str, **more: Any) -> dict[str, Any]:
    return data_keys_command(action, settings=rt.settings, ring=rt.data_keys,
                             metadata=metadata, clock=rt.clock, **more)  # fmt: skip


def screen(rt: Runtime, account: int) -> None:
    vulnerability.set_screening(uow=rt.uow(), clock=rt.clock, vault=rt.vault,
                                account_id=account, answers=[(0, ["pregnant"])])  # fmt: skip


def everything_reads(rt: Runtime, accounts: list[int]) -> None:
    for account in accounts:
        assert (
            get_group(uow=rt.uow(), account_id=account)
            .members[0]
            .family_names.startswith("Quiñónez")
        )
    view = vulnerability.get_screening(uow=rt.uow(), clock=rt.clock, vault=rt.vault,
                                       account_id=accounts[0])  # fmt: skip
    assert [(a.member, [n.value for n in a.needs]) for a in view.answers] == [(0, ["pregnant"])]
    with rt.uow() as uow:
        assert len(uow.session.get_one(WindowCommitment, WINDOW).secret) == 64


class TestRotation:
    def test_a_new_data_key_seals_new_writes_and_old_rows_read_until_re_encrypted(
        self, runtime: Runtime, settings: Settings, clock: FixedClock
    ) -> None:
        first = family_account(runtime, [WILMER])
        screen(runtime, first)
        request(runtime, first)
        assert command(runtime, "rotate") == {"current": 2}
        second = family_account(runtime, [LUCIA])
        assert key_ids(runtime) == {1, 2}
        everything_reads(runtime, [first, second])
        everything_reads(rebuilt(settings, clock), [first, second])
        kept = command(runtime, "retire")
        assert kept["retired"] == [] and kept["settled"] is False
        assert kept["in_use"] == {"1": 6}  # two names, birth date, document, secret, screening

        resealed = command(runtime, "reencrypt", batch=1)
        assert sum(resealed["resealed"].values()) == 6
        assert resealed["resealed"]["screenings.answers"] == 1
        assert key_ids(runtime) == {2}
        everything_reads(runtime, [first, second])
        assert command(runtime, "retire")["retired"] == [], "too soon: processes may lag"
        clock.advance(dt.timedelta(minutes=3))
        assert command(runtime, "retire") == {
            "retired": [1], "current": 2, "settled": True, "in_use": {},
        }  # fmt: skip
        listed = command(runtime, "list")["data_keys"]
        assert [(k["id"], k["values"]) for k in listed] == [(2, 6 + 3)]  # and Lucía's three
        everything_reads(rebuilt(settings, clock), [first, second])

    def test_a_new_kek_rewraps_the_data_keys_and_changes_no_data(
        self, settings: Settings, clock: FixedClock, tmp_path: Path
    ) -> None:
        path = tmp_path / "kek" / "data-keys.json"
        init_kek_file(path, now=clock.now())
        old_file = path.read_text()
        keyed = settings.model_copy(update={"data_key_file": path})
        rt = rebuilt(keyed, clock)
        account = family_account(rt, [WILMER])
        screen(rt, account)
        request(rt, account)
        before = raw_members(rt)
        [(old_kek,)] = wrapped_by(rt)

        done = command(rt, "rewrap")
        [entry] = json.loads(path.read_text())
        assert done["wrapped_by"] == entry["id"] != old_kek and done["removed"] == [old_kek]
        assert wrapped_by(rt) == [(entry["id"],)]
        assert raw_members(rt) == before
        everything_reads(rt, [account])
        everything_reads(rebuilt(keyed, clock), [account])
        (tmp_path / "old.json").write_text(old_file)
        with pytest.raises(UnknownKeyEncryptionKey):
            stale = rebuilt(keyed.model_copy(update={"data_key_file": tmp_path / "old.json"}),
                            clock)  # fmt: skip
            get_group(uow=stale.uow(), account_id=account)


def raw_members(rt: Runtime) -> list[tuple[Any, ...]]:
    with rt.engine.connect() as conn:
        query = 'SELECT given_names, family_names, birth_date, id_document FROM "group_members"'
        return [tuple(row) for row in conn.execute(text(query))]


def wrapped_by(rt: Runtime) -> list[tuple[str]]:
    with rt.engine.connect() as conn:
        return [(str(k),) for (k,) in conn.execute(select(KEYS.c.kek_id))]
