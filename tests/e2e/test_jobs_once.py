"""Periodic jobs run exactly once per due item, however many processes tick at once.

Several `puerta jobs tick` processes (cron on several hosts, or a slow tick overlapped by
the next) start together on one database, SQLite or PostgreSQL, with offers past their
deadline, documents near their expiry, overdue exception cases and a full outbox. Every
offer is expired once, every reminder and notice made once, and every notification reaches
a real SMTP server once. The same holds with no lease at all (each step's claims alone).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from puerta.accounts.domain import Member, Role
from puerta.accounts.service import create_account, set_group
from puerta.appointments import service as requests
from puerta.audit.domain import EventKind
from puerta.audit.tables import AuditEvent
from puerta.deployment import JobLease, hold_lease
from puerta.documents.service import record_document
from puerta.draws.service import run_draw
from puerta.i18n import available_languages
from puerta.jobs import LEASE, tick_once
from puerta.notifications.tables import Notification
from puerta.runtime import Runtime
from puerta.vulnerability import service as vulnerability
from puerta.vulnerability.domain import Deadlines
from tests.e2e.fault_helpers import OPEN_AT, PUERTA, puerta_env, runtime_on
from tests.factories import PASSWORD, TIJUANA

pytestmark = pytest.mark.xdist_group("faults")

TICKERS = 4
FAMILIES = 10
DOCUMENTS = 5
CASES = 4
ADMINS = 2
# Past the offers' 23 hours and the cases' 72: everything above is due.
TICK_AT = dt.datetime(2024, 9, 5, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
AFTER_CLOSE = dt.datetime(2024, 9, 3, 16, 30, tzinfo=dt.UTC)
_MESSAGE_ID = re.compile(r"\.n(\d+)@")


class Inbox:
    """An aiosmtpd handler that keeps the notification id of every message it accepts."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        found = _MESSAGE_ID.search(str(message["Message-ID"]))
        assert found, message["Message-ID"]
        self.ids.append(int(found.group(1)))
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    controller = _EphemeralController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def _account(rt: Runtime, name: str, role: Role = Role.REGISTRANT) -> int:
    view = create_account(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=f"{name}@example.org",
        password=PASSWORD, language="es", languages=available_languages(), role=role,
    )  # fmt: skip
    return view.id


def _family(rt: Runtime, i: int) -> int:
    account = _account(rt, f"family{i}")
    member = Member(f"P{i}", "Family", dt.date(1990, 1, 1), "HND", ("es",))
    set_group(uow=rt.uow(), clock=rt.clock, account_id=account, members=[member],
              lock=rt.group_lock)  # fmt: skip
    return account


def due_work(rt: Runtime, clock: Any) -> None:
    """Offers, documents near expiry and exception cases, all due by TICK_AT."""
    families = [_family(rt, i) for i in range(FAMILIES)]
    for admin in range(ADMINS):
        _account(rt, f"admin{admin}", Role.ADMIN)
    for i, account in enumerate(families):
        requests.make_request(
            uow=rt.uow(), clock=rt.clock, schedule=rt.schedule, account_id=account,
            ports=["san-ysidro"], idempotency_key=f"k{i}", standing=False, rng=rt.rng, **TIJUANA,
        )  # fmt: skip
    for account in families[:CASES]:
        vulnerability.set_screening(uow=rt.uow(), clock=rt.clock, vault=rt.vault,
                                    account_id=account, answers=[(0, ["disability"])])  # fmt: skip
        vulnerability.request_exception(uow=rt.uow(), clock=rt.clock, vault=rt.vault,
                                        deadlines=Deadlines(), account_id=account)  # fmt: skip
    for account in families[:DOCUMENTS]:
        record_document(
            uow=rt.uow(), clock=rt.clock, account_id=account, member=0, kind="tvrh",
            status="issued", requested_on=dt.date(2024, 8, 1), office="INM Tijuana",
            decided_on=dt.date(2024, 8, 20), expires_on=dt.date(2024, 9, 25),
        )  # fmt: skip
    clock.set(AFTER_CLOSE)
    run_draw(uow=rt.uow(), clock=rt.clock, config=rt.draw_config, window=OPEN_AT.date(),
             actor_id=None)  # fmt: skip


def tick_command(leased: bool) -> list[str]:
    if leased:
        return [PUERTA, "jobs", "tick"]
    # The steps alone, with no lease: only their per-item claims keep them to once.
    script = (
        "import dataclasses, json; from puerta.jobs import tick; "
        "from puerta.runtime import cli_runtime; "
        "print(json.dumps({'ticked': True, **dataclasses.asdict(tick(cli_runtime()))}))"
    )
    return [PUERTA.removesuffix("puerta") + "python", "-c", script]  # fmt: skip


class TestTicksAtOnce:
    @pytest.mark.parametrize("leased", [True, False], ids=["jobs-tick", "no-lease"])
    def test_each_due_item_is_done_and_each_notification_sent_exactly_once(
        self, database_url: str, smtp: tuple[int, Inbox], leased: bool
    ) -> None:
        with runtime_on(database_url) as rt:
            due_work(rt, rt.clock)
        port, inbox = smtp
        env = puerta_env(database_url, TICK_AT.isoformat(), notifier="smtp",
                         smtp_host="127.0.0.1", smtp_port=str(port))  # fmt: skip
        tickers = [
            subprocess.Popen(
                tick_command(leased),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for _ in range(TICKERS)
        ]
        reports = []
        for ticker in tickers:
            out, err = ticker.communicate(timeout=120)
            assert ticker.returncode == 0, err
            reports.append(_last_json(out))
        with runtime_on(database_url) as rt, rt.uow() as uow:
            notes = uow.session.execute(
                select(Notification.id, Notification.kind, Notification.status,
                       Notification.attempts, Notification.params)
            ).all()  # fmt: skip
            expired = uow.session.scalar(
                select(func.count()).where(AuditEvent.kind == EventKind.OFFER_EXPIRED.value)
            )
        assert sorted(inbox.ids) == sorted(n.id for n in notes), "each sent exactly once"
        assert {(n.status, n.attempts) for n in notes} == {("sent", 1)}
        kinds = Counter(n.kind for n in notes)
        assert kinds == {"offer_made": FAMILIES, "offer_expired": FAMILIES,
                         "document_expiring": DOCUMENTS, "exceptions_overdue": ADMINS}  # fmt: skip
        overdue = [n.params for n in notes if n.kind == "exceptions_overdue"]
        assert overdue == [f'{{"count": {CASES}}}'] * ADMINS
        assert expired == FAMILIES
        ticked = [r for r in reports if r["ticked"]]
        assert sum(r["notifications_sent"] for r in ticked) == len(notes)
        assert sum(r["offers_expired"] for r in ticked) == FAMILIES
        if leased:
            assert len(ticked) >= 1 and all(r == {"ticked": False} for r in reports
                                            if not r["ticked"])  # fmt: skip


def _last_json(out: str) -> dict[str, Any]:
    import json

    return dict(json.loads(out.strip().splitlines()[-1]))


class TestCronLease:
    def test_a_tick_while_another_process_holds_the_lease_does_nothing(
        self, runtime: Runtime
    ) -> None:
        hold_lease(uow=runtime.uow(), name=LEASE, holder="another-host", now=runtime.clock.now(),
                   ttl=dt.timedelta(minutes=3))  # fmt: skip
        assert tick_once(runtime) is None
        with runtime.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Notification)) == 0
            assert uow.session.get(JobLease, LEASE).holder == "another-host"  # type: ignore[union-attr]

    def test_a_tick_gives_the_lease_up_when_done_so_the_next_one_runs(
        self, runtime: Runtime
    ) -> None:
        assert tick_once(runtime) is not None
        with runtime.uow() as uow:
            assert uow.session.get(JobLease, LEASE) is None
        assert tick_once(runtime) is not None
