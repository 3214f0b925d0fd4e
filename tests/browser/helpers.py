"""The browser tests' machinery: the app served in a thread, tabs that fail on any console or
page error, the JSON API for arranging and checking what the pages did, and axe-core.

Elements are found by the ids and field names of docs/pages.md, never by translated text.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from playwright.sync_api import Browser, Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

import puerta.models  # noqa: F401  (registers every table)
from puerta.accounts.domain import Role
from puerta.accounts.service import create_account
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.db import Base, make_engine
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER, OPEN_INSTANT

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("PUERTA_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
# CI sets it: a missing Chromium or axe-core is then a failure, not a skip.
REQUIRED = os.environ.get("PUERTA_REQUIRE_BROWSER", "") not in ("", "0")

CDT = dt.timezone(dt.timedelta(hours=-5))
MDT = dt.timezone(dt.timedelta(hours=-6))  # El Paso keeps Mountain time
WINDOW = "2024-09-02"  # open from OPEN_INSTANT; closes at 11:00 Chicago on 3 Sep
SERVICE_DATE = "2024-09-16"
AFTER_CLOSE = dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT)
NEXT_DAY = dt.datetime(2024, 9, 3, 12, 30, tzinfo=CDT)  # the offers are open to confirm
SERVICE_MORNING = dt.datetime(2024, 9, 16, 8, 0, tzinfo=MDT)
PORT = "el-paso"
# Ciudad Juárez, Chihuahua: inside the geofence, across the river from El Paso.
JUAREZ = {"latitude": 31.69, "longitude": -106.42}
# Tijuana, Baja California: across from San Ysidro, two hours behind the window's clock.
TIJUANA = {"latitude": 32.51, "longitude": -117.04}
PASSWORD = "a long password 2024"
PHONE = {"width": 360, "height": 740}
ZOOM_200 = {"width": 640, "height": 400}  # a 1280×800 screen at 200%
TIMEOUT_MS = 5_000
_STATUS_LOGGED = "Failed to load resource: the server responded with a status of"
# Why a form would not be sent: the browser's own validation of its fields.
_INVALID_FIELDS = """button => {
  const form = button.form;
  if (!form || button.formNoValidate || form.noValidate) return [];
  return [...form.elements].filter(e => e.willValidate && !e.validity.valid)
    .map(e => `${e.name}=${JSON.stringify(e.value)}: ${e.validationMessage}`);
}"""

# A family of two per language: the names show in the screenshots, in the language's script.
FAMILIES: dict[str, list[dict[str, Any]]] = {
    "es": [
        {"given_names": "Ana María", "family_names": "Pérez López", "birth_date": "1988-05-21",
         "nationality": "HND", "languages": ["es"]},
        {"given_names": "Luis", "family_names": "Pérez", "birth_date": "2015-02-10",
         "nationality": "HND", "languages": ["es"]},
    ],
    "ht": [
        {"given_names": "Marie", "family_names": "Joseph", "birth_date": "1990-03-14",
         "nationality": "HTI", "languages": ["ht"]},
        {"given_names": "Jean", "family_names": "Joseph", "birth_date": "2016-07-02",
         "nationality": "HTI", "languages": ["ht"]},
    ],
    "ar": [
        {"given_names": "مريم", "family_names": "الحسن", "birth_date": "1992-11-05",
         "nationality": "SDN", "languages": ["ar"]},
        {"given_names": "يوسف", "family_names": "الحسن", "birth_date": "2018-01-30",
         "nationality": "SDN", "languages": ["ar"]},
    ],
}  # fmt: skip


def _family(
    first: str, child: str, family: str, nationality: str, lang: str
) -> list[dict[str, Any]]:
    return [
        {"given_names": first, "family_names": family, "birth_date": "1987-06-12",
         "nationality": nationality, "languages": [lang]},
        {"given_names": child, "family_names": family, "birth_date": "2017-10-03",
         "nationality": nationality, "languages": [lang]},
    ]  # fmt: skip


# The other languages' families, for the tests that go through every language.
FAMILIES |= {
    "en": _family("Grace", "Daniel", "Mensah", "GHA", "en"),
    "fr": _family("Aminata", "Moussa", "Diallo", "GIN", "fr"),
    "pt": _family("Francisca", "Thiago", "da Silva Nascimento", "BRA", "pt"),
    "ru": _family("Наталья", "Артём", "Кузнецова", "RUS", "ru"),
    "zh_Hans": _family("李秀英", "李明", "李", "CHN", "zh_Hans"),
    "fa": _family("فاطمه", "علی", "محمدی", "AFG", "fa"),
    "tr": _family("Ayşe", "Mehmet", "Yılmaz", "TUR", "tr"),
    "hi": _family("प्रिया", "अर्जुन", "शर्मा", "IND", "hi"),
    "quc": _family("Xwan", "Ixchel", "Tzul Ajpacaja", "GTM", "quc"),
}

_numbers = itertools.count(1)
Status = int | range  # a page's expected HTTP status, or a range of them


def unique_username(prefix: str) -> str:
    return f"{prefix}.{next(_numbers)}.{uuid.uuid4().hex[:6]}@example.org"


def unique_phone() -> str:
    """A Ciudad Juárez mobile number as a person types it, spaces and all."""
    return f"+52 656 {next(_numbers) % 1000:03d} {uuid.uuid4().int % 10_000:04d}"


class LiveServer:
    """The app on a free 127.0.0.1 port, in a thread, on its own SQLite database and clock."""

    def __init__(self, directory: Path) -> None:
        self.clock = FixedClock(OPEN_INSTANT)
        url = f"sqlite:///{directory / 'puerta.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        settings = Settings(
            env="test", database_url=url, cookie_secure=False, jobs_interval_seconds=0
        )
        app = create_app(settings, clock=self.clock, hasher=FAST_HASHER, rng=random.Random(7))
        self.runtime: Runtime = app.state.runtime
        sock = self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="puerta-live", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.01)
        self.api = Api(self.url)

    def stop(self) -> None:
        self.api.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def add_staff(self, role: Role, language: str, port: str | None = None) -> str:
        """A staff account made the way the CLI makes one; returns its username."""
        username = unique_username(role.value)
        create_account(
            uow=self.runtime.uow(),
            clock=self.runtime.clock,
            hasher=self.runtime.hasher,
            username=username,
            password=PASSWORD,
            language=language,
            languages=available_languages(),
            role=role,
            port=port,
        )
        return username


class Api:
    """The JSON API of the live server: arranges data and checks what the pages did."""

    def __init__(self, url: str) -> None:
        self._client = httpx.Client(base_url=url + "/api/v1", timeout=30)

    def close(self) -> None:
        self._client.close()

    def _ok(self, response: httpx.Response) -> Any:
        where = response.request.url
        assert response.is_success, f"{where}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def register(self, language: str, prefix: str = "person") -> str:
        username = unique_username(prefix)
        self._ok(
            self._client.post(
                "/accounts",
                json={"username": username, "password": PASSWORD, "language": language},
            )
        )
        return username

    def auth(self, username: str) -> dict[str, str]:
        """A fresh bearer token (tokens expire as the tests move the clock on)."""
        data = {"username": username, "password": PASSWORD}
        token = self._ok(self._client.post("/auth/token", data=data))["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def set_group(self, username: str, members: list[dict[str, Any]]) -> None:
        self._ok(
            self._client.put("/me/group", json={"members": members}, headers=self.auth(username))
        )

    def request(self, username: str) -> None:
        location = {"lat": JUAREZ["latitude"], "lon": JUAREZ["longitude"]}
        headers = self.auth(username) | {"Idempotency-Key": str(uuid.uuid4())}
        body = {"ports": [PORT], "location": location, "standing": False}
        self._ok(self._client.post("/requests", json=body, headers=headers))

    def current_request(self, username: str) -> Any:
        return self._ok(self._client.get("/requests/current", headers=self.auth(username)))

    def appointment(self, username: str) -> Any:
        """The group's latest offer or appointment, or None."""
        response = self._client.get("/me/appointment", headers=self.auth(username))
        return None if response.status_code == 404 else self._ok(response)

    def confirm(self, username: str, where: dict[str, float] = JUAREZ) -> Any:
        location = {"lat": where["latitude"], "lon": where["longitude"]}
        return self._ok(
            self._client.post(
                "/me/appointment/confirm",
                json={"location": location},
                headers=self.auth(username),
            )
        )

    def run_draw(self, admin: str, window: str = WINDOW) -> Any:
        response = self._client.post("/draws", json={"window": window}, headers=self.auth(admin))
        return self._ok(response)

    def draw(self, window: str = WINDOW) -> Any:
        response = self._client.get(f"/draws/{window}")
        return None if response.status_code == 404 else self._ok(response)

    def cancel(self, admin: str, appointment_id: int, reason: str) -> Any:
        return self._ok(
            self._client.post(
                f"/appointments/{appointment_id}/cancel",
                json={"reason": reason},
                headers=self.auth(admin),
            )
        )


def bare(number: str) -> str:
    """A confirmation number as typed: the page may group its characters for reading."""
    return re.sub(r"[^0-9A-Za-z]", "", number).upper()


@dataclass
class Tab:
    """One page in its own browser context. Problems: a console error (a CSP violation
    included), an uncaught page error, a resource answering >= 400, a failed request, or a
    request to another host; each navigation checks that there are none."""

    page: Page
    base_url: str
    problems: list[str] = field(default_factory=list)
    reported: int = 0

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("request", self._request)
        self.page.on("response", self._response)
        self.page.on("requestfailed", self._failed)

    def _console(self, message: Any) -> None:
        # Chromium logs every answer >= 400 as an error, pages included; the pages' own
        # statuses are checked where they are loaded, and any other resource's in _response.
        if message.type == "error" and not message.text.startswith(_STATUS_LOGGED):
            where = message.location.get("url", "") if message.location else ""
            self.problems.append(f"console error on {self.page.url}: {message.text} {where}")

    def _request(self, request: Any) -> None:
        if not request.url.startswith((self.base_url, "data:", "blob:")):
            self.problems.append(f"a request to another host: {request.url}")

    def _response(self, response: Response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.problems.append(f"{response.status} for {response.url} on {self.page.url}")

    def _failed(self, request: Any) -> None:
        # A navigation aborts the last page's pending loads (its icon, say): not a fault.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def check(self) -> None:
        """Fail on any problem since the page was opened."""
        if len(self.problems) > self.reported:
            self.reported = len(self.problems)
            raise AssertionError("the page reported errors:\n  " + "\n  ".join(self.problems))

    def _document(self, response: Response | None, expected: Status, what: str) -> Response:
        assert response is not None, f"no response for {what}"
        if response.status not in (expected if isinstance(expected, range) else (expected,)):
            main = self.page.locator("main")
            text = main.inner_text()[:600] if main.count() else self.page.content()[:600]
            raise AssertionError(
                f"{what} answered {response.status} at {response.url}, not {expected}:\n{text}"
            )
        self.page.wait_for_load_state("load")
        self.check()
        return response

    def go(self, path: str, status: Status = 200) -> Response:
        return self._document(self.page.goto(self.base_url + path), status, f"GET {path}")

    def navigate(self, action: Callable[[], object], what: str, status: Status = 200) -> Response:
        """Do something that should load a new page, and wait for that page."""
        try:
            with self.page.expect_navigation() as navigation:
                action()
            response = navigation.value
        except PlaywrightTimeoutError:
            raise AssertionError(f"{what} loaded no page") from None
        return self._document(response, status, what)

    def submit(self, selector: str, status: Status = 200) -> Response:
        """Click a submit button and wait for the page it leads to."""
        button = self.page.locator(selector)
        invalid = button.evaluate(_INVALID_FIELDS)
        assert not invalid, f"the browser will not send the form of {selector}: {invalid}"
        return self.navigate(button.click, f"the form of {selector}", status)

    def press_enter(self, status: Status = 200) -> Response:
        return self.navigate(lambda: self.page.keyboard.press("Enter"), "Enter", status)

    def set(self, name: str, value: str | list[str]) -> None:
        """Set a form field by name, whatever control the page chose for it."""
        controls = self.page.locator(f'main [name="{name}"]')
        assert controls.count() >= 1, f"no field named {name!r} on {self.page.url}"
        values = [value] if isinstance(value, str) else value
        kind = controls.first.evaluate(
            "e => e.tagName === 'SELECT' ? 'select' : (e.type || 'text').toLowerCase()"
        )
        if kind == "select":
            controls.first.select_option(values)
        elif kind in ("checkbox", "radio"):
            for one in values:
                controls.and_(self.page.locator(f'[value="{one}"]')).check()
        elif kind == "hidden":
            raise AssertionError(f"field {name!r} is hidden on {self.page.url}")
        else:
            controls.first.fill(", ".join(values))

    @property
    def path(self) -> str:
        """The current page's path, without the query."""
        return urlsplit(self.page.url).path

    def lang_and_dir(self) -> tuple[str | None, str | None]:
        html = self.page.locator("html")
        return html.get_attribute("lang"), html.get_attribute("dir")

    def log_in(self, username: str, password: str = PASSWORD) -> Response:
        self.go("/login")
        self.set("username", username)
        self.set("password", password)
        return self.submit("#login-submit")

    def locate(self, where: dict[str, float] = JUAREZ) -> None:
        """Press "use my location" and wait for the browser's position (``where``) in lat/lon."""
        self.page.click("#locate")
        lat = self.page.locator('main [name="lat"]')
        lon = self.page.locator('main [name="lon"]')
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while not (lat.input_value() and lon.input_value()):
            assert time.monotonic() < deadline, "#locate did not fill lat and lon"
            self.page.wait_for_timeout(50)
        assert abs(float(lat.input_value()) - where["latitude"]) < 0.01
        assert abs(float(lon.input_value()) - where["longitude"]) < 0.01
        self.check()

    def screenshot(self, name: str) -> None:
        """Write docs/screenshots/<name>.png, only when it changed (keeps git quiet)."""
        png = self.page.screenshot(full_page=False, animations="disabled", caret="hide")
        target = SCREENSHOTS / f"{name}.png"
        if not target.exists() or target.read_bytes() != png:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png)


def open_tab(
    browser: Browser,
    server: LiveServer,
    *,
    locale: str = "es",
    javascript: bool = True,
    geolocation: bool | dict[str, float] = False,
    viewport: dict[str, int] | None = None,
    bypass_csp: bool = False,
) -> Tab:
    """A tab in a new browser context (about a second of CPU for Chromium: reuse them).

    ``geolocation``: True puts the phone in Ciudad Juárez, or give the place."""
    where = JUAREZ if geolocation is True else geolocation or None
    context = browser.new_context(
        locale=locale,
        java_script_enabled=javascript,
        viewport=viewport or PHONE,  # type: ignore[arg-type]
        bypass_csp=bypass_csp,
        geolocation=where,  # type: ignore[arg-type]
        permissions=["geolocation"] if where else [],
        reduced_motion="reduce",
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(3 * TIMEOUT_MS)
    return Tab(context.new_page(), server.url)


class Tabs:
    """The tabs of one test: those it opens (closed at its end) and those it borrows from a
    world; either way, problems no check reported fail the test at its end."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self._opened: list[Tab] = []
        self._borrowed: list[Tab] = []

    def open(self, server: LiveServer, **options: Any) -> Tab:
        tab = open_tab(self.browser, server, **options)
        self._opened.append(tab)
        return tab

    def borrow(self, tab: Tab) -> Tab:
        if tab not in self._borrowed:
            self._borrowed.append(tab)
        return tab

    def close(self) -> list[str]:
        """Close the tabs opened; returns the problems no check reported yet."""
        left = [p for tab in self._opened + self._borrowed for p in tab.problems[tab.reported :]]
        for tab in self._borrowed:
            tab.reported = len(tab.problems)
        for tab in self._opened:
            tab.page.context.close()
        return left


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Only the violations, described in the page: half the time of axe's whole result.
_AXE_RUN = """tags => axe.run(document, {
  runOnly: {type: 'tag', values: tags},
  resultTypes: ['violations'],
}).then(result => result.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  targets: v.nodes.map(node => node.target.join(' ')),
})))"""


def axe_violations(tab: Tab, axe_source: str) -> list[str]:
    """Run axe-core on the tab's page (its context must bypass the CSP) and describe each
    violation: rule, impact, what it asks and the selectors of the elements at fault."""
    tab.page.add_script_tag(content=axe_source)
    lines = []
    for violation in tab.page.evaluate(_AXE_RUN, AXE_TAGS):
        targets = violation["targets"]
        more = f" (and {len(targets) - 8} more)" if len(targets) > 8 else ""
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(targets[:8])
            + more
        )
    return lines
