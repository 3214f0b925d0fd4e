"""axe-core (WCAG 2.0, 2.1 and 2.2 A and AA rules) finds nothing on any page of docs/pages.md,
in a left-to-right language (Spanish) and a right-to-left one (Arabic), as each kind of person
sees it: nobody, a registrant at each stage of the cycle, an officer and an admin."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.browser.helpers import PASSWORD, PORT, SERVICE_DATE, WINDOW, Tabs, axe_violations
from tests.browser.world import World, in_world, langs

pytestmark = pytest.mark.browser

# Each kind of person and the pages they see; a query shows a page with results in it.
PAGES: dict[str, list[str]] = {
    "nobody": ["/", "/translations", "/register", "/login"],
    "fresh": ["/status", "/group", "/request"],  # registered, no family yet
    "ready": ["/status", "/group", "/request"],  # a family, no request yet
    "offered": ["/status", "/appointment"],  # selected by the draw, not confirmed
    "confirmed": ["/status", "/appointment", "/appointment/cancel"],
    "appealing": ["/status", "/appointment"],  # cancelled by an admin, appeal open
    "officer": ["/officer", f"/officer?date={SERVICE_DATE}"],
    "admin": [
        "/admin",
        f"/admin/capacity?date={SERVICE_DATE}",
        # The draws, users and geofence pages with a result hold their bare form too.
        "/admin/geofence?lat=31.69&lon=-106.42&date=2024-09-03",
        f"/admin/draws?window={WINDOW}",
        "/admin/users?username=USERNAME",
        "/admin/appeals",
        f"/officer?port={PORT}&date={SERVICE_DATE}",
    ],
}


def report(lang: str, found: dict[str, list[str]]) -> str:
    lines = [f"axe-core found violations in {lang}:"]
    for where, violations in found.items():
        lines.append(f"  {where}:")
        lines.extend(f"    {violation}" for violation in violations)
    return "\n".join(lines)


class TestAxe:
    @in_world("es")
    def test_axe_itself_finds_a_known_violation(
        self, axe_source: str, tabs: Tabs, world: Callable[[str], World]
    ) -> None:
        """Guards the harness: a check that could never fail would prove nothing."""
        tab = world("es").tab(tabs, None, bypass_csp=True)
        tab.go("/")
        tab.page.evaluate(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=bad>')"
        )
        violations = axe_violations(tab, axe_source)
        assert any(v.startswith("label ") and "#bad" in v for v in violations), violations

    @pytest.mark.parametrize("lang", langs("es", "ar"))
    @pytest.mark.parametrize("who", list(PAGES))
    def test_every_page_a_person_sees_has_no_accessibility_violations(
        self, axe_source: str, tabs: Tabs, world: Callable[[str], World], lang: str, who: str
    ) -> None:
        here = world(lang)
        tab = here.tab(tabs, None if who == "nobody" else who, bypass_csp=True)
        found = {}
        for path in PAGES[who]:
            path = path.replace("USERNAME", here.usernames["ready"])
            tab.go(path)
            violations = axe_violations(tab, axe_source)
            if violations:
                found[f"{path} as {who}"] = violations
        assert not found, report(lang, found)
        tab.check()

    @pytest.mark.parametrize("lang", langs("es", "ar"))
    def test_a_form_showing_an_error_has_no_accessibility_violations(
        self, axe_source: str, tabs: Tabs, world: Callable[[str], World], lang: str
    ) -> None:
        here = world(lang)
        tab = here.tab(tabs, None, bypass_csp=True)
        tab.go("/register")
        tab.set("username", here.usernames["fresh"])  # taken
        tab.set("password", PASSWORD)
        tab.submit("#register-submit", status=range(400, 500))
        assert tab.page.locator("#form-error").count() == 1, "no #form-error for a taken name"
        violations = axe_violations(tab, axe_source)
        assert not violations, report(lang, {"/register with an error": violations})
