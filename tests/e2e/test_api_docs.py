"""The API documentation at /api/docs comes from puerta itself: the page, Swagger UI's files
and its starter script are all same-origin, under a policy with no inline script, and every
other page keeps the policy it had."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER, OPEN_INSTANT

# The policy of every page before the API docs had one of their own: it must not change.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
YEAR = "public, max-age=31536000, immutable"


class Resources(HTMLParser):
    """The addresses a page loads (scripts, stylesheets, icons), with their integrity, and
    the number of inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: dict[str, str | None] = {}
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        address = values.get("src") if tag == "script" else None
        if tag == "link" and values.get("rel") in ("stylesheet", "icon"):
            address = values.get("href")
        if address:
            self.loaded[address] = values.get("integrity")
        elif tag == "script":
            self.inline_scripts += 1


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'puerta.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app(Settings(env="test", database_url=url), clock=FixedClock(OPEN_INSTANT),
                     hasher=FAST_HASHER, rng=random.Random(7))  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.runtime.engine.dispose()


def resources(client: TestClient) -> Resources:
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = Resources()
    parser.feed(page.text)
    return parser


def sri(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode("ascii")


class TestApiDocs:
    def test_the_docs_page_loads_only_same_origin_files_and_no_inline_script(
        self, client: TestClient
    ) -> None:
        page = resources(client)
        assert page.inline_scripts == 0
        assert len(page.loaded) == 4, page.loaded  # Swagger UI's js and css, starter, icon
        for address in page.loaded:
            assert address.startswith("/") and not address.startswith("//"), address
        assert "cdn" not in client.get("/api/docs").text

    def test_each_file_the_docs_page_loads_answers_with_its_type_and_is_cached_a_year(
        self, client: TestClient
    ) -> None:
        for address, integrity in resources(client).loaded.items():
            answer = client.get(address)
            assert answer.status_code == 200, address
            suffix = Path(address.split("?", 1)[0]).suffix
            assert answer.headers["content-type"].startswith(CONTENT_TYPES[suffix]), address
            assert answer.headers["cache-control"] == YEAR, address
            assert "?v=" in address, f"{address} has no content hash to bust the cache"
            assert integrity in (None, sri(answer.content)), f"{address}: integrity differs"

    def test_swagger_ui_is_pinned_by_its_integrity(self, client: TestClient) -> None:
        loaded = resources(client).loaded
        pinned = [address for address, integrity in loaded.items() if integrity]
        assert sorted(Path(a.split("?")[0]).name for a in pinned) == [
            "swagger-ui-bundle.js",
            "swagger-ui.css",
        ]

    def test_the_docs_page_allows_no_inline_script_and_no_other_host(
        self, client: TestClient
    ) -> None:
        policy = client.get("/api/docs").headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["default-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in policy and "http" not in policy

    @pytest.mark.parametrize("path", ["/", "/translations", "/login", "/api/v1/ports"])
    def test_every_other_page_keeps_the_policy_it_had(self, client: TestClient, path: str) -> None:
        assert client.get(path).headers["content-security-policy"] == PAGE_POLICY

    def test_the_openapi_description_still_serves(self, client: TestClient) -> None:
        answer = client.get("/api/v1/openapi.json")
        assert answer.status_code == 200
        assert "/api/v1/requests" in answer.json()["paths"]

    def test_the_footer_link_leads_to_the_docs(self, client: TestClient) -> None:
        assert 'href="/api/docs"' in client.get("/").text
        assert client.get("/api/docs").status_code == 200

    @pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
    def test_fastapis_own_docs_pages_are_not_served(self, client: TestClient, path: str) -> None:
        assert client.get(path).status_code == 404
