"""The /documents page over HTTP: listing per member, adding and changing, errors, access."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.i18n import available_languages
from tests.e2e.pages_helpers import csrf, family, main_text, register, staff_login, submit

TWO = family(count="2") | {
    "members-1-given_names": "Jean", "members-1-family_names": "Joseph",
    "members-1-birth_day": "2", "members-1-birth_month": "7", "members-1-birth_year": "2016",
    "members-1-nationality": "HTI", "members-1-languages": "ht", "members-1-id_document": "",
}  # fmt: skip
STORED = re.compile(r'id="document-(\d+)"')
NEW = {
    "member": "1", "kind": "comar_constancia", "status": "requested", "requested_day": "1",
    "requested_month": "8", "requested_year": "2024", "decided_day": "", "decided_month": "",
    "decided_year": "", "expires_day": "", "expires_month": "", "expires_year": "",
    "office": "comar  tapachula",
}  # fmt: skip


def person(client: TestClient, language: str = "es") -> None:
    register(client, language)
    assert submit(client, "/group", "/group", TWO).status_code == 303


def add(client: TestClient, **overrides: str) -> int:
    answer = submit(client, "/documents", "/documents", NEW | overrides)
    assert answer.status_code == 303, main_text(answer.text)
    assert answer.headers["location"] == "/documents?done=saved"
    found = STORED.findall(client.get("/documents").text)
    return int(found[-1])


class TestDocumentsPage:
    def test_lists_each_members_documents_with_dates_in_the_readers_language(
        self, client: TestClient
    ) -> None:
        person(client, "es")
        add(client)
        text = main_text(client.get("/documents?done=saved").text)
        assert "Jean Joseph" in text and "COMAR TAPACHULA" in text
        assert "1 de agosto de 2024" in text
        assert (
            text.index("Marie Joseph") < text.index("Jean Joseph") < text.index("COMAR TAPACHULA")
        )

    def test_is_linked_from_the_status_page(self, client: TestClient) -> None:
        person(client)
        assert 'href="/documents"' in client.get("/status").text

    def test_changes_a_document_through_its_form(self, client: TestClient) -> None:
        person(client)
        doc = add(client)
        shown = client.get(f"/documents?edit={doc}")
        assert f'action="/documents/{doc}"' in shown.text
        data = NEW | {"status": "issued", "decided_day": "20", "decided_month": "8",
                      "decided_year": "2024", "expires_day": "20", "expires_month": "8",
                      "expires_year": "2025"}  # fmt: skip
        answer = client.post(
            f"/documents/{doc}", data={"csrf_token": csrf(shown.text), **data},
            follow_redirects=False,
        )  # fmt: skip
        assert answer.status_code == 303, main_text(answer.text)
        assert "2025" in main_text(client.get("/documents").text)

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"kind": "passport"}, "Elija un documento"),
            ({"member": "7"}, "familia"),
            ({"requested_year": "20"}, "fecha"),
            ({"status": "issued"}, "decisión"),
            ({"office": "x"}, "oficina"),
        ],
    )
    def test_a_bad_form_is_shown_again_with_its_error_in_spanish(
        self, client: TestClient, overrides: dict[str, str], message: str
    ) -> None:
        person(client, "es")
        answer = submit(client, "/documents", "/documents", NEW | overrides)
        assert answer.status_code == 422
        error = answer.text.split('id="form-error"', 1)[1].split("</div>", 1)[0]
        assert message.lower() in error.lower()
        typed = (NEW | overrides)["office"]
        assert f'name="office" value="{typed}"' in answer.text  # what was typed is kept
        assert not STORED.search(answer.text)

    def test_another_familys_document_cannot_be_opened_or_changed(self, client: TestClient) -> None:
        person(client)
        doc = add(client)
        client.cookies.clear()
        person(client)
        assert client.get(f"/documents?edit={doc}").status_code == 422
        answer = submit(client, "/documents", f"/documents/{doc}", NEW | {"status": "denied"})
        assert answer.status_code == 422
        assert "COMAR TAPACHULA" not in main_text(client.get("/documents").text)

    def test_a_form_without_its_csrf_token_is_refused(self, client: TestClient) -> None:
        person(client)
        answer = client.post("/documents", data=NEW, follow_redirects=False)
        assert answer.status_code == 403
        assert not STORED.search(client.get("/documents").text)

    def test_without_a_family_it_says_to_add_one(self, client: TestClient) -> None:
        register(client, "en")
        text = main_text(client.get("/documents").text)
        assert "Register your family group first." in text

    def test_needs_a_registrant(self, client: TestClient) -> None:
        answer = client.get("/documents", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        staff_login(client, client.app.state.runtime, Role.ADMIN)  # type: ignore[attr-defined]
        assert client.get("/documents").status_code == 403

    @pytest.mark.parametrize("language", sorted(available_languages()))
    def test_renders_in_every_language_right_to_left_where_it_should(
        self, client: TestClient, language: str
    ) -> None:
        person(client, language)
        add(client)
        page = client.get("/documents")
        assert page.status_code == 200
        direction = "rtl" if language in ("ar", "fa") else "ltr"
        assert f'dir="{direction}"' in page.text
        assert "<bdi>" in page.text  # dates and the office keep their own direction
