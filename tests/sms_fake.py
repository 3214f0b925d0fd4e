"""A local fake of a Twilio-compatible Messages API, started by the SMS tests.

It listens on 127.0.0.1 (a port the system picks), checks HTTP Basic auth and the form fields
as Twilio does, keeps every message it accepts, and can be told to answer the next requests
with a 500, a 429 (with Retry-After), a 400 (Twilio's invalid-number error, which quotes the
number, as Twilio's does) or to hang past the client's timeout.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-auth-token-5b1e"
SENDER = "+15005550006"
HANG_SECONDS = 3.0


@dataclass(frozen=True)
class Received:
    """One message the fake accepted, as its form fields arrived."""

    to: str
    body: str
    form: dict[str, str]


class FakeTwilio:
    def __init__(self, *, certificate: tuple[Path, Path] | None = None) -> None:
        self.messages: list[Received] = []
        self.requests = 0
        self._answers: deque[str] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True  # a hanging answer must not hold the tests up
        self.scheme = "http"
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, *answers: str) -> None:
        """Answer the next requests with these, in order: "500", "429", "400" or "hang"."""
        self._answers.extend(answers)

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_answer(self) -> str | None:
        with self._lock:
            self.requests += 1
            return self._answers.popleft() if self._answers else None


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    more = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more, "status": status}


# The answers the fake can be told to give, as (status, Twilio's error JSON, headers).
def _failure(answer: str, to: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    if answer == "500":
        return 500, _error(500, 20500, "Internal Server Error"), {}
    if answer == "429":
        return 429, _error(429, 20429, "Too Many Requests"), {"Retry-After": "120"}
    # Twilio's own message quotes the number: puerta must not store or log it.
    return 400, _error(400, 21211, f"The 'To' number {to} is not a valid phone number."), {}


def _refusal(path: str, headers: Any, form: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
    """What Twilio answers a request it will not take, or None."""
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
        return 404, _error(404, 20404, "The requested resource was not found")
    if headers.get("Authorization") != f"Basic {credentials}":
        return 401, _error(401, 20003, "Authenticate")
    if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return 400, _error(400, 21601, "Not a form")
    if not (form.get("To") and form.get("Body")) or not (
        form.get("From") or form.get("MessagingServiceSid")
    ):
        return 400, _error(400, 21604, "A 'To', 'From' and 'Body' are required")
    return None


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _answer(self, status: int, payload: dict[str, Any], **headers: str) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            fields = urllib.parse.parse_qs(self.rfile.read(length).decode())
            form = {name: values[0] for name, values in fields.items()}
            refusal = _refusal(self.path, self.headers, form)
            if refusal is not None:
                return self._answer(*refusal)
            answer = fake._next_answer()
            if answer == "hang":
                time.sleep(HANG_SECONDS)
            elif answer is not None:
                status, payload, headers = _failure(answer, form["To"])
                return self._answer(status, payload, **headers)
            fake.messages.append(Received(to=form["To"], body=form["Body"], form=form))
            sid = f"SM{len(fake.messages):032x}"
            self._answer(201, {"sid": sid, "status": "queued", "to": form["To"]})

    return Handler
