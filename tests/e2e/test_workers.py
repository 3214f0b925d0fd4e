"""Several workers on one database (``puerta serve --workers N``) behave as one site."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from puerta.config import Settings
from puerta.runtime import Runtime
from puerta.web.app import create_app
from puerta.web.pages import person
from puerta.web.pages.session import CSRF_COOKIE, Page
from tests.e2e.pages_helpers import csrf
from tests.factories import PASSWORD, family_account, phone


def _form_from_another_worker(database_url: str) -> tuple[str, str]:
    """In a fresh process, as another worker: the register form's CSRF cookie and token."""
    app = create_app(Settings(env="test", database_url=database_url))
    with TestClient(app) as worker:
        shown = worker.get("/register")
        assert shown.status_code == 200, shown.text
        return worker.cookies[CSRF_COOKIE], csrf(shown.text)


class TestFormsAcrossWorkers:
    def test_a_form_rendered_by_one_worker_is_accepted_by_another(
        self, client: TestClient, settings: Settings
    ) -> None:
        # A process of its own, as a worker of `puerta serve --workers 2` is.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as other:
            seed, token = other.submit(_form_from_another_worker, settings.database_url).result()
        client.cookies.set(CSRF_COOKIE, seed)
        answer = client.post(
            "/register",
            data={"csrf_token": token, "username": phone(), "password": PASSWORD,
                  "language": "es"},
            follow_redirects=False,
        )  # fmt: skip
        assert answer.status_code == 303, answer.text


@pytest.fixture
def transactions(runtime: Runtime) -> Iterator[list[Any]]:
    """Every transaction begun on the runtime's engine while the test runs."""
    begun: list[Any] = []

    def count(connection: Any) -> None:
        begun.append(connection)

    event.listen(runtime.engine, "begin", count)
    yield begun
    event.remove(runtime.engine, "begin", count)


class TestStatusPage:
    def test_everything_it_shows_is_read_in_one_transaction(
        self, runtime: Runtime, transactions: list[Any]
    ) -> None:
        account = family_account(runtime)
        page = cast(Page, SimpleNamespace(runtime=runtime, account_id=account))
        transactions.clear()
        state = person._state(page)
        assert state["group"] is not None and state["window"] is not None
        assert len(transactions) == 1
