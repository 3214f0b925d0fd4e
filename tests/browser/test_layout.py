"""Every page fits a small phone: at 320 and 360 CSS pixels wide, in every language and for
every role, nothing is wider than the screen, a definition's value is not squeezed into a
sliver beside its term, and a confirmation number stays on one line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from puerta.i18n import available_languages
from tests.browser.helpers import SERVICE_DATE, WINDOW, Tab, Tabs
from tests.browser.world import PEOPLE, World, in_world, langs

pytestmark = pytest.mark.browser

PHONES = ({"width": 320, "height": 640}, {"width": 360, "height": 740})
ANYONE = ("/", "/register", "/login", "/translations", "/shelters")
PERSON = ("/status", "/group", "/request", "/appointment")
# Every page each role reaches from its menu, and the states that carry the longest content.
PAGES: list[tuple[str | None, str]] = [
    *((None, path) for path in ANYONE),
    *((who, path) for who in PEOPLE for path in PERSON),
    ("confirmed", "/appointment/cancel"),
    ("officer", "/officer"),
    ("officer", f"/officer?date={SERVICE_DATE}"),
    ("admin", "/admin"),
    ("admin", f"/admin/capacity?date={SERVICE_DATE}"),
    ("admin", "/admin/geofence"),
    ("admin", f"/admin/draws?window={WINDOW}"),
    ("admin", "/admin/users?username=USERNAME"),
    ("admin", "/admin/appeals"),
    ("admin", f"/officer?date={SERVICE_DATE}&port=el-paso"),
    ("ready", "/screening"),
    ("ready", "/exception"),
    ("admin", "/caseworker/cases"),
]

# What does not fit: the page wider than the window, elements sticking out of it, a <dd>
# narrower than a quarter of its list (or 5 characters), a confirmation number on two lines.
MEASURE = """() => {
  const root = document.documentElement;
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className.trim()
       ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const path = e => [e.parentElement, e].filter(x => x && x !== document.body).map(name)
    .join(' > ');
  const out = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width && (r.right > root.clientWidth + 1 || r.left < -1);
  }).slice(0, 4).map(path);
  const em = parseFloat(getComputedStyle(document.body).fontSize);
  const squeezed = [...document.querySelectorAll('dd')].filter(dd => {
    const list = dd.closest('dl').getBoundingClientRect().width;
    const width = dd.getBoundingClientRect().width;
    return dd.textContent.trim().length > 5 && width < Math.min(list / 4, 5 * em);
  }).slice(0, 4).map(dd => path(dd) + ' ' + Math.round(dd.getBoundingClientRect().width) + 'px');
  const numbers = [...document.querySelectorAll('#confirmation-number, .number')]
    .filter(e => e.getClientRects().length > 1
      || e.getBoundingClientRect().height > 1.8 * parseFloat(getComputedStyle(e).lineHeight || em))
    .map(path);
  return {scroll: root.scrollWidth, client: root.clientWidth, out, squeezed, numbers};
}"""


def faults(tab: Tab) -> list[str]:
    box = tab.page.evaluate(MEASURE)
    found = []
    if box["scroll"] > box["client"]:
        found.append(f"{box['scroll']}px wide in {box['client']}px: {', '.join(box['out'])}")
    if box["squeezed"]:
        found.append("squeezed values: " + ", ".join(box["squeezed"]))
    if box["numbers"]:
        found.append("a confirmation number wraps: " + ", ".join(box["numbers"]))
    return found


class TestSmallPhones:
    @pytest.mark.parametrize("lang", langs(*sorted(available_languages())))
    def test_no_page_is_wider_than_a_320_or_360_pixel_phone(
        self, tabs: Tabs, world: Callable[[str], World], lang: str
    ) -> None:
        here = world(lang)
        problems = []
        for who, page in PAGES:
            tab = here.tab(tabs, who, viewport=PHONES[1])
            path = page.replace("USERNAME", here.usernames["ready"])
            tab.go(path)
            for size in PHONES:
                tab.page.set_viewport_size(size)  # type: ignore[arg-type]
                problems += [
                    f"{path} as {who or 'nobody'} at {size['width']}px: {fault}"
                    for fault in faults(tab)
                ]
        assert not problems, f"pages that do not fit a phone in {lang}:\n  " + "\n  ".join(problems)

    @in_world("es")
    def test_the_check_finds_a_page_that_is_too_wide(
        self, tabs: Tabs, world: Callable[[str], World]
    ) -> None:
        # The measure must not pass on nothing: a planted wide element and a wrapped number.
        tab = world("es").tab(tabs, "confirmed", viewport=PHONES[0])
        tab.go("/appointment")
        assert faults(tab) == []
        tab.page.evaluate(
            """() => {
              const wide = document.createElement('div');
              wide.style.width = '500px'; wide.textContent = 'x';
              document.querySelector('main').append(wide);
              const n = document.querySelector('#confirmation-number');
              n.style.whiteSpace = 'normal'; n.style.wordBreak = 'break-all';
              n.style.display = 'inline-block'; n.style.width = '2ch';
            }"""
        )
        found = " | ".join(faults(tab))
        assert "wide in" in found and "confirmation number wraps" in found, found


@in_world("es")
def test_a_confirmation_number_stays_on_one_line_even_in_a_squeezed_box(
    tabs: Tabs, world: Callable[[str], World]
) -> None:
    # A phone with large text, or a narrower screen than 320 px, can leave the number less
    # room than it needs: it must then run on in one piece, never break at its hyphen.
    tab = world("es").tab(tabs, "confirmed", viewport=PHONES[0])
    tab.go("/appointment")
    number = tab.page.locator("#confirmation-number")
    number.evaluate("n => { n.closest('dd').style.inlineSize = '3ch'; }")
    assert number.evaluate("n => n.getClientRects().length") == 1, number.inner_text()
