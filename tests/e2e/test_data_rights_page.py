"""The "Your data" page: a person downloads everything puerta holds about them, and erases
it with their password after a clear warning; a caseworker acting for a person does it for
them with the person's consent and gets their own session back."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.runtime import Runtime
from tests.e2e.pages_helpers import (
    csrf,
    family,
    log_in,
    main_text,
    register,
    staff_login,
    submit,
)
from tests.e2e.test_caseworker_pages import _act, _register_person
from tests.factories import PASSWORD


def _person(client: TestClient, language: str = "en") -> str:
    username = register(client, language=language)
    saved = submit(client, "/group", "/group", family(**{"members-0-given_names": "Wideline"}))
    assert saved.status_code == 303, saved.text
    return username


def _erase(client: TestClient, **data: str) -> object:
    return submit(client, "/me/data", "/me/data/erase", data)


class TestDataPage:
    def test_is_linked_from_the_status_page_and_warns_before_the_erasure(
        self, client: TestClient
    ) -> None:
        _person(client)
        assert 'href="/me/data"' in client.get("/status").text
        page = client.get("/me/data")
        assert page.status_code == 200
        text = main_text(page.text)
        assert 'href="/me/data/export.json"' in page.text
        assert "This cannot be undone." in text and "it is cancelled" in text
        assert "Crime reports are anonymous" in text, "says what the file leaves out"
        assert 'id="erase-consent"' not in page.text, "consent is asked of a caseworker only"

    def test_speaks_the_persons_language(self, client: TestClient) -> None:
        _person(client, language="ht")
        page = client.get("/me/data")
        assert "This cannot be undone." not in page.text
        assert 'lang="ht"' in page.text

    def test_downloads_the_same_document_as_the_api(self, client: TestClient) -> None:
        username = _person(client)
        answer = client.get("/me/data/export.json")
        assert answer.status_code == 200
        assert answer.headers["content-disposition"].startswith("attachment")
        export = json.loads(answer.text)
        assert export["format"] == "puerta-export/1"
        assert export["account"]["username"] == username
        assert export["group"]["members"][0]["given_names"] == "Wideline"

    def test_a_wrong_password_erases_nothing(self, client: TestClient) -> None:
        _person(client)
        refused = _erase(client, password="not my password")
        assert refused.status_code == 403  # type: ignore[attr-defined]
        assert "Nothing was erased" in main_text(refused.text)  # type: ignore[attr-defined]
        assert client.get("/status").status_code == 200

    def test_the_right_password_erases_and_ends_the_session(self, client: TestClient) -> None:
        username = _person(client)
        erased = _erase(client, password=PASSWORD)
        assert erased.status_code == 303  # type: ignore[attr-defined]
        assert erased.headers["location"] == "/?done=erased"  # type: ignore[attr-defined]
        home = client.get("/?done=erased")
        assert 'id="notice"' in home.text, "the start page says it is done"
        assert client.get("/status", follow_redirects=False).status_code == 303
        assert log_in(client, username).status_code == 401


class TestForAPerson:
    def test_a_caseworker_erases_with_the_persons_consent_and_returns_to_their_cases(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        staff_login(client, runtime, Role.CASEWORKER)
        account_id, _ = _register_person(client)
        _act(client, account_id)
        page = client.get("/me/data")
        assert 'id="erase-consent"' in page.text
        refused = _erase(client, password=PASSWORD)
        assert refused.status_code == 422  # type: ignore[attr-defined]
        erased = _erase(client, password=PASSWORD, consent_how="spoken")
        assert erased.headers["location"] == "/caseworker?done=erased"  # type: ignore[attr-defined]
        back = client.get("/caseworker")
        assert back.status_code == 200 and 'id="acting"' not in back.text
        assert f'id="person-{account_id}"' not in back.text
        assert csrf(back.text)
