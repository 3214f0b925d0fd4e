"""A person walks the whole cycle in the browser, in Spanish, Haitian Creole and Arabic: register,
declare the family, request from where they are, see the offer after the draw, confirm it, and
be checked in at the port by an officer. Also: giving an appointment up, and doing it all with
JavaScript off (typing the location by hand)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from puerta.accounts.domain import Role
from tests.browser.helpers import (
    AFTER_CLOSE,
    FAMILIES,
    JUAREZ,
    NEXT_DAY,
    PASSWORD,
    PORT,
    SERVICE_DATE,
    SERVICE_MORNING,
    WINDOW,
    LiveServer,
    Tab,
    Tabs,
    bare,
    unique_phone,
)

pytestmark = pytest.mark.browser


def expect_language(tab: Tab, lang: str) -> None:
    assert tab.lang_and_dir() == (lang, "rtl" if lang == "ar" else "ltr")


def register(tab: Tab, lang: str) -> str:
    username = unique_phone()
    tab.go("/register")
    tab.set("username", username)
    tab.set("password", PASSWORD)
    tab.set("language", lang)
    tab.submit("#register-submit")
    assert tab.path == "/group", f"registering led to {tab.page.url}, not /group"
    return username


def fill_member(tab: Tab, index: int, member: dict[str, Any]) -> None:
    for key in ("given_names", "family_names", "birth_date", "nationality"):
        tab.set(f"members-{index}-{key}", member[key])
    tab.set(f"members-{index}-languages", member["languages"])


def declare_family(tab: Tab, family: list[dict[str, Any]]) -> None:
    """Fill the first member, add a row with #add-member, fill it, save with #group-submit."""
    tab.go("/group")
    fill_member(tab, 0, family[0])
    tab.submit("#add-member")
    expect(tab.page.locator('[name="members-0-given_names"]')).to_have_value(
        family[0]["given_names"]
    )
    fill_member(tab, 1, family[1])
    tab.submit("#group-submit")


def choose_port(tab: Tab) -> None:
    tab.page.locator(f'main [name="ports"][value="{PORT}"]').check()


def type_location(tab: Tab) -> None:
    """Without JavaScript: open "type my location by hand" if it is folded, and type it."""
    lat = tab.page.locator('main [name="lat"]')
    if not lat.is_visible():
        tab.page.locator("main details:has([name=lat]) > summary").click()
    lat.fill(str(JUAREZ["latitude"]))
    tab.page.locator('main [name="lon"]').fill(str(JUAREZ["longitude"]))


def request_appointment(tab: Tab, *, javascript: bool = True) -> None:
    tab.go("/request")
    choose_port(tab)
    if javascript:
        tab.locate()
    else:
        type_location(tab)
    tab.submit("#request-submit")


def shown_without_javascript(tab: Tab) -> list[str]:
    """The buttons that only work with JavaScript, if the page shows them without it."""
    return [s for s in ("#locate", "#listen") if tab.page.locator(s).is_visible()]


def run_the_draw_as_admin(tabs: Tabs, live: LiveServer, lang: str) -> Tab:
    """An admin, in another browser, runs the closed window's draw on /admin/draws, then
    logs out; returns that browser's tab for the officer."""
    admin = live.add_staff(Role.ADMIN, lang)
    tab = tabs.open(live, locale=lang)
    tab.log_in(admin)
    tab.go(f"/admin/draws?window={WINDOW}")
    window = tab.page.locator('main form:has(#draw-submit) [name="window"]')
    if window.evaluate("e => e.type") != "hidden":
        tab.set("window", WINDOW)
    tab.submit("#draw-submit")
    draw = live.api.draw(WINDOW)
    assert draw is not None and draw["entries"] == 1, draw
    tab.submit("#logout-submit")
    return tab


def confirm_offer(
    tab: Tab, username: str, live: LiveServer, lang: str, *, javascript: bool = True
) -> str:
    """The person comes back the next day, logs in, sees the offer and confirms it.

    The tab's browser asks for English: once logged in, the account's language wins."""
    tab.log_in(username)
    expect_language(tab, lang)
    tab.go("/appointment")
    expect(tab.page.locator("#confirm-submit")).to_be_visible()
    if javascript:
        tab.locate()
    else:
        type_location(tab)
    tab.submit("#confirm-submit")
    number = tab.page.locator("#confirmation-number")
    expect(number).to_be_visible()
    appointment = live.api.appointment(username)
    assert appointment["status"] == "confirmed", appointment
    assert bare(number.inner_text()) == bare(appointment["confirmation_number"])
    return str(appointment["confirmation_number"])


def check_in(tab: Tab, live: LiveServer, number: str, birth_date: str) -> None:
    """On the service date an officer of the port checks the group in from the manifest."""
    officer = live.add_staff(Role.OFFICER, "es", PORT)
    live.clock.set(SERVICE_MORNING)
    tab.log_in(officer)
    tab.go(f"/officer?date={SERVICE_DATE}")
    expect(tab.page.locator("#manifest")).to_be_visible()
    # A birth date of nobody in the family is refused, in #form-error.
    tab.set("confirmation_number", number)
    tab.set("birth_date", "2001-01-01")
    tab.submit("#checkin-submit", status=range(200, 500))
    expect(tab.page.locator("#form-error")).to_be_visible()
    tab.set("confirmation_number", number)
    tab.set("birth_date", birth_date)
    tab.submit("#checkin-submit")
    expect(tab.page.locator("#notice")).to_be_visible()
    expect(tab.page.locator("#form-error")).to_have_count(0)


class TestTheWholeCycle:
    @pytest.mark.parametrize("lang", ["es", "ht", "ar"])
    def test_a_person_registers_requests_confirms_and_is_checked_in(
        self, tabs: Tabs, live: LiveServer, lang: str
    ) -> None:
        person = tabs.open(live, locale=lang, geolocation=True)
        person.go("/")
        expect_language(person, lang)
        username = register(person, lang)
        expect_language(person, lang)
        family = FAMILIES[lang]
        declare_family(person, family)
        request_appointment(person)
        person.go("/status")
        expect_language(person, lang)
        pending = live.api.current_request(username)
        assert pending["ports"] == [PORT] and pending["status"] == "pending", pending

        live.clock.set(AFTER_CLOSE)
        staff = run_the_draw_as_admin(tabs, live, lang)
        live.clock.set(NEXT_DAY)
        back = tabs.open(live, locale="en-US", geolocation=True)
        number = confirm_offer(back, username, live, lang)
        back.go("/status")

        check_in(staff, live, number, family[1]["birth_date"])
        assert live.api.appointment(username)["status"] == "checked_in"


class TestGivingUp:
    def test_a_person_gives_up_a_confirmed_appointment(self, tabs: Tabs, live: LiveServer) -> None:
        # The way to a confirmed appointment is the cycle's; here it is taken over the API.
        api = live.api
        username = api.register("es")
        api.set_group(username, FAMILIES["es"])
        api.request(username)
        live.clock.set(AFTER_CLOSE)
        api.run_draw(live.add_staff(Role.ADMIN, "es"))
        live.clock.set(NEXT_DAY)
        api.confirm(username)

        person = tabs.open(live, locale="es")
        person.log_in(username)
        person.go("/appointment")
        expect(person.page.locator("#confirmation-number")).to_be_visible()
        person.go("/appointment/cancel")
        person.submit("#cancel-submit")
        expect(person.page.locator("#notice")).to_be_visible()
        appointment = api.appointment(username)
        assert appointment["status"] == "cancelled", appointment
        assert appointment["cancelled_by"] == "person", appointment
        person.go("/status")


class TestWithoutJavaScript:
    def test_a_person_types_the_location_by_hand_to_request_and_confirm(
        self, tabs: Tabs, live: LiveServer
    ) -> None:
        person = tabs.open(live, locale="ht", javascript=False)
        username = register(person, "ht")
        expect_language(person, "ht")
        declare_family(person, FAMILIES["ht"])
        person.go("/request")
        dead_buttons = shown_without_javascript(person)
        request_appointment(person, javascript=False)
        assert live.api.current_request(username)["status"] == "pending"
        live.clock.set(AFTER_CLOSE)
        run_the_draw_as_admin(tabs, live, "ht")
        live.clock.set(NEXT_DAY)
        back = tabs.open(live, locale="en-US", javascript=False)
        confirm_offer(back, username, live, "ht", javascript=False)
        assert not dead_buttons, f"without JavaScript /request shows {dead_buttons}: dead buttons"
