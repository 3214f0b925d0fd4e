"""Immigration documents against a real database (SQLite and PostgreSQL): use cases, the
job's expiry and reminders (once each, even with two jobs at once) and the statistics."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select

from puerta.accounts.domain import Member
from puerta.accounts.service import GroupNotFound, create_account, set_language
from puerta.audit.service import verify_chain
from puerta.audit.tables import AuditEvent
from puerta.clock import FixedClock
from puerta.documents import domain, service
from puerta.documents.domain import DocumentStatus
from puerta.documents.service import KEEP, Changes, DocumentNotFound
from puerta.documents.tables import ImmigrationDocument
from puerta.errors import DomainError
from puerta.i18n import available_languages
from puerta.jobs import tick
from puerta.notifications.tables import Notification
from puerta.runtime import Runtime
from tests.factories import PASSWORD, family_account, phone

TODAY = dt.date(2024, 9, 2)  # the fixture clock's date (13:00 in Chicago, 18:00 UTC)
FAMILY = [
    Member("Marie", "Joseph", dt.date(1990, 3, 14), "HTI", ("ht",)),
    Member("Jean", "Joseph", dt.date(2016, 7, 2), "HTI", ("ht",)),
]


def family(rt: Runtime, language: str = "ht") -> int:
    account = family_account(rt, FAMILY)
    set_language(
        uow=rt.uow(), account_id=account, language=language, languages=available_languages()
    )
    return account


def recorded(rt: Runtime, account: int, **overrides: object) -> service.DocumentView:
    values: dict[str, object] = {
        "member": 0, "kind": "tvrh", "status": "requested",
        "requested_on": dt.date(2024, 8, 1), "office": " inm  tijuana ",
    } | overrides  # fmt: skip
    return service.record_document(
        uow=rt.uow(),
        clock=rt.clock,
        account_id=account,
        **values,  # type: ignore[arg-type]
    )


def issued(rt: Runtime, account: int, expires_on: dt.date, **overrides: object) -> int:
    return recorded(
        rt, account, status="issued", decided_on=dt.date(2024, 8, 20), expires_on=expires_on,
        **overrides,
    ).id  # fmt: skip


def documents_stored(rt: Runtime) -> int:
    with rt.uow() as uow:
        return int(uow.session.scalar(select(func.count(ImmigrationDocument.id))) or 0)


def reminders(rt: Runtime) -> list[tuple[int, str, dict[str, object]]]:
    with rt.uow() as uow:
        rows = uow.session.execute(
            select(Notification.account_id, Notification.language, Notification.params)
            .where(Notification.kind == "document_expiring")
            .order_by(Notification.id)
        ).all()
    return [(account, language, json.loads(params)) for account, language, params in rows]


def run(rt: Runtime) -> service.JobReport:
    return service.run_document_jobs(uow=rt.uow(), clock=rt.clock)


class TestRecordDocument:
    def test_records_a_members_document_with_its_office_normalized(self, runtime: Runtime) -> None:
        account = family(runtime)
        view = recorded(runtime, account, member=1)
        assert (view.member, view.kind, view.status, view.office) == (
            1, "tvrh", DocumentStatus.REQUESTED, "INM TIJUANA",
        )  # fmt: skip
        assert service.list_documents(uow=runtime.uow(), account_id=account) == [view]

    def test_records_an_audit_event_with_ids_and_codes_only(self, runtime: Runtime) -> None:
        account = family(runtime)
        view = recorded(runtime, account)
        service.update_document(
            uow=runtime.uow(), clock=runtime.clock, account_id=account, document_id=view.id,
            changes=Changes(status="denied", decided_on=dt.date(2024, 8, 30)),
        )  # fmt: skip
        with runtime.uow() as uow:
            mine = uow.session.execute(
                select(AuditEvent.kind, AuditEvent.actor_id, AuditEvent.data)
                .where(AuditEvent.subject == f"document:{view.id}")
                .order_by(AuditEvent.seq)
            ).all()
        assert [e.kind for e in mine] == ["document_recorded", "document_updated"]
        assert [e.actor_id for e in mine] == [account, account]
        last = json.loads(mine[1].data)
        assert last == {"group": last["group"], "kind": "tvrh", "status": "denied",
                        "previous": "requested"}  # fmt: skip
        assert all("TIJUANA" not in e.data and "2024-08" not in e.data for e in mine)
        assert verify_chain(uow=runtime.uow()).ok

    @pytest.mark.parametrize(
        ("overrides", "error"),
        [
            ({"member": 2}, domain.UnknownMember),
            ({"member": -1}, domain.UnknownMember),
            ({"kind": "passport"}, domain.UnknownDocumentKind),
            ({"status": "lost"}, domain.UnknownDocumentStatus),
            ({"office": "x"}, domain.InvalidOffice),
            ({"requested_on": TODAY + dt.timedelta(days=1)}, domain.DateInFuture),
            ({"status": "issued"}, domain.DecisionDateRequired),
            ({"status": "denied", "decided_on": TODAY, "expires_on": dt.date(2025, 1, 1)},
             domain.ExpiryNotAllowed),
        ],
    )  # fmt: skip
    def test_refuses_bad_input_and_stores_nothing(
        self, runtime: Runtime, overrides: dict[str, object], error: type[Exception]
    ) -> None:
        account = family(runtime)
        with pytest.raises(error):
            recorded(runtime, account, **overrides)
        assert documents_stored(runtime) == 0

    def test_needs_a_family_group_first(self, runtime: Runtime) -> None:
        account = create_account(
            uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher, username=phone(),
            password=PASSWORD, language="es", languages=available_languages(),
        )  # fmt: skip
        with pytest.raises(GroupNotFound):
            recorded(runtime, account.id)
        assert service.list_documents(uow=runtime.uow(), account_id=account.id) == []


class TestUpdateDocument:
    def test_issues_a_requested_document(self, runtime: Runtime) -> None:
        account = family(runtime)
        view = recorded(runtime, account)
        changed = service.update_document(
            uow=runtime.uow(), clock=runtime.clock, account_id=account, document_id=view.id,
            changes=Changes(status="issued", decided_on=dt.date(2024, 8, 20),
                            expires_on=dt.date(2025, 8, 20), office="INM Tapachula"),
        )  # fmt: skip
        assert (changed.status, changed.office, changed.expires_on) == (
            DocumentStatus.ISSUED, "INM TAPACHULA", dt.date(2025, 8, 20),
        )  # fmt: skip
        assert changed.requested_on == view.requested_on

    def test_another_familys_document_is_not_found_and_unchanged(self, runtime: Runtime) -> None:
        owner, other = family(runtime), family(runtime)
        view = recorded(runtime, owner)
        with pytest.raises(DocumentNotFound):
            service.update_document(
                uow=runtime.uow(), clock=runtime.clock, account_id=other, document_id=view.id,
                changes=Changes(status="denied", decided_on=TODAY),
            )  # fmt: skip
        assert service.list_documents(uow=runtime.uow(), account_id=owner) == [view]

    def test_a_refused_change_changes_nothing(self, runtime: Runtime) -> None:
        account = family(runtime)
        view = recorded(runtime, account, status="denied", decided_on=dt.date(2024, 8, 5))
        for changes in (
            Changes(status="issued"),
            Changes(decided_on=None),
            Changes(requested_on=dt.date(2024, 8, 6)),
            Changes(office="<script>"),
        ):
            with pytest.raises(DomainError) as raised:
                service.update_document(
                    uow=runtime.uow(), clock=runtime.clock, account_id=account,
                    document_id=view.id, changes=changes,
                )  # fmt: skip
            assert raised.value.status in (409, 422)
        assert service.list_documents(uow=runtime.uow(), account_id=account) == [view]

    def test_a_new_expiry_date_gets_its_own_reminders(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = family(runtime)
        document = issued(runtime, account, expires_on=TODAY + dt.timedelta(days=30))
        assert run(runtime).reminded == 1
        renewed = TODAY + dt.timedelta(days=25)
        service.update_document(
            uow=runtime.uow(), clock=clock, account_id=account, document_id=document,
            changes=Changes(expires_on=renewed, status=KEEP),
        )  # fmt: skip
        assert run(runtime).reminded == 1
        assert [params["expires_on"] for _, _, params in reminders(runtime)] == [
            (TODAY + dt.timedelta(days=30)).isoformat(), renewed.isoformat(),
        ]  # fmt: skip


class TestDocumentJobs:
    def test_reminds_exactly_once_at_30_and_at_7_days_then_expires(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = family(runtime, language="ht")
        expiry = TODAY + dt.timedelta(days=40)
        document = issued(runtime, account, expires_on=expiry)
        for _ in range(43):
            for _ in range(2):  # two job runs each day
                run(runtime)
            clock.advance(dt.timedelta(days=1))
        assert reminders(runtime) == [
            (account, "ht", {"document": "tvrh", "expires_on": expiry.isoformat(), "days": 30}),
            (account, "ht", {"document": "tvrh", "expires_on": expiry.isoformat(), "days": 7}),
        ]
        (view,) = service.list_documents(uow=runtime.uow(), account_id=account)
        assert (view.id, view.status) == (document, DocumentStatus.EXPIRED)

    def test_expires_a_document_the_day_after_its_expiry_date(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = family(runtime)
        issued(runtime, account, expires_on=TODAY)
        assert run(runtime).expired == 0
        clock.advance(dt.timedelta(days=1))
        assert (run(runtime).expired, run(runtime).expired) == (1, 0)
        with runtime.uow() as uow:
            kinds = uow.session.scalars(
                select(AuditEvent.kind).where(AuditEvent.actor_id.is_(None))
            ).all()
        assert kinds == ["document_updated"]

    def test_never_reminds_of_denied_requested_or_expired_documents(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        account = family(runtime)
        recorded(runtime, account, status="denied", decided_on=dt.date(2024, 8, 20))
        recorded(runtime, account)
        recorded(
            runtime, account, status="expired", requested_on=dt.date(2024, 1, 2),
            decided_on=dt.date(2024, 1, 2), expires_on=dt.date(2024, 9, 1),
        )  # fmt: skip
        for _ in range(40):
            run(runtime)
            clock.advance(dt.timedelta(days=1))
        assert reminders(runtime) == []

    def test_two_jobs_at_once_remind_once(self, runtime: Runtime) -> None:
        account = family(runtime)
        for member in (0, 1):
            issued(runtime, account, expires_on=TODAY + dt.timedelta(days=7), member=member)
        start = threading.Barrier(2)
        reports: list[service.JobReport] = []
        errors: list[BaseException] = []

        def job() -> None:
            try:
                start.wait()
                reports.append(run(runtime))
            except BaseException as error:  # surfaced below
                errors.append(error)

        threads = [threading.Thread(target=job) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert sum(r.reminded for r in reports) == 2
        assert len(reminders(runtime)) == 2

    def test_the_jobs_tick_enqueues_and_sends_the_reminder(self, runtime: Runtime) -> None:
        account = family(runtime)
        issued(runtime, account, expires_on=TODAY + dt.timedelta(days=30))
        assert tick(runtime).notifications_sent == 1
        assert tick(runtime).notifications_sent == 0
        assert len(reminders(runtime)) == 1


class TestStatistics:
    def test_counts_documents_and_hides_small_counts(self, runtime: Runtime) -> None:
        for _ in range(3):
            account = family(runtime)
            for member in (0, 1):
                for _ in range(2):
                    issued(runtime, account, expires_on=dt.date(2025, 8, 20), member=member)
        account = family(runtime)
        recorded(runtime, account, status="denied", decided_on=dt.date(2024, 8, 3))
        table = service.document_statistics(uow=runtime.uow())
        (row,) = table.rows
        assert (row.kind, row.office, row.month) == ("tvrh", "INM TIJUANA", "2024-08")
        assert (row.requests, row.issued, row.denied) == (13, 12, "<10")
        assert (row.median_days_to_issue, row.p90_days_to_issue) == (19.0, 19)
        assert "JOSEPH" not in repr(table).upper()
