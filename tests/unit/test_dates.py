"""Dates and times in the reader's language, each time in the zone of the place it concerns."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puerta import i18n
from puerta.appointments.domain import PORTS, PORTS_BY_SLUG, WindowClosed
from puerta.dates import Dates
from puerta.notifications.domain import render
from puerta.notifications.service import LocalShown, Zones
from puerta.web.pages.formatting import Formatter

LANGUAGES = sorted(i18n.available_languages())
CHICAGO = ZoneInfo("America/Chicago")


def _formatter(language: str) -> Formatter:
    page: Any = SimpleNamespace(
        language=language,
        gettext=lambda message: i18n.gettext(language, message),
        runtime=SimpleNamespace(schedule=SimpleNamespace(tz=CHICAGO)),
    )
    return Formatter(page)


def _hour(text: str) -> str:
    found = re.search(r"\d{2}:\d{2}", text)
    assert found, text
    return found.group(0)


slots = st.builds(
    lambda port, day, minutes: (port, day, minutes),
    st.sampled_from(PORTS),
    # Every day of 2024 and 2025: both DST changes of each year, and Phoenix, which has none.
    st.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
    st.integers(6 * 4, 19 * 4).map(lambda quarters: quarters * 15),
)


class TestSlotHours:
    @settings(deadline=None, max_examples=300)
    @given(slot=slots, language=st.sampled_from(LANGUAGES))
    def test_the_page_the_manifest_and_the_message_show_the_ports_local_hour(
        self, slot: tuple[Any, dt.date, int], language: str
    ) -> None:
        port, day, minutes = slot
        zone = ZoneInfo(port.timezone)
        local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)
        instant = local.astimezone(dt.UTC)
        expected = local.strftime("%H:%M")
        fmt = _formatter(language)
        appointment = SimpleNamespace(port=port.slug, slot_starts_at=instant)
        assert _hour(fmt.slot(appointment)) == expected  # the appointment page
        assert _hour(fmt.time(instant, port=port.slug)) == expected  # the manifest
        assert port.mexican_city in fmt.time(instant, port=port.slug)
        gettext = lambda message: i18n.gettext(language, message)  # noqa: E731
        shown = LocalShown(Zones(CHICAGO, PORTS_BY_SLUG), Dates(language, gettext))
        params = {"port": port.slug, "service_date": day.isoformat(), "slot": instant.isoformat(),
                  "confirmation_number": "ABCD-2345"}  # fmt: skip
        _, body = render("appointment_confirmed", params, gettext, shown)
        assert _hour(body.split("ABCD-2345")[0].split(port.name, 1)[1]) == expected


class TestNames:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_month_names_are_twelve_real_names_january_first(self, language: str) -> None:
        names = _formatter(language).month_names()
        assert len(set(names)) == 12
        assert not any(re.fullmatch(r"M\d\d", name) for name in names), names

    def test_haitian_creole_and_kiche_get_names_and_patterns_from_the_catalogs(self) -> None:
        assert _formatter("ht").month_names()[0] == "janvye"
        assert str(_formatter("ht").day(dt.date(2024, 9, 3))) == "<bdi>madi 3 septanm 2024</bdi>"
        quc = str(_formatter("quc").day(dt.date(2024, 9, 3)))
        assert not quc.startswith("<bdi>2024"), quc

    def test_spanish_uses_its_own_pattern_with_de(self) -> None:
        assert "3 de septiembre de 2024" in _formatter("es").day(dt.date(2024, 9, 3))


class TestDeadline:
    def test_names_the_window_zone_and_adds_the_readers_port_time(self) -> None:
        at = dt.datetime(2024, 9, 4, 15, 30, tzinfo=dt.UTC)
        shown = _formatter("en").deadline(at, also_port="san-ysidro")
        assert "10:30 (Chicago time; 08:30 in Tijuana)" in shown

    def test_a_port_on_the_windows_clock_is_not_repeated(self) -> None:
        at = dt.datetime(2024, 9, 4, 15, 30, tzinfo=dt.UTC)
        assert "in " not in _formatter("en").deadline(at, also_port="brownsville")


class TestErrorsWithDates:
    def test_an_instant_in_an_error_is_written_in_the_language_and_zone(self) -> None:
        error = WindowClosed(opens_at="2024-09-03T17:00:00+00:00", timezone="America/Chicago")
        text = i18n.translate_error(error, "es")
        assert "2024-09-03" not in text and "3 de septiembre, 12:00 (hora de Chicago)" in text
