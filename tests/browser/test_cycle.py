"""A person walks the whole cycle in the browser, in Spanish, Haitian Creole and Arabic: register,
declare the family, request from where they are, see the offer after the draw, confirm it, and
be checked in at the port by an officer. Also: giving an appointment up, and doing it all with
JavaScript off (typing the location by hand)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from puerta.accounts.domain import Role
from puerta.appointments.domain import PORTS_BY_SLUG
from tests.browser.helpers import (
    AFTER_CLOSE,
    FAMILIES,
    JUAREZ,
    NEXT_DAY,
    PASSWORD,
    PORT,
    SERVICE_DATE,
    TIJUANA,
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


def set_date(tab: Tab, prefix: str, iso: str) -> None:
    """Type a date into its three fields: day and year in digits, the month by name."""
    year, month, day = iso.split("-")
    tab.set(f"{prefix}_day", str(int(day)))
    tab.set(f"{prefix}_month", str(int(month)))
    tab.set(f"{prefix}_year", year)


def fill_member(tab: Tab, index: int, member: dict[str, Any]) -> None:
    for key in ("given_names", "family_names", "nationality"):
        tab.set(f"members-{index}-{key}", member[key])
    set_date(tab, f"members-{index}-birth", member["birth_date"])
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


def rank_ports(tab: Tab, ports: list[str]) -> None:
    """Choose the first, second and third port in the three lists, in that order."""
    for n, slug in enumerate(ports, start=1):
        tab.page.locator(f"main #port-choice-{n}").select_option(slug)


def type_location(tab: Tab, where: dict[str, float] = JUAREZ) -> None:
    """Without JavaScript: open "type my location by hand" if it is folded, and type it."""
    lat = tab.page.locator('main [name="lat"]')
    if not lat.is_visible():
        tab.page.locator("main details:has([name=lat]) > summary").click()
    lat.fill(str(where["latitude"]))
    tab.page.locator('main [name="lon"]').fill(str(where["longitude"]))


def request_appointment(
    tab: Tab,
    *,
    ports: list[str] | None = None,
    where: dict[str, float] = JUAREZ,
    javascript: bool = True,
) -> None:
    """Rank the ports, give the place, read the choices back in order, and send."""
    ports = ports or [PORT]
    tab.go("/request")
    rank_ports(tab, ports)
    if javascript:
        tab.locate(where)
    else:
        type_location(tab, where)
    tab.submit("#request-review")
    listed = tab.page.locator("#port-order li")
    expect(listed).to_have_count(len(ports))
    for i, slug in enumerate(ports):
        name, line = PORTS_BY_SLUG[slug].name, listed.nth(i).inner_text()
        assert name in line, f"choice {i + 1} reads {line!r}, not {name}"
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
    tab: Tab,
    username: str,
    live: LiveServer,
    lang: str,
    *,
    javascript: bool = True,
    where: dict[str, float] = JUAREZ,
) -> str:
    """The person comes back the next day, logs in, sees the offer and confirms it.

    The tab's browser asks for English: once logged in, the account's language wins."""
    tab.log_in(username)
    expect_language(tab, lang)
    tab.go("/appointment")
    expect(tab.page.locator("#confirm-submit")).to_be_visible()
    if javascript:
        tab.locate(where)
    else:
        type_location(tab, where)
    tab.submit("#confirm-submit")
    number = tab.page.locator("#confirmation-number")
    expect(number).to_be_visible()
    appointment = live.api.appointment(username)
    assert appointment["status"] == "confirmed", appointment
    assert bare(number.inner_text()) == bare(appointment["confirmation_number"])
    return str(appointment["confirmation_number"])


_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def reads_hour(text: str, instant: dt.datetime, zone: str) -> bool:
    """Whether ``text`` gives ``instant``'s hour and minute as a clock in ``zone`` shows them
    (7:00 or 07:00, in any digits)."""
    local = instant.astimezone(ZoneInfo(zone))
    plain = text.translate(_DIGITS)
    return bool(re.search(rf"(?<!\d)0?{local.hour}[:.]{local.minute:02d}(?!\d)", plain))


def assert_slot_hour(text: str, appointment: dict[str, Any], who: str) -> None:
    """The slot reads in its port's zone, never in the window's (Chicago's) hour."""
    port = PORTS_BY_SLUG[appointment["port"]]
    starts = dt.datetime.fromisoformat(appointment["slot_starts_at"])
    assert reads_hour(text, starts, port.timezone), (
        f"{who} does not read the slot at {starts.astimezone(ZoneInfo(port.timezone))} "
        f"({port.timezone}): {text!r}"
    )
    if port.timezone != "America/Chicago":
        assert not reads_hour(text, starts, "America/Chicago"), (
            f"{who} reads the slot in Chicago's hour: {text!r}"
        )


def check_in(tab: Tab, live: LiveServer, number: str, birth_date: str, *, port: str = PORT) -> str:
    """On the service date an officer of the port checks the group in from the manifest;
    returns the manifest's line for the group, as the officer read it."""
    officer = live.add_staff(Role.OFFICER, "es", port)
    zone = ZoneInfo(PORTS_BY_SLUG[port].timezone)
    live.clock.set(dt.datetime.combine(dt.date.fromisoformat(SERVICE_DATE), dt.time(8), zone))
    tab.log_in(officer)
    tab.go(f"/officer?date={SERVICE_DATE}")
    expect(tab.page.locator("#manifest")).to_be_visible()
    rows = tab.page.locator("#manifest tbody tr").all_inner_texts()
    line = next((row for row in rows if bare(number) in bare(row)), "")
    assert line, f"the manifest has no line for {number}: {rows}"
    # A birth date of nobody in the family is refused: the form again, its message, a 422.
    tab.set("confirmation_number", number)
    set_date(tab, "birth", "2001-01-01")
    tab.submit("#checkin-submit", status=422)
    expect(tab.page.locator("#form-error")).to_be_visible()
    expect(tab.page.locator('main [name="confirmation_number"]')).to_have_value(number)
    tab.set("confirmation_number", number)
    set_date(tab, "birth", birth_date)
    tab.submit("#checkin-submit")
    expect(tab.page.locator("#notice")).to_be_visible()
    expect(tab.page.locator("#form-error")).to_have_count(0)
    return line


# Where each language's family waits, and the ports it ranks: es and ar at the western ports
# (two hours behind the window's clock), ht at El Paso (one hour behind).
JOURNEYS = {
    "es": (TIJUANA, ["san-ysidro", "calexico", "nogales"]),
    "ht": (JUAREZ, [PORT]),
    "ar": (TIJUANA, ["san-ysidro", "nogales", "calexico"]),
}


class TestTheWholeCycle:
    @pytest.mark.parametrize("lang", ["es", "ht", "ar"])
    def test_a_person_registers_requests_confirms_and_is_checked_in(
        self, tabs: Tabs, live: LiveServer, lang: str
    ) -> None:
        where, ports = JOURNEYS[lang]
        person = tabs.open(live, locale=lang, geolocation=where)
        person.go("/")
        expect_language(person, lang)
        username = register(person, lang)
        expect_language(person, lang)
        family = FAMILIES[lang]
        declare_family(person, family)
        request_appointment(person, ports=ports, where=where)
        person.go("/status")
        expect_language(person, lang)
        pending = live.api.current_request(username)
        assert pending["ports"] == ports and pending["status"] == "pending", pending

        live.clock.set(AFTER_CLOSE)
        staff = run_the_draw_as_admin(tabs, live, lang)
        live.clock.set(NEXT_DAY)
        back = tabs.open(live, locale="en-US", geolocation=where)
        number = confirm_offer(back, username, live, lang, where=where)
        appointment = live.api.appointment(username)
        assert appointment["port"] == ports[0], appointment
        assert_slot_hour(back.page.locator("#slot-time").inner_text(), appointment, "the person")
        back.go("/status")
        assert_slot_hour(back.page.locator("main .next").inner_text(), appointment, "/status")

        line = check_in(staff, live, number, family[1]["birth_date"], port=ports[0])
        assert_slot_hour(line, appointment, "the officer")
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
