"""/verify and /verify/online over HTTP: the verifier page in every language, its texts for the
script, no inline script or style, the service worker's address, and the online check's form."""

from __future__ import annotations

import html
import json
import random
import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from puerta import i18n
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.web.app import create_app
from puerta.web.pages.verify import SCRIPT_TEXTS
from tests.conftest import FAST_HASHER
from tests.e2e.pages_helpers import csrf, main_text
from tests.e2e.test_api_verify import confirmed_appointment

LANGUAGES = sorted(i18n.available_languages())
SAME_AS_ENGLISH = {"fr": {"date"}}  # "Date" is French too
_DATA = re.compile(r'<script type="application/json" id="verify-data">(.*?)</script>', re.S)


def script_data(html: str) -> dict[str, dict[str, str]]:
    found = _DATA.search(html)
    assert found, "the page carries no texts for its script"
    return dict(json.loads(found.group(1)))


def online(client: TestClient, number: str, day: str, month: str, year: str) -> Response:
    shown = client.get("/verify/online")
    data = {"csrf_token": csrf(shown.text), "confirmation_number": number,
            "birth_day": day, "birth_month": month, "birth_year": year}  # fmt: skip
    return client.post("/verify/online", data=data)


class TestTheVerifierPage:
    def test_there_are_twelve_languages(self) -> None:
        assert len(LANGUAGES) == 12

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_renders_in_every_language_with_its_texts_for_the_script(
        self, client: TestClient, language: str
    ) -> None:
        client.cookies.set("puerta_lang", language)
        page = client.get("/verify")
        assert page.status_code == 200
        assert f'lang="{language.replace("_", "-")}"' in page.text
        assert ('dir="rtl"' in page.text) == (language in ("ar", "fa"))
        texts = script_data(page.text)["texts"]
        assert texts == {key: i18n.gettext(language, text) for key, text in SCRIPT_TEXTS.items()}
        if language != "en":
            # Translated: no text of the script is left in English.
            same = {k for k, text in texts.items() if text == SCRIPT_TEXTS[k]}
            assert same <= SAME_AS_ENGLISH.get(language, set())
        assert i18n.gettext(language, "Check a proof") in html.unescape(main_text(page.text))

    def test_speaks_spanish_to_a_browser_that_names_no_language(self, client: TestClient) -> None:
        page = client.get("/verify", headers={"Accept-Language": ""})
        assert 'lang="es"' in page.text
        assert script_data(page.text)["texts"]["valid"].startswith("Válido")

    def test_carries_no_inline_script_style_or_handler(self, client: TestClient) -> None:
        page = client.get("/verify").text
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", page)
        assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
        # The texts are data: a "</script>" in a translation could not end the block early.
        assert "</" not in _DATA.search(page).group(1)  # type: ignore[union-attr]

    def test_lets_the_page_use_the_camera_and_nothing_else(self, client: TestClient) -> None:
        page = client.get("/verify")
        assert page.headers["permissions-policy"] == "geolocation=(), camera=(self), microphone=()"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "camera=()" in client.get("/").headers["permissions-policy"]

    def test_serves_the_service_worker_at_the_root_so_that_it_may_cover_verify(
        self, client: TestClient
    ) -> None:
        worker = client.get("/verify-sw.js")
        assert worker.status_code == 200
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["cache-control"] == "no-cache"
        assert '"/verify"' in worker.text and "puerta-keys.json" in worker.text
        script = re.search(r'src="(/static/verify\.js\?v=\w+)"', client.get("/verify").text)
        assert script, "the page loads no verify.js"
        assert 'register("/verify-sw.js", { scope: "/verify" })' in client.get(script.group(1)).text

    def test_is_open_to_anyone_logged_in_or_not(self, client: TestClient) -> None:
        assert client.get("/verify").status_code == 200
        assert client.get("/verify/online").status_code == 200


class TestTheOnlineCheckPage:
    def test_shows_the_minimal_facts_for_the_right_number_and_birth_date(
        self, client: TestClient, clock: FixedClock
    ) -> None:
        appointment = confirmed_appointment(client, clock)
        client.cookies.set("puerta_lang", "es")
        answer = online(client, appointment["confirmation_number"], "2", "7", "2016")
        assert answer.status_code == 200
        text = main_text(answer.text)
        assert 'id="verify-online-result"' in answer.text
        assert "Confirmada" in text and "El Paso" in text and "16 de septiembre de 2024" in text
        assert "MJ · 1990" in text and "JJ · 2016" in text
        assert "Marie" not in text and "Joseph" not in text and "HTI" not in text

    def test_a_wrong_birth_date_shows_the_form_again_saying_nothing_more(
        self, client: TestClient, clock: FixedClock
    ) -> None:
        appointment = confirmed_appointment(client, clock)
        wrong = online(client, appointment["confirmation_number"], "3", "7", "2016")
        unknown = online(client, "ZZZZ-ZZZZ", "2", "7", "2016")
        for answer in (wrong, unknown):
            assert answer.status_code == 422
            assert 'id="form-error"' in answer.text
            assert 'id="verify-online-result"' not in answer.text

    def test_a_bad_date_or_a_script_is_refused_and_never_reflected_unescaped(
        self, client: TestClient
    ) -> None:
        answer = online(client, "<script>alert(1)</script>", "31", "2", "2016")
        assert answer.status_code == 422
        assert "<script>alert(1)" not in answer.text

    def test_refuses_an_address_over_its_limit_with_retry_after(
        self, settings: Settings, clock: FixedClock
    ) -> None:
        limited = settings.model_copy(
            update={"rate_verify_per_address": "2/minute", "rate_limit_address_scale": 1}
        )
        app = create_app(limited, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
        with TestClient(app, raise_server_exceptions=False) as client:
            for _ in range(2):
                assert online(client, "ZZZZ-ZZZZ", "2", "7", "2016").status_code == 422
            refused = online(client, "ZZZZ-ZZZZ", "2", "7", "2016")
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert 'id="form-error"' in refused.text
            # The API shares the page's count for the address.
            body = {"confirmation_number": "ZZZZ-ZZZZ", "birth_date": "2016-07-02"}
            assert client.post("/api/v1/verify", json=body).status_code == 429
        app.state.runtime.engine.dispose()
