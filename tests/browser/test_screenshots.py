"""Pictures of the main pages on a 360×740 phone, in Spanish, Haitian Creole and Arabic, written to
docs/screenshots/<lang>-<page>.png (only when they changed) for the documentation and review."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.helpers import SERVICE_DATE, Tabs
from tests.browser.world import World, langs

pytestmark = pytest.mark.browser

SHOTS = [
    ("home", None, "/"),
    ("register", None, "/register"),
    ("group", "ready", "/group"),
    ("request", "ready", "/request"),
    ("status", "offered", "/status"),
    ("appointment", "confirmed", "/appointment"),
    ("manifest", "officer", f"/officer?date={SERVICE_DATE}"),
]


class TestScreenshots:
    @pytest.mark.parametrize("lang", langs("es", "ht", "ar"))
    def test_the_main_pages_are_photographed_on_a_phone(
        self, tabs: Tabs, world: Callable[[str], World], lang: str
    ) -> None:
        here = world(lang)
        for name, who, path in SHOTS:
            tab = here.tab(tabs, who)
            tab.go(path)
            assert tab.lang_and_dir() == (lang, "rtl" if lang == "ar" else "ltr")
            tab.screenshot(f"{lang}-{name}")
