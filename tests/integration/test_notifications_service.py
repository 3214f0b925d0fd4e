"""The notification outbox and its delivery against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import itertools
import logging
import smtplib
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Row, delete, func, select

import puerta.notifications.tables  # noqa: F401  (until puerta.models imports it)
from puerta import i18n
from puerta.accounts.service import create_account, set_language
from puerta.accounts.tables import Account
from puerta.appointments.domain import PORTS_BY_SLUG
from puerta.appointments.offers import expire_offers
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.i18n import available_languages
from puerta.notifications.domain import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    NewNotification,
    NotificationKind,
    Status,
)
from puerta.notifications.service import (
    DeliveryReport,
    LogNotifier,
    SmtpNotifier,
    Zones,
    deliver_pending,
    enqueue,
    enqueue_many,
    notifier_from,
)
from puerta.notifications.tables import Notification
from puerta.runtime import Runtime
from tests.factories import PASSWORD, phone
from tests.integration.helpers import AFTER_CLOSE, draw, requesting_family

# Machine values, as the services store them; formatted when sent.
OFFER = {
    "port": "san-ysidro",
    "service_date": "2024-09-16",
    "expires_at": "2024-09-03T16:00:00+00:00",
}
ZONES = Zones(window=ZoneInfo("America/Chicago"), ports=PORTS_BY_SLUG)
_emails = itertools.count(1)


def account(rt: Runtime, username: str | None = None, language: str = "en") -> tuple[int, str]:
    view = create_account(
        uow=rt.uow(),
        clock=rt.clock,
        hasher=rt.hasher,
        username=username or f"person{next(_emails)}@example.org",
        password=PASSWORD,
        language=language,
        languages=available_languages(),
    )
    return view.id, view.username


def notify(rt: Runtime, account_id: int, language: str = "en") -> int:
    with rt.uow() as uow:
        note_id = enqueue(
            uow.session,
            account_id=account_id,
            kind="offer_made",
            language=language,
            params=OFFER,
            at=rt.clock.now(),
        )
        uow.commit()
    return note_id


def row(
    rt: Runtime, note_id: int
) -> Row[str, int, dt.datetime | None, str | None, str, dt.datetime]:
    """The stored outcome of one notification."""
    with rt.uow() as uow:
        return uow.session.execute(
            select(
                Notification.status,
                Notification.attempts,
                Notification.sent_at,
                Notification.last_error,
                Notification.language,
                Notification.created_at,
            ).where(Notification.id == note_id)
        ).one()


@dataclass
class FakeNotifier:
    """Reaches e-mail addresses only (like SMTP) and refuses the addresses in ``refused``."""

    refused: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)

    def reaches(self, username: str) -> bool:
        return "@" in username

    def send(self, *, to: str, subject: str, body: str, notification_id: int, kind: str) -> None:
        self.tried.append(to)
        if to in self.refused:
            raise smtplib.SMTPRecipientsRefused({to: (550, b"no such mailbox")})
        self.sent.append({"to": to, "subject": subject, "body": body, "kind": kind})


class TestEnqueue:
    def test_the_notification_waits_in_the_outbox(self, runtime: Runtime) -> None:
        account_id, _ = account(runtime)
        stored = row(runtime, notify(runtime, account_id, language="es"))
        assert (stored.status, stored.attempts, stored.sent_at, stored.language) == (
            "pending",
            0,
            None,
            "es",
        )
        assert stored.created_at == runtime.clock.now()

    def test_a_rolled_back_change_leaves_no_notification(self, runtime: Runtime) -> None:
        account_id, _ = account(runtime)
        with runtime.uow() as uow:
            enqueue(
                uow.session,
                account_id=account_id,
                kind="offer_made",
                language="en",
                params=OFFER,
                at=runtime.clock.now(),
            )
        with runtime.uow() as uow:
            assert uow.session.scalar(select(func.count(Notification.id))) == 0

    def test_refuses_unknown_kinds_and_missing_parameters(self, runtime: Runtime) -> None:
        account_id, _ = account(runtime)
        with runtime.uow() as uow:
            for kind, params in [("made_up", OFFER), ("offer_made", {"port": "Nogales"})]:
                with pytest.raises(ValueError):
                    enqueue(
                        uow.session,
                        account_id=account_id,
                        kind=kind,
                        language="en",
                        params=params,
                        at=runtime.clock.now(),
                    )

    def test_deleting_the_account_deletes_its_notifications(self, runtime: Runtime) -> None:
        account_id, _ = account(runtime)
        notify(runtime, account_id)
        with runtime.uow() as uow:
            uow.session.execute(delete(Account).where(Account.id == account_id))
            uow.commit()
        with runtime.uow() as uow:
            assert uow.session.scalar(select(func.count(Notification.id))) == 0


class TestEnqueueMany:
    def test_a_batch_is_stored_in_order_exactly_like_single_enqueues(
        self, runtime: Runtime
    ) -> None:
        account_id, _ = account(runtime)
        notify(runtime, account_id, language="es")
        with runtime.uow() as uow:
            enqueue_many(uow.session, [batched(account_id, lang, OFFER) for lang in ("ht", "fr")])
            uow.commit()
        with runtime.uow() as uow:
            stored = uow.session.scalars(select(Notification).order_by(Notification.id)).all()
            assert [n.language for n in stored] == ["es", "ht", "fr"]
            assert {(n.kind, n.params, n.attempts, n.status) for n in stored} == {
                ("offer_made", stored[0].params, 0, "pending")
            }

    def test_a_batch_with_a_missing_parameter_stores_nothing(self, runtime: Runtime) -> None:
        account_id, _ = account(runtime)
        notes = [batched(account_id, "en", OFFER), batched(account_id, "en", {"port": "nogales"})]
        with runtime.uow() as uow, pytest.raises(ValueError):
            enqueue_many(uow.session, notes)
        with runtime.uow() as uow:
            assert uow.session.scalar(select(func.count(Notification.id))) == 0


def batched(account_id: int, language: str, params: Mapping[str, object]) -> NewNotification:
    return NewNotification(
        account_id=account_id, kind=NotificationKind.OFFER_MADE, language=language,
        params=params, at=dt.datetime(2024, 9, 2, 18, 0, tzinfo=dt.UTC),
    )  # fmt: skip


class TestDeliverPending:
    def test_sends_the_rendered_text_to_the_username_and_records_it(self, runtime: Runtime) -> None:
        account_id, username = account(runtime)
        note_id = notify(runtime, account_id)
        notifier = FakeNotifier()
        report = deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            recipients=runtime.recipients,
        )
        assert report == DeliveryReport(sent=1, no_channel=0, failed=0)
        assert notifier.sent == [
            {
                "to": username,
                "subject": "puerta: your group was selected",
                "body": "Your group was selected for an appointment at San Ysidro on Monday, "
                "September 16, 2024. Confirm before Tuesday, September 3, 11:00 (Chicago time; "
                "09:00 in Tijuana) from inside the eligible area, or the seats go to others.",
                "kind": "offer_made",
            }
        ]
        stored = row(runtime, note_id)
        assert (stored.status, stored.attempts, stored.sent_at) == (
            "sent",
            1,
            runtime.clock.now(),
        )

    def test_a_sent_notification_is_not_sent_again(self, runtime: Runtime) -> None:
        notify(runtime, account(runtime)[0])
        notifier = FakeNotifier()
        deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            recipients=runtime.recipients,
        )
        assert deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            recipients=runtime.recipients,
        ) == (DeliveryReport())
        assert len(notifier.tried) == 1

    def test_a_phone_username_has_no_channel_by_e_mail(self, runtime: Runtime) -> None:
        account_id, _ = account(runtime, phone())
        note_id = notify(runtime, account_id)
        notifier = SmtpNotifier(host="127.0.0.1", port=_closed_port(), sender="p@example.org")
        report = deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            recipients=runtime.recipients,
        )
        assert report == DeliveryReport(no_channel=1)
        stored = row(runtime, note_id)
        assert (stored.status, stored.attempts, stored.sent_at) == ("no_channel", 0, None)

    def test_the_log_notifier_reaches_phones_and_logs_no_personal_data(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture
    ) -> None:
        account_id, username = account(runtime, phone())
        note_id = notify(runtime, account_id)
        with caplog.at_level(logging.INFO, logger="puerta.notifications"):
            report = deliver_pending(
                uow=runtime.uow(),
                notifier=LogNotifier(),
                clock=runtime.clock,
                zones=ZONES,
                recipients=runtime.recipients,
            )
        assert report == DeliveryReport(sent=1)
        assert [r.getMessage() for r in caplog.records] == [
            f"notification {note_id} offer_made sent"
        ]
        assert row(runtime, note_id).status == "sent"

    def test_a_failing_address_is_retried_then_given_up_while_others_are_sent(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        bad_id, bad = account(runtime)
        good = [account(runtime)[0] for _ in range(2)]
        failing = notify(runtime, bad_id)
        for account_id in good:
            notify(runtime, account_id)
        notifier = FakeNotifier(refused={bad})
        reports = []
        for _ in range(MAX_ATTEMPTS + 1):
            reports.append(
                deliver_pending(
                    uow=runtime.uow(),
                    notifier=notifier,
                    clock=clock,
                    zones=ZONES,
                    recipients=runtime.recipients,
                )
            )
            clock.advance(BACKOFF_CAP)  # past the backoff before each retry
        assert reports[0] == DeliveryReport(sent=2, failed=1)
        assert reports[1:] == [DeliveryReport(failed=1)] * (MAX_ATTEMPTS - 1) + [DeliveryReport()]
        assert notifier.tried.count(bad) == MAX_ATTEMPTS
        stored = row(runtime, failing)
        assert (stored.status, stored.attempts, stored.last_error, stored.sent_at) == (
            "failed",
            MAX_ATTEMPTS,
            "SMTPRecipientsRefused",
            None,
        )

    def test_a_failure_before_the_fifth_attempt_stays_pending(self, runtime: Runtime) -> None:
        bad_id, bad = account(runtime)
        note_id = notify(runtime, bad_id)
        deliver_pending(
            uow=runtime.uow(),
            notifier=FakeNotifier({bad}),
            clock=runtime.clock,
            zones=ZONES,
            recipients=runtime.recipients,
        )
        stored = row(runtime, note_id)
        assert (stored.status, stored.attempts) == ("pending", 1)

    def test_a_crash_midway_keeps_what_was_already_sent_so_it_is_not_sent_twice(
        self, runtime: Runtime
    ) -> None:
        first, second = (notify(runtime, account(runtime)[0]) for _ in range(2))
        notifier = FakeNotifier()

        def crash_on_second(**message: Any) -> None:
            if notifier.sent:
                raise RuntimeError("a bug in a notifier")
            FakeNotifier.send(notifier, **message)

        notifier.send = crash_on_second  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            deliver_pending(
                uow=runtime.uow(),
                notifier=notifier,
                clock=runtime.clock,
                zones=ZONES,
                recipients=runtime.recipients,
            )
        assert (row(runtime, first).status, row(runtime, second).status) == ("sent", "pending")

    def test_sends_at_most_the_limit_oldest_first(self, runtime: Runtime) -> None:
        accounts = [account(runtime) for _ in range(3)]
        for account_id, _ in accounts:
            notify(runtime, account_id)
        notifier = FakeNotifier()
        deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            limit=2,
            recipients=runtime.recipients,
        )
        assert notifier.tried == [username for _, username in accounts[:2]]
        with runtime.uow() as uow:
            pending = select(func.count(Notification.id)).where(Notification.status == "pending")
            assert uow.session.scalar(pending) == 1

    def test_an_unreachable_smtp_server_is_a_failed_attempt_with_a_code(
        self, runtime: Runtime
    ) -> None:
        note_id = notify(runtime, account(runtime)[0])
        notifier = SmtpNotifier(host="127.0.0.1", port=_closed_port(), sender="p@example.org")
        report = deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            recipients=runtime.recipients,
        )
        assert report == DeliveryReport(failed=1)
        stored = row(runtime, note_id)
        assert (stored.status, stored.attempts, stored.last_error) == (
            Status.PENDING,
            1,
            "ConnectionRefusedError",
        )


SPANISH = {
    "puerta: your group was selected": "puerta: su grupo fue seleccionado",
    "Your group was selected for an appointment at {port} on {service_date}. Confirm before "
    "{expires_at} from inside the eligible area, or the seats go to others.": "Su grupo fue "
    "seleccionado para una cita en {port} el {service_date}. Confirme antes de {expires_at} "
    "desde dentro del área elegible, o los lugares pasan a otras personas.",
}


def spanish_gettext(language: str, message: str) -> str:
    # The notification's own texts from SPANISH; dates and zones from the real catalog.
    return SPANISH.get(message) or i18n.gettext(language, message)


class TestFormattedWhenSent:
    def test_a_haitian_reader_gets_the_slot_at_its_port_and_dates_in_creole(
        self, runtime: Runtime
    ) -> None:
        account_id, _ = account(runtime, language="ht")
        with runtime.uow() as uow:
            enqueue(
                uow.session, account_id=account_id, kind="appointment_confirmed", language="ht",
                params={"port": "calexico", "service_date": "2024-09-16",
                        "slot": "2024-09-16T14:00:00+00:00", "confirmation_number": "ABCD-2345"},
                at=runtime.clock.now(),
            )  # fmt: skip
            uow.commit()
        notifier = FakeNotifier()
        deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            recipients=runtime.recipients,
        )
        body = notifier.sent[0]["body"]
        assert "Calexico" in body and "lendi 16 septanm 2024" in body
        assert "07:00 (lè Mexicali)" in body and "09:00" not in body

    def test_a_row_stored_before_machine_values_is_sent_as_it_was_written(
        self, runtime: Runtime
    ) -> None:
        account_id, _ = account(runtime)
        old = {"port": "San Ysidro", "service_date": "2024-09-16", "expires_at": "2024-09-03 12:00"}
        with runtime.uow() as uow:
            enqueue(
                uow.session, account_id=account_id, kind="offer_made", language="en",
                params=old, at=runtime.clock.now(),
            )  # fmt: skip
            uow.commit()
        notifier = FakeNotifier()
        deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            recipients=runtime.recipients,
        )
        assert (
            "San Ysidro on 2024-09-16. Confirm before 2024-09-03 12:00"
            in (notifier.sent[0]["body"])
        )


@dataclass
class EveryChannel(FakeNotifier):
    """Reaches phone numbers too, as the log notifier does."""

    def reaches(self, username: str) -> bool:
        return True


class TestNoticesOfTheUseCases:
    def test_the_offer_expiry_notice_is_written_in_the_groups_language(
        self, runtime: Runtime, clock: FixedClock
    ) -> None:
        family = requesting_family(runtime, ["laredo"])
        set_language(
            uow=runtime.uow(), account_id=family, language="ht", languages=available_languages()
        )
        clock.set(AFTER_CLOSE)
        draw(runtime)
        clock.advance(dt.timedelta(hours=23))
        assert expire_offers(uow=runtime.uow(), clock=clock) == 1
        notifier = EveryChannel()
        deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=clock,
            zones=ZONES,
            recipients=runtime.recipients,
        )
        subjects = {note["kind"]: note["subject"] for note in notifier.sent}
        creole = i18n.gettext("ht", "puerta: your offer has ended")
        assert creole != "puerta: your offer has ended"
        assert subjects["offer_expired"] == creole


class TestSmtpRoundTrip:
    def test_delivers_the_spanish_text_to_a_real_smtp_server(
        self, runtime: Runtime, smtp_server: tuple[int, Inbox]
    ) -> None:
        port, inbox = smtp_server
        account_id, username = account(runtime, language="es")
        note_id = notify(runtime, account_id, language="es")
        notifier = SmtpNotifier(host="127.0.0.1", port=port, sender="puerta@example.org")
        report = deliver_pending(
            uow=runtime.uow(),
            notifier=notifier,
            clock=runtime.clock,
            zones=ZONES,
            gettext=spanish_gettext,
            recipients=runtime.recipients,
        )
        assert report == DeliveryReport(sent=1)
        [(sender, recipients, message)] = inbox.received
        assert (sender, recipients) == ("puerta@example.org", [username])
        assert message["To"] == username
        assert message["Subject"] == "puerta: su grupo fue seleccionado"
        assert message.get_content().strip() == (
            "Su grupo fue seleccionado para una cita en San Ysidro el lunes, 16 de septiembre "
            "de 2024. Confirme antes de martes, 3 de septiembre, 11:00 (hora de Chicago; 09:00 "
            "en Tijuana) desde dentro del área elegible, o los lugares pasan a otras personas."
        )
        assert row(runtime, note_id).status == "sent"


class TestNotifierFrom:
    def test_builds_the_smtp_notifier_from_the_settings(self) -> None:
        settings = Settings(
            notifier="smtp",
            smtp_host="mail.example.org",
            smtp_port=587,
            smtp_sender="puerta@example.org",
            smtp_username="puerta",
            smtp_password="secret",
            smtp_starttls=True,
        )
        notifier = notifier_from(settings)
        assert notifier == SmtpNotifier(
            "mail.example.org", 587, "puerta@example.org", "puerta", "secret", True
        )
        assert "secret" not in repr(notifier)

    def test_defaults_to_the_log_notifier(self) -> None:
        assert isinstance(notifier_from(Settings()), LogNotifier)


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    """Binds port 0 and learns the port the system chose before aiosmtpd connects to it."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    controller = _EphemeralController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def _closed_port() -> int:
    """A local port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
