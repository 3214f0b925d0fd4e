"""Incident reports on SQLite and PostgreSQL: what is stored, what can be read, by whom."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from puerta.accounts.domain import Role
from puerta.audit.tables import AuditEvent
from puerta.db import Base
from puerta.errors import DomainError
from puerta.geo.service import state_names
from puerta.incidents import domain, keys, sealing, service, triage
from puerta.incidents.domain import Status
from puerta.incidents.tables import IncidentEntry, IncidentReport
from puerta.runtime import Runtime
from puerta.vault import VaultError
from tests.factories import staff
from tests.incidents_helpers import (
    MARKERS,
    PASSPHRASE,
    SECRET_FOLLOW_UP,
    SECRET_MESSAGE,
    SECRET_NOTE,
    SECRET_TEXT,
    key_file,
    report,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return key_file(tmp_path)


@pytest.fixture
def team(path: Path) -> service.TeamKey:
    return keys.team_key(path)


@pytest.fixture
def caseworker(runtime: Runtime) -> int:
    staff(runtime, Role.INCIDENTS)
    with runtime.uow() as uow:
        return int(uow.session.scalar(text("select max(id) from accounts")))


def submit(runtime: Runtime, team: service.TeamKey, **overrides: object) -> str:
    return service.submit_report(
        uow=runtime.uow(), clock=runtime.clock, secret=runtime.keys.signing(), team=team,
        report=report(**overrides), states=state_names(),
    )  # fmt: skip


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.uow() as uow:
        reports = uow.session.scalar(select(func.count()).select_from(IncidentReport))
        entries = uow.session.scalar(select(func.count()).select_from(IncidentEntry))
    return int(reports or 0), int(entries or 0)


def every_row_as_text(runtime: Runtime) -> str:
    found = []
    with runtime.uow() as uow:
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(select(table)).all():
                found.append(repr(tuple(row)))
    return "\n".join(found)


def database_bytes(runtime: Runtime, tmp_path: Path) -> bytes:
    """The SQLite file and its WAL as they lie on disk."""
    runtime.engine.dispose()
    return b"".join(p.read_bytes() for p in tmp_path.glob("puerta.db*"))


@pytest.fixture
def worked(
    runtime: Runtime, team: service.TeamKey, path: Path, caseworker: int
) -> Iterator[tuple[str, dict[str, bytes]]]:
    """One report with a follow-up, a note, a message and a status change."""
    receipt = submit(runtime, team)
    service.add_follow_up(
        uow=runtime.uow(), clock=runtime.clock, secret=runtime.keys.signing(), team=team,
        receipt=receipt, text=SECRET_FOLLOW_UP,
    )  # fmt: skip
    opened = keys.unlock(path, PASSPHRASE)
    common = {"uow": runtime.uow(), "clock": runtime.clock, "keys": opened, "report_id": 1,
              "actor_id": caseworker}  # fmt: skip
    triage.add_note(**common, team=team, text=SECRET_NOTE)  # type: ignore[arg-type]
    triage.send_message(**common, text=SECRET_MESSAGE)  # type: ignore[arg-type]
    triage.change_status(**common, status="in_review")  # type: ignore[arg-type]
    yield receipt, opened


class TestNothingInPlainText:
    def test_no_text_contact_note_message_or_receipt_in_any_row(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]]
    ) -> None:
        receipt, _ = worked
        stored = every_row_as_text(runtime)
        for marker in (*MARKERS, receipt, domain.normalize_receipt(receipt)):
            assert marker not in stored

    def test_not_in_the_sqlite_file_or_its_wal_either(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]], tmp_path: Path
    ) -> None:
        if runtime.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL: every row is read in the test above")
        receipt, _ = worked
        raw = database_bytes(runtime, tmp_path)
        assert b"incident_reports" in raw  # the right file
        for marker in (*MARKERS, receipt, domain.normalize_receipt(receipt)):
            assert marker.encode() not in raw

    def test_nothing_of_a_report_is_logged(
        self, runtime: Runtime, team: service.TeamKey, path: Path, caseworker: int,
        caplog: pytest.LogCaptureFixture,
    ) -> None:  # fmt: skip
        caplog.set_level(logging.DEBUG)
        receipt = submit(runtime, team)
        service.look_up(uow=runtime.uow(), secret=runtime.keys.signing(), receipt=receipt)
        opened = keys.unlock(path, PASSPHRASE)
        triage.read_report(uow=runtime.uow(), clock=runtime.clock, keys=opened, report_id=1,
                           actor_id=caseworker)  # fmt: skip
        logged = caplog.text + "".join(str(r.args) for r in caplog.records)
        for marker in (*MARKERS, receipt, domain.normalize_receipt(receipt), PASSPHRASE):
            assert marker not in logged

    def test_the_audit_log_holds_ids_and_status_codes_only(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]]
    ) -> None:
        with runtime.uow() as uow:
            query = select(AuditEvent.kind, AuditEvent.subject, AuditEvent.data)
            events = uow.session.execute(query.order_by(AuditEvent.seq)).all()
        mine = [e for e in events if e.subject.startswith("incident")]
        assert [e.kind for e in mine] == [
            "incident_note_added",
            "incident_message_sent",
            "incident_status_changed",
        ]
        assert json.loads(mine[-1].data) == {"status": "in_review", "previous": "received"}
        assert all("extortion" not in e.data and "07089" not in e.data for e in mine)


class TestWithoutThePassphrase:
    def test_everything_the_server_has_opens_no_report(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]], path: Path
    ) -> None:
        with runtime.uow() as uow:
            row = uow.session.scalars(select(IncidentReport)).one()
            sealed = [row.text_sealed, row.contact_sealed, row.message_key_sealed]
            sealed += list(uow.session.scalars(select(IncidentEntry.sealed)))
            receipt_hash = row.receipt_hash
        secret = runtime.keys.signing()
        file_bytes = path.read_bytes()
        # Every 32-byte key the server could derive or find: its secret, the vault's, the
        # public keys and salts of the key file, the receipt hash.
        candidates = [secret[:32].ljust(32, b"\0"), bytes.fromhex(receipt_hash)]
        candidates += [bytes.fromhex(e.public) for e in keys.read_entries(path)]
        for value in sealed:
            assert value is not None
            for candidate in candidates:
                with pytest.raises((sealing.SealError, ValueError)):
                    sealing.open_sealed(candidate, value)
                with pytest.raises((sealing.SealError, ValueError)):
                    sealing.open_message(candidate, value)
            with pytest.raises(VaultError):
                runtime.vault.open(value, purpose="incident")
        assert SECRET_TEXT.encode() not in file_bytes
        with pytest.raises(keys.WrongPassphrase):
            keys.unlock(path, "not the team passphrase")

    def test_the_passphrase_opens_it(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]], caseworker: int
    ) -> None:
        _, opened = worked
        view = triage.read_report(uow=runtime.uow(), clock=runtime.clock, keys=opened,
                                  report_id=1, actor_id=caseworker)  # fmt: skip
        assert view.text == SECRET_TEXT
        assert [e.text for e in view.entries] == [SECRET_FOLLOW_UP, SECRET_NOTE, SECRET_MESSAGE]

    def test_a_rotated_key_keeps_old_reports_readable_with_the_old_passphrase(
        self, runtime: Runtime, team: service.TeamKey, path: Path, caseworker: int
    ) -> None:
        submit(runtime, team)
        keys.rotate_key_file(path, "the new passphrase!", now=runtime.clock.now(),
                             strength=keys.Strength.MINIMAL)  # fmt: skip
        submit(runtime, keys.team_key(path))
        old, new = keys.unlock(path, PASSPHRASE), keys.unlock(path, "the new passphrase!")
        read = triage.read_report
        assert read(uow=runtime.uow(), clock=runtime.clock, keys=old, report_id=1,
                    actor_id=caseworker).text == SECRET_TEXT  # fmt: skip
        with pytest.raises(triage.KeyNotUnlocked):
            read(uow=runtime.uow(), clock=runtime.clock, keys=new, report_id=1, actor_id=caseworker)
        both = old | new
        assert read(uow=runtime.uow(), clock=runtime.clock, keys=both, report_id=2,
                    actor_id=caseworker).text == SECRET_TEXT  # fmt: skip


class TestTheReceiptAlone:
    def test_shows_the_status_and_messages_and_takes_a_follow_up(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]], team: service.TeamKey
    ) -> None:
        receipt, _ = worked
        view = service.look_up(uow=runtime.uow(), secret=runtime.keys.signing(),
                               receipt=receipt.replace("-", " "))  # fmt: skip
        assert view.status is Status.IN_REVIEW
        assert [m.text for m in view.messages] == [SECRET_MESSAGE]
        service.add_follow_up(uow=runtime.uow(), clock=runtime.clock,
                              secret=runtime.keys.signing(), team=team, receipt=receipt,
                              text="and more")  # fmt: skip
        assert counts(runtime) == (1, 4)

    def test_a_wrong_receipt_finds_nothing_and_adds_nothing(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]], team: service.TeamKey
    ) -> None:
        receipt, _ = worked
        wrong = ("1" if receipt[0] != "1" else "2") + receipt[1:]
        before = counts(runtime)
        for attempt in (wrong, "", "0" * 20, receipt + "0"):
            with pytest.raises(domain.ReceiptNotFound):
                service.add_follow_up(uow=runtime.uow(), clock=runtime.clock,
                                      secret=runtime.keys.signing(), team=team,
                                      receipt=attempt, text="x")  # fmt: skip
        assert counts(runtime) == before


class TestBadInputStoresNothing:
    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"text": "a" * (domain.MAX_TEXT_LENGTH + 1)}, "text_too_long"),
            ({"municipality": "99999"}, "unknown_municipality"),
            ({"municipality": "28032"}, "unknown_municipality"),
            ({"month": "2024-02", "day": 30}, "bad_day"),
            ({"month": "2030-01", "day": None}, "future_date"),
            ({"incident_type": "murder"}, "unknown_incident_type"),
            ({"state": "MX-ZZZ"}, "unknown_state"),
        ],
    )
    def test_a_bad_report_is_refused_whole(
        self, runtime: Runtime, team: service.TeamKey, overrides: dict[str, object], code: str
    ) -> None:
        with pytest.raises(DomainError) as refused:
            submit(runtime, team, **overrides)
        assert refused.value.code == code
        assert counts(runtime) == (0, 0)

    def test_no_key_file_means_no_report_at_all(self, tmp_path: Path) -> None:
        with pytest.raises(keys.NotConfigured):
            keys.team_key(tmp_path / "missing.json")


class TestTriage:
    def test_lists_by_status_and_exports_referred_cases(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]], caseworker: int,
        team: service.TeamKey,
    ) -> None:  # fmt: skip
        _, opened = worked
        submit(runtime, team, incident_type="kidnapping")
        assert [r.id for r in triage.list_reports(uow=runtime.uow(), status=Status.IN_REVIEW)] == [
            1
        ]
        assert [r.id for r in triage.list_reports(uow=runtime.uow())] == [2, 1]
        triage.change_status(uow=runtime.uow(), clock=runtime.clock, keys=opened, report_id=1,
                             actor_id=caseworker, status="referred",
                             referred_to="external_support_mechanism")  # fmt: skip
        exported = triage.export_referred(uow=runtime.uow(), clock=runtime.clock,
                                          actor_id=caseworker, states=state_names())  # fmt: skip
        assert [e["act"]["2109_type_of_act"] for e in exported["events"]] == ["extortion"]
        assert "ZQX" not in repr(exported)

    def test_a_caller_without_the_key_changes_nothing(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]], caseworker: int
    ) -> None:
        with pytest.raises(triage.KeyNotUnlocked):
            triage.change_status(uow=runtime.uow(), clock=runtime.clock, keys={}, report_id=1,
                                 actor_id=caseworker, status="closed")  # fmt: skip
        assert triage.list_reports(uow=runtime.uow())[0].status is Status.IN_REVIEW

    def test_statistics_suppress_small_counts(
        self, runtime: Runtime, worked: tuple[str, dict[str, bytes]]
    ) -> None:
        figures = service.incident_statistics(uow=runtime.uow(), states=state_names())
        assert figures.total == "<10"
        assert {c.key: c.count for c in figures.by_state}["MX-CHP"] == "<10"
