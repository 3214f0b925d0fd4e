"""SMS through a gateway with a Twilio-compatible Messages API, and routing by username.

One HTTPS request per message: ``POST {api}/2010-04-01/Accounts/{sid}/Messages.json`` with the
form fields ``To``, ``From`` (or ``MessagingServiceSid``) and ``Body``, HTTP Basic auth as the
account's SID and auth token; ``201`` with the message's ``sid`` is success. Every failure
becomes a DeliveryError whose code holds only numbers and words of ours (``sms_400_21211``,
``sms_timeout``), never the number or the text: the delivery loop stores and logs that code.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Protocol

from puerta.config import Settings
from puerta.notifications.domain import DeliveryError

SMS_TIMEOUT_SECONDS = 10.0
# Enough for any answer of the Messages API; a larger one is not worth reading.
MAX_ANSWER_BYTES = 64 * 1024
# A Messaging Service SID starts so; anything else in PUERTA_SMS_FROM is a sender number.
MESSAGING_SERVICE_PREFIX = "MG"
# Worth another try later: the gateway is busy or broken, or the request took too long.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the Authorization header to wherever it points: refuse them all.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """Built once: loading the system's certificates for every message costs more than it."""
    # TLS verification stays on: the default context checks the certificate and host name.
    return urllib.request.build_opener(
        _NoRedirects, urllib.request.HTTPSHandler(context=ssl.create_default_context())
    )


@dataclass(frozen=True)
class TwilioSms:
    """SMS to phone-number usernames through a Twilio-compatible Messages API."""

    account_sid: str
    auth_token: str = field(repr=False)
    sender: str  # a number in E.164 form, or a Messaging Service SID (MG...)
    api_url: str = "https://api.twilio.com"
    timeout: float = SMS_TIMEOUT_SECONDS

    def reaches(self, username: str) -> bool:
        return username.startswith("+")

    def sends_sms(self, username: str) -> bool:
        return self.reaches(username)

    def send(self, *, to: str, subject: str, body: str, notification_id: int, kind: str) -> None:
        """Send ``body`` (an SMS has no subject) or raise DeliveryError."""
        request = urllib.request.Request(
            self.endpoint(), data=self._form(to, body), method="POST", headers=self._headers()
        )
        try:
            with _opener().open(request, timeout=self.timeout) as response:
                status, answer = response.status, response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as error:
            raise _refusal(error) from None
        except (OSError, http.client.HTTPException) as error:  # URLError and timeouts too
            raise _unreachable(error) from None
        _check_accepted(status, answer)

    def endpoint(self) -> str:
        sid = urllib.parse.quote(self.account_sid, safe="")
        return f"{self.api_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"

    def _form(self, to: str, body: str) -> bytes:
        origin = (
            "MessagingServiceSid" if self.sender.startswith(MESSAGING_SERVICE_PREFIX) else "From"
        )
        return urllib.parse.urlencode({"To": to, origin: self.sender, "Body": body}).encode()

    def _headers(self) -> dict[str, str]:
        credentials = f"{self.account_sid}:{self.auth_token}".encode()
        return {
            "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "puerta",
        }


def _check_accepted(status: int, answer: bytes) -> None:
    payload = _json(answer)
    if status not in (200, 201) or not isinstance(payload.get("sid"), str):
        raise DeliveryError(f"sms_unexpected_{status}")


def _json(answer: bytes) -> dict[str, object]:
    try:
        payload = json.loads(answer)
    except (ValueError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _refusal(error: urllib.error.HTTPError) -> DeliveryError:
    """The gateway answered with an error: Twilio's JSON names it by a number (21211...)."""
    answer = _read(error.fp) if error.fp is not None else b""
    code = _json(answer).get("code")
    # Only an integer is kept: a code is never a place for an address or a text to hide.
    suffix = f"_{code}" if isinstance(code, int) and not isinstance(code, bool) else ""
    name = f"sms_{error.code}{suffix}"
    if error.code >= 500 or error.code in TRANSIENT_STATUSES:
        return DeliveryError(name, retry_after=_retry_after(error.headers))
    # 4xx: this number or this request will never be accepted (or the account is misconfigured);
    # trying again only costs money and the gateway's patience.
    return DeliveryError(name, permanent=True)


def _read(stream: IO[bytes]) -> bytes:
    try:
        return stream.read(MAX_ANSWER_BYTES)
    except (OSError, ValueError):
        return b""


def _retry_after(headers: Message | None) -> dt.timedelta | None:
    value = headers.get("Retry-After", "") if headers is not None else ""
    seconds = value.strip()
    return dt.timedelta(seconds=int(seconds)) if seconds.isdigit() and len(seconds) < 7 else None


def _unreachable(error: BaseException) -> DeliveryError:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, TimeoutError):
        return DeliveryError("sms_timeout")
    if isinstance(reason, ssl.SSLError):
        return DeliveryError("sms_tls")
    return DeliveryError("sms_unreachable")


def sms_from(settings: Settings) -> TwilioSms:
    """The SMS notifier of the PUERTA_SMS_* settings (Settings refuses them incomplete)."""
    return TwilioSms(
        account_sid=settings.sms_account_sid or "",
        auth_token=settings.sms_auth_token or "",
        sender=settings.sms_from or "",
        api_url=settings.sms_api_url,
        timeout=settings.sms_timeout_seconds,
    )


class Channel(Protocol):
    def reaches(self, username: str) -> bool: ...

    def send(
        self, *, to: str, subject: str, body: str, notification_id: int, kind: str
    ) -> None: ...


@dataclass(frozen=True)
class Channels:
    """Phone numbers by SMS, every other username by ``email`` (PUERTA_NOTIFIER=smtp+sms)."""

    email: Channel
    sms: TwilioSms

    def reaches(self, username: str) -> bool:
        return self.sms.reaches(username) or self.email.reaches(username)

    def sends_sms(self, username: str) -> bool:
        return self.sms.reaches(username)

    def send(self, *, to: str, subject: str, body: str, notification_id: int, kind: str) -> None:
        channel: Channel = self.sms if self.sms.reaches(to) else self.email
        channel.send(to=to, subject=subject, body=body, notification_id=notification_id, kind=kind)
