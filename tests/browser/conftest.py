"""Fixtures of the browser tests: one Chromium per test process (Debian's, never a download),
axe-core from node_modules, a live server per test and a populated one per language.

Without /usr/bin/chromium (or node_modules/axe-core for the accessibility tests) these tests
are skipped, saying why; with PUERTA_REQUIRE_BROWSER=1 (CI) they fail instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.browser.helpers import AXE, CHROMIUM, REQUIRED, TIMEOUT_MS, LiveServer, Tabs
from tests.browser.world import World, build_world

expect.set_options(timeout=TIMEOUT_MS)


def _missing(reason: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"{reason} (PUERTA_REQUIRE_BROWSER is set, so this is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _missing(
            f"Chromium not found at {CHROMIUM}; `apt-get install chromium` to run the browser tests"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        _missing(
            f"axe-core not found at {AXE}; `npm ci` (make test runs it when npm is "
            "installed) to run the accessibility tests"
        )
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def tabs(browser: Browser) -> Iterator[Tabs]:
    opened = Tabs(browser)
    yield opened
    left = opened.close()
    if left:
        pytest.fail("pages reported errors after the test's last check:\n  " + "\n  ".join(left))


@pytest.fixture
def live(browser: Browser, tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh app and database for a test that moves the clock."""
    server = LiveServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def world(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], World]]:
    """``world(lang)``: the populated server of that language, built on first use."""
    built: dict[str, World] = {}

    def get(lang: str) -> World:
        if lang not in built:
            built[lang] = build_world(tmp_path_factory.mktemp(f"world-{lang}"), browser, lang)
        return built[lang]

    yield get
    for one in built.values():
        one.close()
