"""Rate limits and the login lockout over HTTP: 429 with Retry-After and a translated message
on every limited route and page, one answer for an unknown user and a wrong password, and the
ways back from a lockout (time, an admin, the person's caseworker)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher, extract_parameters
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from typer.testing import CliRunner
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import puerta.logs
from puerta import i18n
from puerta.accounts.domain import Role
from puerta.accounts.lockout import UnlockNotAllowed
from puerta.audit.domain import EventKind
from puerta.audit.tables import AuditEvent
from puerta.cli import app
from puerta.clock import FixedClock
from puerta.config import Settings, get_settings
from puerta.ratelimits.limiter import LoginLocked, RateLimited
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER
from tests.e2e.pages_helpers import (
    csrf,
    family,
    log_in,
    register,
    request_form,
    staff_login,
    submit,
)
from tests.e2e.test_api_accounts import assert_problem
from tests.factories import PASSWORD, TIJUANA, login, phone, registrant_with_group, staff
from tests.incidents_helpers import body as incident_body
from tests.incidents_helpers import key_file

V1 = "/api/v1"
LOCKED = LoginLocked.message


class SpyHasher(PasswordHasher):
    """The tests' fast hasher, noting the parameters of every hash it verifies."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[Any] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified.append(extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        return super().verify(hash, password)


@pytest.fixture
def limited(
    settings: Settings, clock: FixedClock, tmp_path: Path
) -> Iterator[Callable[..., TestClient]]:
    """``limited(**settings)``: a client of an app with these limits and no test scale."""
    apps: list[Any] = []

    def build(hasher: PasswordHasher = FAST_HASHER, **rates: Any) -> TestClient:
        config = settings.model_copy(
            update={"rate_limit_address_scale": 1, "rate_limit_account_scale": 1,
                    "incidents_key_file": key_file(tmp_path), **rates}
        )  # fmt: skip
        app = create_app(config, clock=clock, hasher=hasher, rng=random.Random(7))
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        apps.append(client)
        return client

    yield build
    for client in apps:
        client.__exit__(None, None, None)
        client.app.state.runtime.engine.dispose()  # type: ignore[attr-defined]


def assert_limited(response: Response, seconds: int = 60, msgid: str = RateLimited.message) -> None:
    """A 429 with Retry-After, its message in Spanish (the default language)."""
    assert response.status_code == 429, response.text
    assert response.headers["Retry-After"] == str(seconds)
    message = i18n.gettext("es", msgid).format(seconds=seconds)
    assert message != msgid.format(seconds=seconds)  # translated
    if "json" in response.headers["content-type"]:
        assert_problem(response, 429, "rate_limited")
        assert response.json()["detail"] == message
    else:
        assert message in response.text


def token_form(username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"username": username, "password": password}


class TestEachLimitedRoute:
    def test_login_per_address(self, limited: Callable[..., TestClient]) -> None:
        client = limited(rate_login_per_address="2/minute")
        for _ in range(2):
            assert client.post(f"{V1}/auth/token", data=token_form(phone())).status_code == 401
        assert_limited(client.post(f"{V1}/auth/token", data=token_form(phone())))
        # The login page counts against the same address.
        assert_limited(log_in(client, phone()))

    def test_account_creation_per_address(self, limited: Callable[..., TestClient]) -> None:
        client = limited(rate_accounts_per_address="2/hour")
        new = {"password": PASSWORD, "language": "es"}
        for _ in range(2):
            answer = client.post(f"{V1}/accounts", json=new | {"username": phone()})
            assert answer.status_code == 201
        assert_limited(client.post(f"{V1}/accounts", json=new | {"username": phone()}), 3600)
        page = submit(client, "/register", "/register", new | {"username": phone()})
        assert_limited(page, 3600)

    def test_requests_per_account(self, limited: Callable[..., TestClient]) -> None:
        client = limited(rate_requests_per_account="2/minute")
        group = registrant_with_group(client)
        body = {"ports": ["san-ysidro"], "location": TIJUANA}

        def send(key: str) -> Response:
            return client.post(
                f"{V1}/requests", json=body, headers=group | {"Idempotency-Key": key}
            )

        assert send("k1").status_code == 201
        assert send("k1").status_code == 201  # a retry: counted too
        assert_limited(send("k2"))
        # Another family from the same address is not held back by this one.
        assert client.post(
            f"{V1}/requests", json=body,
            headers=registrant_with_group(client) | {"Idempotency-Key": "k3"},
        ).status_code == 201  # fmt: skip

    def test_requests_per_address_and_the_request_page(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(rate_requests_per_address="1/minute")
        answer = client.post(
            f"{V1}/requests", json={"ports": ["san-ysidro"], "location": TIJUANA},
            headers=registrant_with_group(client) | {"Idempotency-Key": "k1"},
        )  # fmt: skip
        assert answer.status_code == 201
        pages = TestClient(client.app, raise_server_exceptions=False)
        register(pages)
        submit(pages, "/group", "/group", family())
        shown = request_form(pages, ["san-ysidro"], str(TIJUANA["lat"]), str(TIJUANA["lon"]))
        assert_limited(shown)
        assert 'id="form-error"' in shown.text

    def test_proofs_per_account_on_the_api_and_the_page(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(rate_proofs_per_account="3/hour")
        pages = TestClient(client.app, raise_server_exceptions=False)
        username = register(pages)
        submit(pages, "/group", "/group", family())
        own = login(client, username)
        assert client.get(f"{V1}/me/proofs", headers=own).status_code == 200
        assert client.get(f"{V1}/me/proofs/registration.svg", headers=own).status_code == 200
        assert pages.get("/proof").status_code == 200
        shown = pages.get("/proof")
        assert_limited(shown, 3600)
        assert 'id="form-error"' in shown.text
        assert_limited(client.get(f"{V1}/me/proofs/registration.png", headers=own), 3600)
        other = registrant_with_group(client)
        assert client.get(f"{V1}/me/proofs", headers=other).status_code == 200

    def test_incident_reports_per_address_on_the_api_and_the_pages(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(rate_incidents_per_address="3/hour")
        receipt = client.post(f"{V1}/incidents", json=incident_body()).json()["receipt"]
        assert client.post(f"{V1}/incidents/lookup", json={"receipt": receipt}).is_success
        follow = {"receipt": receipt, "text": "They came back."}
        assert client.post(f"{V1}/incidents/follow-up", json=follow).is_success
        assert_limited(client.post(f"{V1}/incidents/lookup", json={"receipt": receipt}), 3600)
        assert_limited(client.post(f"{V1}/incidents", json=incident_body()), 3600)
        page = submit(client, "/report/follow-up", "/report/follow-up", {"receipt": receipt})
        assert_limited(page, 3600)
        report = submit(client, "/report", "/report", report_form())
        assert_limited(report, 3600)
        # Choosing the state (the form comes back with its municipalities) is not counted.
        chosen = submit(client, "/report", "/report", report_form() | {"action": "state"})
        assert chosen.status_code == 200

    def test_the_online_check(self, limited: Callable[..., TestClient]) -> None:
        client = limited(rate_verify_per_address="1/minute")
        body = {"confirmation_number": "ZZZZ-ZZZZ", "birth_date": "1990-03-14"}
        assert client.post(f"{V1}/verify", json=body).status_code == 404
        assert_limited(client.post(f"{V1}/verify", json=body))

    def test_each_address_is_counted_apart_behind_a_trusted_proxy(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(rate_verify_per_address="1/minute")
        proxied = ProxyHeadersMiddleware(client.app, trusted_hosts="127.0.0.1")
        body = {"confirmation_number": "ZZZZ-ZZZZ", "birth_date": "1990-03-14"}

        def check(peer: str, forwarded: str) -> int:
            behind = TestClient(proxied, raise_server_exceptions=False, client=(peer, 4000))
            answer = behind.post(f"{V1}/verify", json=body, headers={"X-Forwarded-For": forwarded})
            return answer.status_code

        assert check("127.0.0.1", "203.0.113.1") == 404
        assert check("127.0.0.1", "203.0.113.2") == 404  # another person behind the proxy
        assert check("127.0.0.1", "203.0.113.1") == 429
        # From a peer that is not the proxy, X-Forwarded-For is not believed.
        assert check("198.51.100.7", "203.0.113.3") == 404
        assert check("198.51.100.7", "203.0.113.4") == 429


def report_form() -> dict[str, str]:
    return {
        "incident_type": "extortion", "perpetrator": "police", "state": "MX-CHP",
        "municipality": "07089", "month": "4", "year": "2024", "day": "12",
        "text": "They took us off the bus.", "contact": "", "action": "send",
    }  # fmt: skip


class TestUnknownUserAndWrongPassword:
    def test_get_the_same_answer_at_the_same_cost(self, limited: Callable[..., TestClient]) -> None:
        spy = SpyHasher()
        client = limited(hasher=spy)
        username = phone()
        register(client, username=username)
        spy.verified.clear()
        wrong = client.post(f"{V1}/auth/token", data=token_form(username, "not the password"))
        unknown = client.post(f"{V1}/auth/token", data=token_form(phone(), "not the password"))
        assert_problem(wrong, 401, "bad_credentials")
        assert wrong.json() == unknown.json()
        assert wrong.headers == unknown.headers
        # One Argon2 verification each, against a hash of the same parameters.
        own = extract_parameters(spy.hash("x"))
        assert spy.verified == [own, own]

    def test_lock_alike_so_a_lockout_tells_nothing_either(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(lockout_failures=2)
        username = phone()
        register(client, username=username)
        answers = []
        for name in (username, phone()):
            for _ in range(2):
                client.post(f"{V1}/auth/token", data=token_form(name, "not the password"))
            answers.append(client.post(f"{V1}/auth/token", data=token_form(name)))
        assert answers[0].status_code == answers[1].status_code == 429
        assert answers[0].json() == answers[1].json()
        assert answers[0].headers["Retry-After"] == answers[1].headers["Retry-After"] == "900"


def fail(client: TestClient, username: str, times: int) -> None:
    for _ in range(times):
        answer = client.post(f"{V1}/auth/token", data=token_form(username, "not the password"))
        assert answer.status_code == 401, answer.text


class TestLockout:
    def test_repeated_failures_lock_the_account_even_for_the_right_password(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(lockout_failures=3, lockout_window_minutes=10, lockout_minutes=20)
        username = phone()
        register(client, username=username)
        fail(client, username, 3)
        locked = client.post(f"{V1}/auth/token", data=token_form(username))
        assert_limited(locked, 1200, LOCKED)
        assert_limited(log_in(client, username), 1200, LOCKED)

    def test_a_successful_login_forgets_the_failures(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(lockout_failures=3)
        username = phone()
        register(client, username=username)
        fail(client, username, 2)
        login(client, username)
        fail(client, username, 2)
        login(client, username)

    def test_time_lifts_it(self, limited: Callable[..., TestClient], clock: FixedClock) -> None:
        client = limited(lockout_failures=2, lockout_minutes=15)
        username = phone()
        register(client, username=username)
        fail(client, username, 2)
        clock.advance(dt.timedelta(minutes=14, seconds=59))
        assert_limited(client.post(f"{V1}/auth/token", data=token_form(username)), 1, LOCKED)
        clock.advance(dt.timedelta(seconds=1))
        login(client, username)

    def test_an_admin_lifts_it_and_the_audit_log_says_who(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(lockout_failures=2)
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        admin = staff(runtime, Role.ADMIN)
        username = phone()
        register(client, username=username)
        me = login(client, username)
        account_id = client.get(f"{V1}/me", headers=me).json()["id"]
        fail(client, username, 2)
        assert client.post(f"{V1}/auth/token", data=token_form(username)).status_code == 429
        assert client.post(f"{V1}/accounts/{account_id}/unlock", headers=admin).status_code == 204
        login(client, username)
        admin_id = client.get(f"{V1}/me", headers=admin).json()["id"]
        with runtime.engine.connect() as conn:
            event = conn.execute(
                select(AuditEvent.actor_id, AuditEvent.subject).where(
                    AuditEvent.kind == EventKind.ACCOUNT_UNLOCKED
                )
            ).one()
        assert tuple(event) == (admin_id, f"account:{account_id}")

    def test_an_admin_lifts_it_on_the_users_page(self, limited: Callable[..., TestClient]) -> None:
        client = limited(lockout_failures=2)
        username = phone()
        register(client, username=username)
        fail(client, username, 2)
        admin = TestClient(client.app, raise_server_exceptions=False)
        staff_login(admin, client.app.state.runtime, Role.ADMIN)  # type: ignore[attr-defined]
        found = admin.get("/admin/users", params={"username": username})
        assert 'action="/admin/users/unlock"' in found.text
        form = {"csrf_token": csrf(found.text), "username": username}
        answer = admin.post("/admin/users/unlock", data=form, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        login(client, username)

    def test_the_persons_caseworker_lifts_it_and_another_caseworker_may_not(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(lockout_failures=2)
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        theirs, other = staff(runtime, Role.CASEWORKER), staff(runtime, Role.CASEWORKER)
        made = client.post(
            f"{V1}/assisted", json={"language": "es", "consent": {"given": True, "how": "spoken"}},
            headers=theirs,
        ).json()  # fmt: skip
        username = phone()
        claim = {"claim_code": made["claim_code"], "username": username, "password": PASSWORD}
        assert client.post(f"{V1}/accounts/claim", json=claim).status_code == 200
        fail(client, username, 2)
        unlock = f"{V1}/accounts/{made['account_id']}/unlock"
        assert_problem(client.post(unlock, headers=other), 403, "unlock_not_allowed")
        assert client.post(f"{V1}/auth/token", data=token_form(username)).status_code == 429
        # Claimed, the account is no longer assigned: its caseworker is the one it last had.
        assert client.post(unlock, headers=theirs).status_code == 204
        login(client, username)

    def test_the_caseworker_lifts_it_on_their_page(
        self, limited: Callable[..., TestClient]
    ) -> None:
        client = limited(lockout_failures=2)
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        pages = TestClient(client.app, raise_server_exceptions=False)
        caseworker = staff_login(pages, runtime, Role.CASEWORKER)
        theirs = login(client, caseworker)
        made = client.post(
            f"{V1}/assisted", json={"language": "es", "consent": {"given": True, "how": "spoken"}},
            headers=theirs,
        ).json()  # fmt: skip
        username = phone()
        claim = {"claim_code": made["claim_code"], "username": username, "password": PASSWORD}
        assert client.post(f"{V1}/accounts/claim", json=claim).status_code == 200
        fail(client, username, 2)
        unknown = submit(pages, "/caseworker", "/caseworker/unlock", {"username": phone()})
        assert unknown.status_code == 403 and UnlockNotAllowed.message in unknown.text
        answer = submit(pages, "/caseworker", "/caseworker/unlock", {"username": username})
        assert answer.status_code == 303, answer.text
        login(client, username)


class TestServe:
    def test_hands_uvicorn_the_trusted_proxies(self, monkeypatch: pytest.MonkeyPatch) -> None:
        seen: dict[str, Any] = {}
        monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
        monkeypatch.setattr(puerta.logs, "configure_logging", lambda: None)
        monkeypatch.setenv("PUERTA_FORWARDED_ALLOW_IPS", "10.0.0.5,10.0.0.6")
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, ["serve", "--workers", "2"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert seen["proxy_headers"] is True
        assert seen["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"
        assert seen["workers"] == 2
