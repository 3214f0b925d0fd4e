"""Dates, times and numbers on every page that shows them, in every language."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.accounts.service import create_account
from puerta.clock import FixedClock
from puerta.dates import MONTHS, WEEKDAYS
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from tests.e2e.pages_helpers import csrf, family, log_in, main_text, register, request_form, submit
from tests.factories import PASSWORD, TIJUANA, phone

CDT = dt.timezone(dt.timedelta(hours=-5))
PDT = dt.timezone(dt.timedelta(hours=-7))
LANGUAGES = sorted(available_languages())
RAW_MONTH = re.compile(r"\bM(0[1-9]|1[0-2])\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
ENGLISH_NAMES = re.compile(r"\b(" + "|".join([*MONTHS, *WEEKDAYS]) + r")\b")


def _staff(client: TestClient, rt: Runtime, role: Role, language: str, port: str | None) -> None:
    username = phone()
    create_account(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=username, password=PASSWORD,
        language=language, languages=available_languages(), role=role, port=port,
    )  # fmt: skip
    assert log_in(client, username).status_code == 303


def _pages_of_a_whole_cycle(
    client: TestClient, rt: Runtime, clock: FixedClock, language: str
) -> dict[str, str]:
    """Each date-bearing page, as a person, an officer and an admin see it, by state."""
    shown: dict[str, str] = {}
    person = TestClient(client.app)
    register(person, language=language)
    shown["status, no family"] = person.get("/status").text
    submit(person, "/group", "/group", family())
    shown["request, open"] = person.get("/request").text
    lat, lon = str(TIJUANA["lat"]), str(TIJUANA["lon"])
    assert request_form(person, ["san-ysidro"], lat, lon).status_code == 303
    shown["status, in the draw"] = person.get("/status").text
    clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
    shown["request, closed"] = person.get("/request").text
    admin = TestClient(client.app)
    _staff(admin, rt, Role.ADMIN, language, None)
    assert submit(admin, "/admin/draws", "/admin/draws", {"window": "2024-09-02"}).is_redirect
    shown["admin draws"] = admin.get("/admin/draws?window=2024-09-02").text
    shown["admin capacity"] = admin.get("/admin/capacity?date=2024-09-16").text
    shown["status, offered"] = person.get("/status").text
    shown["appointment, offered"] = person.get("/appointment").text
    submit(person, "/appointment", "/appointment/confirm", {"lat": lat, "lon": lon})
    shown["status, confirmed"] = person.get("/status").text
    shown["appointment, confirmed"] = person.get("/appointment").text
    officer = TestClient(client.app)
    _staff(officer, rt, Role.OFFICER, language, "san-ysidro")
    shown["manifest"] = officer.get("/officer?date=2024-09-16").text
    manifest = admin.get("/officer?port=san-ysidro&date=2024-09-16").text
    appointment = re.search(r"/admin/appointments/(\d+)/cancel", manifest)
    assert appointment, manifest
    submit(
        admin, "/officer?port=san-ysidro&date=2024-09-16",
        f"/admin/appointments/{appointment.group(1)}/cancel", {"reason": "Documento falso"},
    )  # fmt: skip
    shown["appointment, cancelled"] = person.get("/appointment").text
    shown["status, cancelled"] = person.get("/status").text
    shown["admin appeals"] = admin.get("/admin/appeals").text
    return shown


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_date_is_written_in_the_readers_language(
    client: TestClient, runtime: Runtime, clock: FixedClock, language: str
) -> None:
    for name, html in _pages_of_a_whole_cycle(client, runtime, clock, language).items():
        text = main_text(html)
        assert not RAW_MONTH.search(text), (name, text)
        assert not ISO_DATE.search(text), (name, text)
        if language != "en":
            assert not ENGLISH_NAMES.search(text), (name, ENGLISH_NAMES.findall(text), text)


def _outside_isolates(html: str) -> str:
    """The page without what sits inside ``<bdi>``, an element with ``dir`` or U+2068..U+2069.

    Labels are left out: their examples ("for example -106.42") are catalog text.
    """
    body = html.split('<main id="main"', 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    body = re.sub(r"<label\b[^>]*>.*?</label>", " ", body, flags=re.S)
    body = re.sub(r"<bdi\b[^>]*>.*?</bdi>", " ", body, flags=re.S)
    body = re.sub(r"<(\w+)\b[^>]*\bdir=\"\w+\"[^>]*>.*?</\1>", " ", body, flags=re.S)
    body = re.sub("\u2068[^\u2069]*\u2069", " ", body)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_right_to_left_pages_isolate_every_number(
    client: TestClient, runtime: Runtime, clock: FixedClock, language: str
) -> None:
    pages = _pages_of_a_whole_cycle(client, runtime, clock, language)
    for name in ("appointment, offered", "appointment, confirmed", "status, offered",
                 "status, confirmed", "status, in the draw", "manifest"):  # fmt: skip
        outside = _outside_isolates(pages[name])
        assert not re.search(r"\d", outside), (name, outside)
    for name in ("appointment, offered", "manifest"):
        inputs = re.findall(r"<input\b[^>]*>", pages[name])
        for field in ("lat", "lon", "confirmation_number"):
            for tag in inputs:
                if f'name="{field}"' in tag:
                    assert 'dir="ltr"' in tag, tag


def test_a_calexico_slot_at_seven_reads_seven_with_its_zone_named(
    client: TestClient, runtime: Runtime, clock: FixedClock
) -> None:
    person = TestClient(client.app)
    register(person, language="en")
    submit(person, "/group", "/group", family())
    assert request_form(person, ["calexico"], "32.62", "-115.45").status_code == 303
    clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
    admin = TestClient(client.app)
    _staff(admin, runtime, Role.ADMIN, "en", None)
    submit(admin, "/admin/draws", "/admin/draws", {"window": "2024-09-02"})
    submit(person, "/appointment", "/appointment/confirm", {"lat": "32.62", "lon": "-115.45"})
    text = main_text(person.get("/appointment").text)
    assert "07:00 (Mexicali time)" in text, text
    assert "09:00" not in text
    clock.set(dt.datetime(2024, 9, 16, 6, 0, tzinfo=PDT))
    officer = TestClient(client.app)
    _staff(officer, runtime, Role.OFFICER, "en", "calexico")
    assert "07:00 (Mexicali time)" in main_text(officer.get("/officer").text)


def test_the_offer_deadline_names_the_window_zone_and_the_readers_port_time(
    client: TestClient, runtime: Runtime, clock: FixedClock
) -> None:
    person = TestClient(client.app)
    register(person, language="en")
    submit(person, "/group", "/group", family())
    lat, lon = str(TIJUANA["lat"]), str(TIJUANA["lon"])
    request_form(person, ["san-ysidro"], lat, lon)
    clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
    admin = TestClient(client.app)
    _staff(admin, runtime, Role.ADMIN, "en", None)
    submit(admin, "/admin/draws", "/admin/draws", {"window": "2024-09-02"})
    text = main_text(person.get("/appointment").text)
    assert "(Chicago time; " in text and " in Tijuana)" in text, text
    assert csrf(person.get("/appointment").text)
