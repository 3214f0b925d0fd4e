"""The audit log against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import delete, func, select, text

import puerta.audit.tables  # noqa: F401  (until puerta.models imports it)
from puerta.accounts.tables import Account
from puerta.audit.domain import GENESIS, Broken, EventKind, NewEvent, Reason
from puerta.audit.service import list_events, record, record_many, verify_chain
from puerta.audit.tables import AuditEvent, AuditHead
from puerta.runtime import Runtime
from tests.factories import family_account


def append(rt: Runtime, count: int, *, actor_id: int | None = None) -> list[int]:
    """Append ``count`` events in one committed transaction; returns their seqs."""
    with rt.uow() as uow:
        seqs = [
            record(
                uow.session,
                at=rt.clock.now(),
                kind=EventKind.CAPACITY_SET,
                actor_id=actor_id,
                subject=f"port:nogales:{i}",
                data={"seats": i, "date": "2024-09-16"},
            )
            for i in range(count)
        ]
        uow.commit()
    return seqs


def sql(rt: Runtime, statement: str, **params: object) -> None:
    with rt.engine.begin() as conn:
        conn.execute(text(statement), params)


def seqs_in(rt: Runtime) -> list[int]:
    with rt.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))


class TestRecord:
    def test_appends_consecutive_seqs_that_verify(self, runtime: Runtime) -> None:
        assert append(runtime, 3) + append(runtime, 2) == [1, 2, 3, 4, 5]
        report = verify_chain(uow=runtime.uow())
        assert (report.ok, report.events, report.broken, report.head_matches) == (
            True,
            5,
            None,
            True,
        )

    def test_stores_canonical_json_and_links_each_event_to_the_previous(
        self, runtime: Runtime
    ) -> None:
        append(runtime, 2)
        first, second = list_events(uow=runtime.uow())
        assert first.data == '{"date":"2024-09-16","seats":0}'
        assert (first.prev_hash, second.prev_hash) == (GENESIS, first.hash)
        assert first.at == runtime.clock.now()

    def test_a_rolled_back_transaction_leaves_no_event_and_no_gap(self, runtime: Runtime) -> None:
        append(runtime, 1)
        with runtime.uow() as uow:
            record(
                uow.session,
                at=runtime.clock.now(),
                kind=EventKind.NO_SHOW,
                actor_id=None,
                subject="appointment:1",
                data={},
            )
        assert append(runtime, 1) == [2]
        assert seqs_in(runtime) == [1, 2]
        assert verify_chain(uow=runtime.uow()).ok

    def test_rolling_back_the_very_first_append_leaves_nothing_behind(
        self, runtime: Runtime
    ) -> None:
        with runtime.uow() as uow:
            record(
                uow.session,
                at=runtime.clock.now(),
                kind=EventKind.DRAW_RUN,
                actor_id=None,
                subject="draw:1",
                data={},
            )
        with runtime.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(AuditHead)) == 0
        assert append(runtime, 1) == [1]

    def test_refusing_personal_data_moves_nothing_even_if_the_caller_commits(
        self, runtime: Runtime
    ) -> None:
        append(runtime, 1)
        with runtime.uow() as uow:
            with pytest.raises(ValueError, match="personal data"):
                record(
                    uow.session,
                    at=runtime.clock.now(),
                    kind=EventKind.GROUP_SET,
                    actor_id=1,
                    subject="group:1",
                    data={"given_names": "Marie"},
                )
            uow.commit()
        assert append(runtime, 1) == [2]
        assert verify_chain(uow=runtime.uow()).ok

    def test_deleting_the_actor_account_keeps_the_chain_valid(self, runtime: Runtime) -> None:
        account_id = family_account(runtime)
        append(runtime, 2, actor_id=account_id)
        with runtime.uow() as uow:
            uow.session.execute(delete(Account).where(Account.id == account_id))
            uow.commit()
        assert verify_chain(uow=runtime.uow()).ok
        assert [e.actor_id for e in list_events(uow=runtime.uow())] == [account_id] * 2


class TestVerifyChain:
    def test_an_empty_log_verifies(self, runtime: Runtime) -> None:
        report = verify_chain(uow=runtime.uow())
        assert (report.ok, report.events, report.head_matches) == (True, 0, True)

    def test_a_row_changed_with_sql_is_reported_at_its_seq(self, runtime: Runtime) -> None:
        append(runtime, 5)
        forged = '{"date":"2024-09-16","seats":999}'
        sql(runtime, "UPDATE audit_events SET data = :data WHERE seq = 3", data=forged)
        report = verify_chain(uow=runtime.uow())
        assert (report.ok, report.broken, report.events) == (
            False,
            Broken(3, Reason.HASH_MISMATCH),
            2,
        )
        assert report.head_matches

    def test_a_rewritten_hash_breaks_the_link_of_the_next_event(self, runtime: Runtime) -> None:
        append(runtime, 5)
        sql(runtime, f"UPDATE audit_events SET hash = '{'a' * 64}' WHERE seq = 2")
        assert verify_chain(uow=runtime.uow()).broken == Broken(2, Reason.HASH_MISMATCH)

    def test_a_deleted_row_is_a_gap_at_its_seq(self, runtime: Runtime) -> None:
        append(runtime, 5)
        sql(runtime, "DELETE FROM audit_events WHERE seq = 4")
        assert verify_chain(uow=runtime.uow()).broken == Broken(4, Reason.GAP)

    def test_a_truncated_tail_is_caught_by_the_head(self, runtime: Runtime) -> None:
        append(runtime, 10)
        sql(runtime, "DELETE FROM audit_events WHERE seq > 7")
        report = verify_chain(uow=runtime.uow())
        assert (report.ok, report.broken, report.head_matches, report.events) == (
            False,
            Broken(8, Reason.GAP),
            False,
            7,
        )

    def test_a_deleted_head_row_is_caught(self, runtime: Runtime) -> None:
        append(runtime, 3)
        sql(runtime, "DELETE FROM audit_head")
        report = verify_chain(uow=runtime.uow())
        assert (report.ok, report.broken, report.head_matches) == (
            False,
            Broken(1, Reason.HEAD_MISMATCH),
            False,
        )

    def test_reads_the_log_in_chunks_and_still_finds_a_late_break(self, runtime: Runtime) -> None:
        append(runtime, 10)
        sql(runtime, "UPDATE audit_events SET subject = 'port:calexico' WHERE seq = 9")
        report = verify_chain(uow=runtime.uow(), chunk_size=3)
        assert (report.broken, report.events) == (Broken(9, Reason.HASH_MISMATCH), 8)


class TestListEvents:
    def test_pages_by_seq(self, runtime: Runtime) -> None:
        append(runtime, 5)
        assert [e.seq for e in list_events(uow=runtime.uow(), after_seq=1, limit=3)] == [2, 3, 4]
        assert [e.seq for e in list_events(uow=runtime.uow(), after_seq=4)] == [5]
        assert len(list_events(uow=runtime.uow(), limit=0)) == 1


class TestConcurrentAppends:
    threads = 4
    per_thread = 25

    def test_threads_appending_at_once_leave_a_gap_free_valid_chain(self, runtime: Runtime) -> None:
        # Starting on an empty log, so the threads also race to create the head row.
        start = threading.Barrier(self.threads)
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                start.wait()
                for _ in range(self.per_thread):
                    append(runtime, 1, actor_id=worker)
            except BaseException as error:  # surfaced below: a thread's failure fails the test
                errors.append(error)

        pool = [threading.Thread(target=work, args=(w,)) for w in range(self.threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=120)
        assert errors == []
        total = self.threads * self.per_thread
        assert seqs_in(runtime) == list(range(1, total + 1))
        report = verify_chain(uow=runtime.uow())
        assert (report.ok, report.events) == (True, total)

    def test_a_transaction_that_loses_the_race_to_create_the_head_retries(
        self, runtime: Runtime
    ) -> None:
        if runtime.engine.dialect.name != "postgresql":
            pytest.skip(
                "SQLite admits one writer at a time: the second append waits on the first's "
                "write lock and then sees its head, so it never loses this race"
            )
        result: list[list[int]] = []
        with runtime.uow() as first:
            record(
                first.session,
                at=runtime.clock.now(),
                kind=EventKind.DRAW_RUN,
                actor_id=None,
                subject="draw:1",
                data={},
            )
            second = threading.Thread(target=lambda: result.append(append(runtime, 1)))
            second.start()
            # The second transaction found no head row and now waits on our uncommitted one.
            _wait_until_blocked_on(runtime, "INSERT INTO audit_head")
            first.commit()
        second.join(timeout=30)
        assert result == [[2]]
        assert verify_chain(uow=runtime.uow()).ok


def _wait_until_blocked_on(rt: Runtime, statement: str) -> None:
    """Wait until a PostgreSQL backend waits on a lock while running ``statement``."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND query LIKE :statement"
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with rt.engine.connect() as conn:
            if conn.scalar(query, {"statement": statement + "%"}):
                return
        time.sleep(0.05)
    raise AssertionError(f"no transaction blocked on {statement!r}")


class TestRecordMany:
    def test_a_batch_continues_the_chain_exactly_like_single_appends(
        self, runtime: Runtime
    ) -> None:
        at = dt.datetime(2024, 9, 3, 17, 0, tzinfo=dt.UTC)
        with runtime.uow() as uow:
            record(
                uow.session, at=at, kind=EventKind.DRAW_RUN, actor_id=None, subject="draw:1",
                data={},
            )  # fmt: skip
            record_many(
                uow.session,
                [
                    NewEvent(at=at, kind=EventKind.OFFER_MADE, actor_id=None,
                             subject=f"appointment:{i}", data={"persons": i})
                    for i in range(1, 4)
                ],
            )  # fmt: skip
            record(uow.session, at=at, kind=EventKind.CHECKED_IN, actor_id=2,
                   subject="appointment:1", data={})  # fmt: skip
            uow.commit()
        report = verify_chain(uow=runtime.uow())
        assert report.ok and report.events == 5

    def test_a_batch_with_personal_data_writes_nothing(self, runtime: Runtime) -> None:
        at = dt.datetime(2024, 9, 3, 17, 0, tzinfo=dt.UTC)
        with runtime.uow() as uow, pytest.raises(ValueError):
            record_many(
                uow.session,
                [
                    NewEvent(at=at, kind=EventKind.OFFER_MADE, actor_id=None, subject="a:1",
                             data={}),
                    NewEvent(at=at, kind=EventKind.OFFER_MADE, actor_id=None, subject="a:2",
                             data={"birth_date": "1990-01-01"}),
                ],
            )  # fmt: skip
        assert verify_chain(uow=runtime.uow()).events == 0
