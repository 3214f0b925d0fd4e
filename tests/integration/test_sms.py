"""SMS delivery end to end: the outbox, deliver_pending and a local fake of the Twilio API."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from puerta import i18n
from puerta.accounts.tables import Account
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.notifications.domain import MAX_ATTEMPTS, Status, retry_delay
from puerta.notifications.gateway import Channels, TwilioSms
from puerta.notifications.service import (
    DeliveryReport,
    Notifier,
    deliver_pending,
    enqueue,
    notifier_from,
)
from puerta.notifications.sms import MAX_SEGMENTS, segments
from puerta.notifications.tables import Notification
from puerta.runtime import Runtime
from tests.factories import phone
from tests.integration.test_notifications_service import OFFER, ZONES, FakeNotifier, account
from tests.sms_fake import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio

REASON = "The port of San Ysidro is closed that day for repairs to the pedestrian bridge."


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    yield server
    server.stop()


def gateway(fake: FakeTwilio, **overrides: Any) -> TwilioSms:
    settings: dict[str, Any] = {
        "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER,
        "api_url": fake.url, "timeout": 0.5,
    }  # fmt: skip
    return TwilioSms(**(settings | overrides))


def notify(rt: Runtime, account_id: int, kind: str = "offer_made", **params: object) -> int:
    with rt.uow() as uow:
        note_id = enqueue(
            uow.session, account_id=account_id, kind=kind, language=_language(rt, account_id),
            params=params or OFFER, at=rt.clock.now(),
        )  # fmt: skip
        uow.commit()
    return note_id


def _language(rt: Runtime, account_id: int) -> str:
    with rt.uow() as uow:
        return str(uow.session.scalar(select(Account.language).where(Account.id == account_id)))


def deliver(rt: Runtime, notifier: Notifier) -> DeliveryReport:
    return deliver_pending(
        uow=rt.uow(), notifier=notifier, clock=rt.clock, zones=ZONES, recipients=rt.recipients
    )


def stored(rt: Runtime, note_id: int) -> Notification:
    with rt.uow() as uow:
        note = uow.session.get(Notification, note_id)
        assert note is not None
        uow.session.expunge(note)
        return note


class TestDelivery:
    def test_a_phone_accounts_offer_arrives_by_sms_in_its_language(
        self, runtime: Runtime, fake: FakeTwilio
    ) -> None:
        account_id, number = account(runtime, phone(), language="es")
        note_id = notify(runtime, account_id)
        assert deliver(runtime, gateway(fake)) == DeliveryReport(sent=1)
        [message] = fake.messages
        assert (message.to, message.form["From"]) == (number, SENDER)
        assert message.body == i18n.gettext(
            "es",
            "puerta: your group was chosen: {port}, {service_date}. "
            "Confirm by {expires_at} in the eligible area.",
        ).format(
            port="San Ysidro",
            service_date="16 de septiembre",
            expires_at="3 de septiembre, 09:00 (hora de Tijuana)",
        )
        assert message.body.startswith("puerta: grupo elegido: San Ysidro, 16 de septiembre.")
        assert segments(message.body) <= MAX_SEGMENTS and "MessagingServiceSid" not in message.form
        note = stored(runtime, note_id)
        assert (note.status, note.attempts, note.sent_at, note.next_attempt_at) == (
            "sent", 1, runtime.clock.now(), None,
        )  # fmt: skip

    def test_an_e_mail_account_has_no_channel_by_sms_alone(
        self, runtime: Runtime, fake: FakeTwilio
    ) -> None:
        note_id = notify(runtime, account(runtime)[0])
        assert deliver(runtime, gateway(fake)) == DeliveryReport(no_channel=1)
        assert fake.requests == 0 and stored(runtime, note_id).status == "no_channel"

    def test_smtp_and_sms_together_reach_each_account_by_its_channel(
        self, runtime: Runtime, fake: FakeTwilio
    ) -> None:
        email_id, address = account(runtime)
        phone_id, number = account(runtime, phone())
        notify(runtime, email_id)
        notify(runtime, phone_id)
        email = FakeNotifier()
        assert deliver(runtime, Channels(email=email, sms=gateway(fake))) == DeliveryReport(sent=2)
        assert [sent["to"] for sent in email.sent] == [address]
        assert email.sent[0]["subject"] == "puerta: your group was selected"
        assert [message.to for message in fake.messages] == [number]

    def test_a_messaging_service_sends_in_place_of_a_number(
        self, runtime: Runtime, fake: FakeTwilio
    ) -> None:
        notify(runtime, account(runtime, phone())[0])
        service = "MG" + "f" * 32
        deliver(runtime, gateway(fake, sender=service))
        [message] = fake.messages
        assert message.form["MessagingServiceSid"] == service and "From" not in message.form

    def test_a_long_cancellation_reason_is_cut_to_two_segments(
        self, runtime: Runtime, fake: FakeTwilio
    ) -> None:
        account_id, _ = account(runtime, phone(), language="fr")
        params = {"port": "san-ysidro", "service_date": "2024-09-16", "reason": REASON * 6}
        notify(runtime, account_id, "appointment_cancelled", **params)
        deliver(runtime, gateway(fake))
        [message] = fake.messages
        assert segments(message.body) <= MAX_SEGMENTS
        assert "Motif : The port of San Ysidro" in message.body and message.body.endswith("...")


class TestRetries:
    def test_a_500_is_retried_after_the_backoff_and_not_before(
        self, runtime: Runtime, fake: FakeTwilio, clock: FixedClock
    ) -> None:
        note_id = notify(runtime, account(runtime, phone())[0])
        fake.fail_next("500")
        assert deliver(runtime, gateway(fake)) == DeliveryReport(failed=1)
        note = stored(runtime, note_id)
        assert (note.status, note.attempts, note.last_error) == ("pending", 1, "sms_500_20500")
        assert note.next_attempt_at == clock.now() + dt.timedelta(minutes=1)
        clock.advance(dt.timedelta(seconds=59))
        assert deliver(runtime, gateway(fake)) == DeliveryReport()
        assert fake.requests == 1
        clock.advance(dt.timedelta(seconds=1))
        assert deliver(runtime, gateway(fake)) == DeliveryReport(sent=1)
        assert len(fake.messages) == 1 and stored(runtime, note_id).last_error is None

    def test_a_429_waits_as_long_as_the_gateway_asks(
        self, runtime: Runtime, fake: FakeTwilio, clock: FixedClock
    ) -> None:
        note_id = notify(runtime, account(runtime, phone())[0])
        fake.fail_next("429")
        deliver(runtime, gateway(fake))
        note = stored(runtime, note_id)
        assert (note.status, note.last_error) == ("pending", "sms_429_20429")
        # Retry-After: 120 is longer than the first backoff (a minute).
        assert note.next_attempt_at == clock.now() + dt.timedelta(seconds=120)

    def test_the_wait_grows_until_the_last_attempt_fails(
        self, runtime: Runtime, fake: FakeTwilio, clock: FixedClock
    ) -> None:
        note_id = notify(runtime, account(runtime, phone())[0])
        fake.fail_next(*["500"] * MAX_ATTEMPTS)
        waits = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert deliver(runtime, gateway(fake)) == DeliveryReport(failed=1)
            note = stored(runtime, note_id)
            assert note.attempts == attempt
            if note.next_attempt_at is not None:
                waits.append(note.next_attempt_at - clock.now())
                clock.set(note.next_attempt_at)
        assert waits == [dt.timedelta(minutes=m) for m in (1, 4, 16, 60)]
        assert waits == [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
        assert (note.status, note.next_attempt_at) == ("failed", None)
        clock.advance(dt.timedelta(days=1))
        assert deliver(runtime, gateway(fake)) == DeliveryReport()
        assert fake.requests == MAX_ATTEMPTS

    def test_a_gateway_that_hangs_past_the_timeout_is_retried(
        self, runtime: Runtime, fake: FakeTwilio
    ) -> None:
        note_id = notify(runtime, account(runtime, phone())[0])
        fake.fail_next("hang")
        assert deliver(runtime, gateway(fake, timeout=0.3)) == DeliveryReport(failed=1)
        note = stored(runtime, note_id)
        assert (note.status, note.last_error) == ("pending", "sms_timeout")

    def test_an_unreachable_gateway_is_retried(self, runtime: Runtime) -> None:
        note_id = notify(runtime, account(runtime, phone())[0])
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
        notifier = TwilioSms(ACCOUNT_SID, AUTH_TOKEN, SENDER, api_url=closed, timeout=0.5)
        deliver(runtime, notifier)
        note = stored(runtime, note_id)
        assert (note.status, note.last_error) == ("pending", "sms_unreachable")

    def test_an_invalid_number_fails_at_once_and_is_never_retried(
        self, runtime: Runtime, fake: FakeTwilio, clock: FixedClock
    ) -> None:
        note_id = notify(runtime, account(runtime, phone())[0])
        fake.fail_next("400")
        assert deliver(runtime, gateway(fake)) == DeliveryReport(failed=1)
        note = stored(runtime, note_id)
        assert (note.status, note.attempts, note.last_error, note.next_attempt_at) == (
            "failed", 1, "sms_400_21211", None,
        )  # fmt: skip
        clock.advance(dt.timedelta(hours=2))
        assert deliver(runtime, gateway(fake)) == DeliveryReport() and fake.requests == 1

    def test_wrong_credentials_are_refused_and_not_retried(
        self, runtime: Runtime, fake: FakeTwilio
    ) -> None:
        note_id = notify(runtime, account(runtime, phone())[0])
        deliver(runtime, gateway(fake, auth_token="not-the-token"))
        note = stored(runtime, note_id)
        assert (note.status, note.last_error) == (Status.FAILED, "sms_401_20003")

    def test_tls_certificates_are_verified(self, runtime: Runtime, tmp_path: Path) -> None:
        server = FakeTwilio(certificate=_self_signed(tmp_path)).start()
        try:
            note_id = notify(runtime, account(runtime, phone())[0])
            deliver(runtime, gateway(server))
        finally:
            server.stop()
        assert stored(runtime, note_id).last_error == "sms_tls" and server.messages == []


class TestNothingPersonal:
    def test_logs_and_stored_errors_hold_codes_only(
        self, runtime: Runtime, fake: FakeTwilio, caplog: pytest.LogCaptureFixture
    ) -> None:
        numbers = []
        for reason_kind in ("400", "500", None):
            account_id, number = account(runtime, phone())
            numbers.append(number)
            notify(runtime, account_id, "appointment_cancelled", port="nogales",
                   service_date="2024-09-16", reason=REASON)  # fmt: skip
            if reason_kind:
                fake.fail_next(reason_kind)
        with caplog.at_level(logging.DEBUG):
            assert deliver(runtime, gateway(fake)) == DeliveryReport(sent=1, failed=2)
        logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
        with runtime.uow() as uow:
            errors = " ".join(filter(None, uow.session.scalars(select(Notification.last_error))))
        for secret in [*numbers, AUTH_TOKEN, "repairs", "San Ysidro is closed"]:
            assert secret not in logged and secret not in errors
        assert "sms_400_21211" in logged and "sms_500_20500" in logged
        [message] = fake.messages
        assert message.to not in message.body

    def test_the_auth_token_is_not_in_the_notifiers_or_the_settings_repr(self) -> None:
        settings = Settings(
            notifier="smtp+sms", sms_account_sid=ACCOUNT_SID, sms_auth_token=AUTH_TOKEN,
            sms_from=SENDER, sms_api_url="https://sms.example.org", sms_timeout_seconds=4,
        )  # fmt: skip
        notifier = notifier_from(settings)
        assert isinstance(notifier, Channels)
        assert notifier.sms == TwilioSms(
            ACCOUNT_SID, AUTH_TOKEN, SENDER, api_url="https://sms.example.org", timeout=4
        )
        assert notifier.sms.endpoint() == (
            f"https://sms.example.org/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        )
        assert AUTH_TOKEN not in repr(notifier) and AUTH_TOKEN not in repr(settings)


class TestSettings:
    def test_sms_alone_builds_the_gateway(self) -> None:
        settings = Settings(
            notifier="sms", sms_account_sid=ACCOUNT_SID, sms_auth_token=AUTH_TOKEN,
            sms_from=SENDER,
        )  # fmt: skip
        assert notifier_from(settings) == TwilioSms(ACCOUNT_SID, AUTH_TOKEN, SENDER)

    @pytest.mark.parametrize("notifier", ["sms", "smtp+sms"])
    @pytest.mark.parametrize("env", ["production", "development"])
    def test_an_sms_notifier_without_its_settings_is_refused(self, notifier: str, env: str) -> None:
        with pytest.raises(ValueError, match="PUERTA_SMS_AUTH_TOKEN"):
            Settings(
                env=env, notifier=notifier, sms_account_sid=ACCOUNT_SID, sms_from=SENDER,
                secret_key="k" * 32,
            )  # fmt: skip

    def test_production_refuses_a_gateway_without_tls(self) -> None:
        with pytest.raises(ValueError, match="https"):
            Settings(
                env="production", notifier="sms", sms_account_sid=ACCOUNT_SID,
                sms_auth_token=AUTH_TOKEN, sms_from=SENDER, sms_api_url="http://sms.example.org",
                secret_key="k" * 32,
            )  # fmt: skip


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no authority signed: a client must refuse it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
