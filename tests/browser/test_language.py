"""The language switcher on every page, with and without JavaScript: choosing a language and
pressing its button turns the page into that language, and the choice outlives the page.

It does not send itself when an option is picked (puerta.js explains why: keyboard users move
through the options with the arrows), so the button must be there in both cases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import Tabs
from tests.browser.world import World, in_world

pytestmark = pytest.mark.browser

SWITCHER = "#language-form select[name=language]"


class TestLanguageSwitcher:
    @in_world("es")
    @pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
    def test_choosing_arabic_turns_the_page_right_to_left_and_the_choice_stays(
        self, tabs: Tabs, world: Callable[[str], World], javascript: bool
    ) -> None:
        tab = world("es").tab(tabs, None, javascript=javascript)
        tab.go("/translations")
        assert tab.lang_and_dir() == ("es", "ltr")
        tab.page.locator(SWITCHER).select_option("ar")
        expect(tab.page.locator("#language-submit")).to_be_visible()
        tab.submit("#language-submit")
        assert tab.path == "/translations", f"the switcher led to {tab.page.url}"
        assert tab.lang_and_dir() == ("ar", "rtl")
        tab.go("/")
        assert tab.lang_and_dir() == ("ar", "rtl")
