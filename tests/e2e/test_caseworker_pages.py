"""A caseworker's pages: registering a person with consent, acting for them with the
banner on every page, going back to their own session, and the person claiming it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.accounts.service import create_account, get_account
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from tests.e2e.pages_helpers import csrf, family, main_text, staff_login, submit
from tests.factories import PASSWORD, organization, phone

_CODE = re.compile(r'id="claim-code"><bdi dir="ltr">([A-Z0-9-]{14})</bdi>')


def _register_person(client: TestClient, **extra: str) -> tuple[str, str]:
    data = {"language": "ht", "phone": "", "consent_given": "yes", "consent_how": "spoken"}
    answer = submit(client, "/caseworker/people/new", "/caseworker/people/new", data | extra)
    assert answer.status_code == 200, answer.text
    code = _CODE.search(answer.text)
    assert code, answer.text
    account_id = re.search(r'action="/caseworker/people/([0-9]+)/act"', answer.text)
    assert account_id
    return account_id.group(1), code.group(1)


def _act(client: TestClient, account_id: str) -> None:
    home = client.get("/caseworker")
    acted = client.post(
        f"/caseworker/people/{account_id}/act",
        data={"csrf_token": csrf(home.text)},
        follow_redirects=False,
    )
    assert acted.status_code == 303 and acted.headers["location"] == "/status", acted.text


class TestCaseworkerPages:
    def test_register_act_for_the_person_and_come_back(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        staff_login(client, runtime, Role.CASEWORKER)
        account_id, code = _register_person(client)
        home = client.get("/caseworker")
        assert f'id="person-{account_id}"' in home.text and code not in home.text
        _act(client, account_id)
        status = client.get("/status")
        assert 'id="acting"' in status.text, "every page says a caseworker is acting"
        saved = submit(client, "/group", "/group", family())
        assert saved.status_code == 303, saved.text
        stop = client.post(
            "/caseworker/stop", data={"csrf_token": csrf(status.text)}, follow_redirects=False
        )
        assert stop.status_code == 303 and stop.headers["location"] == "/caseworker"
        back = client.get("/caseworker")
        assert back.status_code == 200 and 'id="acting"' not in back.text
        assert "Saved" in main_text(back.text)  # the family the caseworker added

    def test_without_consent_the_form_comes_back_with_its_values_and_nothing_is_made(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        staff_login(client, runtime, Role.CASEWORKER)
        data = {"language": "fr", "phone": "+52 664 555 0123", "consent_how": "signed"}
        answer = submit(client, "/caseworker/people/new", "/caseworker/people/new", data)
        assert answer.status_code == 422
        assert 'id="form-error"' in answer.text
        assert 'value="+52 664 555 0123"' in answer.text
        assert 'value="signed" checked' in answer.text
        assert 'id="no-people"' in client.get("/caseworker").text

    def test_the_person_claims_the_account_and_is_logged_in(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        staff_login(client, runtime, Role.CASEWORKER)
        account_id, code = _register_person(client)
        client.cookies.clear()
        username = phone()
        wrong = submit(
            client, "/claim", "/claim",
            {"claim_code": "2222-2222-2222", "username": username, "password": PASSWORD},
        )  # fmt: skip
        assert wrong.status_code == 401 and f'value="{username}"' in wrong.text
        claimed = submit(
            client, "/claim", "/claim",
            {"claim_code": code.lower(), "username": username, "password": PASSWORD},
        )  # fmt: skip
        assert claimed.status_code == 303, claimed.text
        assert claimed.headers["location"] == "/status?done=claimed"
        status = client.get("/status?done=claimed")
        assert status.status_code == 200 and 'id="acting"' not in status.text
        assert 'lang="ht"' in status.text

    def test_a_registrant_cannot_open_the_caseworker_pages(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        staff_login(client, runtime, Role.REGISTRANT)
        assert client.get("/caseworker").status_code == 403
        assert client.get("/caseworker/people/new").status_code == 403


class TestAdminMakesACaseworker:
    def test_the_role_needs_an_organization_chosen_on_the_page(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        slug = organization(runtime, "casa-norte")
        person = phone()
        create_account(
            uow=runtime.uow(), clock=runtime.clock, hasher=runtime.hasher, username=person,
            password=PASSWORD, language="en", languages=available_languages(),
        )  # fmt: skip
        staff_login(client, runtime, Role.ADMIN)
        page = f"/admin/users?username={person}"
        alone = submit(client, page, "/admin/users/role", {"username": person,
                                                           "role": "caseworker"})  # fmt: skip
        assert alone.status_code == 422 and 'id="form-error"' in alone.text
        assert get_account(uow=runtime.uow(), username=person).role is Role.REGISTRANT
        done = submit(client, page, "/admin/users/role",
                      {"username": person, "role": "caseworker", "organization": slug})  # fmt: skip
        assert done.status_code == 303
        made = get_account(uow=runtime.uow(), username=person)
        assert made.role is Role.CASEWORKER and made.organization_id is not None
