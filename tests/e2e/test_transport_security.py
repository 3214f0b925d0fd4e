"""In production every answer tells the browser to use HTTPS only (Strict-Transport-Security);
elsewhere (a developer's plain-HTTP server) none does, or the browser would refuse it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from fastapi.testclient import TestClient

from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER, OPEN_INSTANT

HSTS = "max-age=63072000; includeSubDomains"
# A page, a form's answer, a static file, the API (found and not), the docs and their files.
PATHS = ["/", "/login", "/static/puerta.css", "/api/v1/ports", "/api/v1/nothing-here",
         "/api/docs", "/api/docs/assets/swagger-ui.css", "/api/v1/openapi.json"]  # fmt: skip
Env = Literal["development", "test", "production"]


def _client(directory: Path, env: Env) -> Iterator[TestClient]:
    url = f"sqlite:///{directory / 'puerta.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    settings = Settings(env=env, database_url=url, secret_key="s" * 32, jobs_interval_seconds=0)
    app = create_app(settings, clock=FixedClock(OPEN_INSTANT), hasher=FAST_HASHER,
                     rng=random.Random(7))  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.runtime.engine.dispose()


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from _client(tmp_path_factory.mktemp("production"), "production")


@pytest.fixture(scope="module", params=["development", "test"])
def elsewhere(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    yield from _client(tmp_path_factory.mktemp(request.param), request.param)


class TestStrictTransportSecurity:
    @pytest.mark.parametrize("path", PATHS)
    def test_production_answers_tell_browsers_to_use_https_only(
        self, production: TestClient, path: str
    ) -> None:
        answer = production.get(path, follow_redirects=False)
        assert answer.status_code < 500
        assert answer.headers["strict-transport-security"] == HSTS

    def test_a_refused_form_in_production_still_carries_it(self, production: TestClient) -> None:
        answer = production.post("/login", data={"username": "x"}, follow_redirects=False)
        assert answer.status_code == 403
        assert answer.headers["strict-transport-security"] == HSTS

    @pytest.mark.parametrize("path", ["/", "/api/v1/ports", "/static/puerta.css"])
    def test_no_other_environment_sends_it(self, elsewhere: TestClient, path: str) -> None:
        assert "strict-transport-security" not in elsewhere.get(path).headers
