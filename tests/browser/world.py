"""A served puerta with people in every stage of the cycle, in one language, for the tests that
only look at pages (accessibility, zoom, keyboard, screenshots, the language switcher): built
once per language and test process; its clock never moves after the build.

Its clock stands on 3 Sep 2024 at 12:30 Chicago: the draw of the 2 Sep window has run and the
offers are open, and the 3 Sep window takes requests.

A new browser context costs Chromium about a second of CPU, so the world keeps one tab per
kind (JavaScript on or off, CSP bypassed or not) and switches people by switching cookies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from puerta.accounts.domain import Role
from tests.browser.helpers import (
    AFTER_CLOSE,
    FAMILIES,
    NEXT_DAY,
    PHONE,
    PORT,
    LiveServer,
    Tab,
    Tabs,
    open_tab,
)


def in_world(lang: str) -> pytest.MarkDecorator:
    """Runs a test on the worker that holds ``lang``'s world under `pytest -n 2 --dist
    loadgroup` (as `make test` runs), so each world is built once, not once per worker."""
    return pytest.mark.xdist_group(f"world-{lang}")


def langs(*codes: str) -> list[Any]:
    """Parameters for a test that takes ``lang`` and uses ``world(lang)``."""
    return [pytest.param(code, id=code, marks=in_world(code)) for code in codes]


# Who, in the world: a registrant in each stage, an officer of El Paso and an admin.
PEOPLE = ("fresh", "ready", "offered", "confirmed", "appealing")


@dataclass
class World:
    server: LiveServer
    browser: Browser
    lang: str
    usernames: dict[str, str]
    _cookies: dict[str, Any] = field(default_factory=dict)
    _tabs: dict[tuple[bool, bool], Tab] = field(default_factory=dict)

    def tab(
        self,
        tabs: Tabs,
        who: str | None,
        *,
        javascript: bool = True,
        bypass_csp: bool = False,
        viewport: dict[str, int] | None = None,
    ) -> Tab:
        """The world's tab of that kind, in its language, as ``who`` (None: nobody).

        There is one tab per kind: asking for it again, as anyone, hands back the same tab."""
        key = (javascript, bypass_csp)
        if key not in self._tabs:
            self._tabs[key] = open_tab(
                self.browser,
                self.server,
                locale=self.lang,
                javascript=javascript,
                bypass_csp=bypass_csp,
            )
        tab = tabs.borrow(self._tabs[key])
        tab.check()  # what this test did with it before, if anything
        tab.problems.clear()
        tab.reported = 0
        tab.page.set_viewport_size(viewport or PHONE)  # type: ignore[arg-type]
        context = tab.page.context
        context.clear_cookies()
        if who is not None:
            if who in self._cookies:
                context.add_cookies(self._cookies[who])
            else:
                tab.log_in(self.usernames[who])
                self._cookies[who] = context.cookies()
        return tab

    def close(self) -> None:
        for tab in self._tabs.values():
            tab.page.context.close()
        self.server.stop()


def build_world(directory: Path, browser: Browser, lang: str) -> World:
    server = LiveServer(directory)
    api = server.api
    names = {
        "officer": server.add_staff(Role.OFFICER, lang, PORT),
        "admin": server.add_staff(Role.ADMIN, lang),
    }
    for who in PEOPLE:
        names[who] = api.register(lang, prefix=who)
    # Three families request in the 2 Sep window; all three get seats at El Paso.
    for who in ("offered", "confirmed", "appealing"):
        api.set_group(names[who], FAMILIES[lang])
        api.request(names[who])
    server.clock.set(AFTER_CLOSE)
    api.run_draw(names["admin"])
    server.clock.set(NEXT_DAY)
    for who in ("confirmed", "appealing"):
        api.confirm(names[who])
    # An admin cancels one appointment with a reason, which opens an appeal.
    appointment = api.appointment(names["appealing"])
    api.cancel(names["admin"], appointment["id"], "Documento ilegible / test reason")
    api.set_group(names["ready"], FAMILIES[lang])
    return World(server=server, browser=browser, lang=lang, usernames=names)
