"""The report pages from a phone's browser, the receipt, the follow-up, the figures, triage."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.clock import FixedClock
from puerta.config import Settings
from puerta.i18n import available_languages
from puerta.web.app import create_app
from tests.conftest import FAST_HASHER
from tests.e2e.pages_helpers import csrf, main_text, staff_login, submit
from tests.incidents_helpers import PASSPHRASE, key_file

FORM = {
    "incident_type": "kidnapping", "perpetrator": "organized_crime", "state": "MX-TAM",
    "municipality": "28032", "year": "2024", "month": "3", "day": "", "contact": "",
    "text": "Men took my brother <script>alert('x')</script> at the bus station",
}  # fmt: skip
RECEIPT = re.compile(r"\d{4}-\d{4}-\d{4}-\d{4}-\d{4}")


@pytest.fixture
def pages(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"incidents_key_file": key_file(tmp_path)})
    app = create_app(configured, clock=clock, hasher=FAST_HASHER, rng=random.Random(7))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.runtime.engine.dispose()


def send_report(client: TestClient, **fields: str) -> str:
    answer = submit(client, "/report", "/report", FORM | fields | {"action": "send"})
    assert answer.status_code == 200, answer.text
    found = RECEIPT.search(main_text(answer.text))
    assert found, main_text(answer.text)
    return found.group(0)


class TestReportForm:
    @pytest.mark.parametrize("language", sorted(available_languages()))
    def test_every_language_shows_the_form_the_quick_exit_and_no_cache(
        self, pages: TestClient, language: str
    ) -> None:
        pages.cookies.set("puerta_lang", language)
        for path in ("/report", "/report/follow-up", "/incidents/stats"):
            answer = pages.get(path)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["cache-control"] == "no-store"
            assert 'id="quick-exit"' in answer.text or path == "/incidents/stats"
        shown = pages.get("/report").text
        assert f'dir="{"rtl" if language in ("ar", "fa") else "ltr"}"' in shown
        assert "quick-exit.js" in shown and 'href="https://www.google.com/"' in shown

    def test_choosing_the_state_brings_its_municipalities_back_in_the_answer(
        self, pages: TestClient
    ) -> None:
        assert 'name="municipality"' not in pages.get("/report").text
        answer = submit(pages, "/report", "/report", FORM | {"action": "state", "municipality": ""})
        assert answer.status_code == 200
        assert '<option value="28032">Reynosa</option>' in answer.text
        assert '<option value="07089">' not in answer.text  # Tapachula is in Chiapas
        assert "Men took my brother &lt;script&gt;" in answer.text  # kept, escaped

    def test_the_receipt_is_in_the_answer_to_the_post_never_in_an_address(
        self, pages: TestClient
    ) -> None:
        answer = submit(pages, "/report", "/report", FORM | {"action": "send"})
        assert answer.status_code == 200 and "location" not in answer.headers
        receipt = RECEIPT.search(answer.text)
        assert receipt and receipt.group(0) not in str(answer.url)
        assert answer.headers["cache-control"] == "no-store"

    def test_a_bad_report_comes_back_with_the_error_and_what_was_typed(
        self, pages: TestClient
    ) -> None:
        bad_day = {"action": "send", "month": "2", "year": "2023", "day": "29"}
        answer = submit(pages, "/report", "/report", FORM | bad_day)
        assert answer.status_code == 422
        assert 'id="form-error"' in answer.text and "<script>alert" not in answer.text
        assert not RECEIPT.search(main_text(answer.text).split("1234-5678")[0])
        assert pages.get("/api/v1/stats/incidents").json()["total"] == 0


class TestFollowUp:
    def test_the_receipt_shows_the_status_and_takes_more_information(
        self, pages: TestClient
    ) -> None:
        receipt = send_report(pages)
        looked = submit(pages, "/report/follow-up", "/report/follow-up",
                        {"receipt": receipt, "action": "lookup", "text": ""})  # fmt: skip
        assert looked.status_code == 200 and 'id="report-status"' in looked.text
        more = {"receipt": receipt, "action": "add", "text": "more <b>news</b>"}
        added = submit(pages, "/report/follow-up", "/report/follow-up", more)
        assert added.status_code == 200 and 'id="notice"' in added.text

    def test_a_wrong_receipt_says_only_that_it_was_not_found(self, pages: TestClient) -> None:
        answer = submit(pages, "/report/follow-up", "/report/follow-up",
                        {"receipt": "1111-1111-1111-1111-1111", "action": "lookup"})  # fmt: skip
        assert answer.status_code == 422 and 'id="report-status"' not in answer.text


class TestFigures:
    def test_small_counts_read_fewer_than_10(self, pages: TestClient) -> None:
        send_report(pages)
        pages.cookies.set("puerta_lang", "en")
        shown = main_text(pages.get("/incidents/stats").text)
        assert "Reports in all: fewer than 10" in shown
        assert " 1 " not in f" {shown} ".replace("1 to 9", "")


class TestTriagePages:
    def test_the_team_unlocks_reads_escaped_and_logout_clears_the_unlock(
        self, pages: TestClient
    ) -> None:
        send_report(pages)
        runtime = pages.app.state.runtime  # type: ignore[attr-defined]
        staff_login(pages, runtime, Role.INCIDENTS)
        assert 'id="unlock-form"' in pages.get("/triage").text
        unlocked = submit(pages, "/triage", "/triage/unlock", {"passphrase": PASSPHRASE})
        assert unlocked.status_code == 303
        cookie = unlocked.headers["set-cookie"]
        assert "puerta_incidents_unlock=" in cookie and "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
        assert PASSPHRASE not in cookie
        report = pages.get("/triage/1")
        assert report.status_code == 200
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in report.text
        assert "<script>alert" not in report.text
        moved = submit(pages, "/triage/1", "/triage/1/status", {"status": "in_review"})
        assert moved.status_code == 303
        out = pages.post("/logout", data={"csrf_token": csrf(pages.get("/triage").text)},
                         follow_redirects=False)  # fmt: skip
        assert 'puerta_incidents_unlock=""' in ",".join(out.headers.get_list("set-cookie"))

    def test_a_wrong_passphrase_is_refused_and_nothing_is_shown(self, pages: TestClient) -> None:
        send_report(pages)
        staff_login(pages, pages.app.state.runtime, Role.INCIDENTS)  # type: ignore[attr-defined]
        answer = submit(pages, "/triage", "/triage/unlock", {"passphrase": "guess"})
        assert answer.status_code == 403 and "bus station" not in answer.text
        assert "bus station" not in pages.get("/triage/1").text

    @pytest.mark.parametrize("role", [Role.CASEWORKER, Role.ADMIN])
    def test_other_staff_cannot_open_triage(self, pages: TestClient, role: Role) -> None:
        send_report(pages)
        staff_login(pages, pages.app.state.runtime, role)  # type: ignore[attr-defined]
        assert pages.get("/triage").status_code == 403
        assert pages.get("/triage/1").status_code == 403
