"""Accounts, login and groups over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from tests.factories import PASSWORD, login, member, phone, register, staff


def assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"/problems/{code}" and body["detail"]
    return dict(body)


class TestCreateAccount:
    def test_creates_a_registrant_in_the_chosen_language(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/accounts",
            json={"username": "+509 3712 3456", "password": PASSWORD, "language": "ht"},
        )
        assert response.status_code == 201
        body = response.json()
        assert (body["username"], body["role"], body["language"]) == (
            "+50937123456",
            "registrant",
            "ht",
        )
        assert "password" not in response.text and "hash" not in response.text

    def test_a_taken_username_is_a_conflict(self, client: TestClient) -> None:
        payload = {"username": "ana@example.org", "password": PASSWORD, "language": "es"}
        client.post("/api/v1/accounts", json=payload)
        body = assert_problem(client.post("/api/v1/accounts", json=payload), 409, "username_taken")
        assert body["detail"] == "Ya existe una cuenta con este correo o número de teléfono."

    def test_bad_input_is_refused_with_a_clear_message(self, client: TestClient) -> None:
        cases = [
            ({"username": "nobody", "password": PASSWORD}, "invalid_username"),
            ({"username": phone(), "password": "short"}, "weak_password"),
            ({"username": phone(), "password": PASSWORD, "language": "xx"}, "unsupported_language"),
            ({"username": phone(), "password": PASSWORD, "role": "admin"}, "invalid_request"),
            ({"password": PASSWORD}, "invalid_request"),
        ]
        for payload, code in cases:
            assert_problem(client.post("/api/v1/accounts", json=payload), 422, code)

    def test_weak_passwords_are_refused_each_with_its_own_code(self, client: TestClient) -> None:
        cases = [
            ("123456789", "weak_password"),
            ("\x00" * 10, "password_characters"),
            ("my password\n", "password_characters"),
            ("Password123", "common_password"),
            ("QWERTYUIOP", "common_password"),
        ]
        for password, code in cases:
            payload = {"username": phone(), "password": password, "language": "en"}
            body = assert_problem(client.post("/api/v1/accounts", json=payload), 422, code)
            assert "{" not in str(body["detail"])

    def test_nobody_can_make_themselves_staff(self, client: TestClient) -> None:
        headers = register(client)
        assert client.get("/api/v1/me", headers=headers).json()["role"] == "registrant"


class TestLogIn:
    def test_a_token_opens_me(self, client: TestClient) -> None:
        username = phone()
        headers = register(client, username=username, language="en")
        body = client.get("/api/v1/me", headers=headers).json()
        assert (body["username"], body["language"]) == (username, "en")

    def test_wrong_password_is_401_in_the_browsers_language(self, client: TestClient) -> None:
        username = phone()
        register(client, username=username)
        response = client.post(
            "/api/v1/auth/token",
            data={"username": username, "password": "not it at all"},
            headers={"Accept-Language": "ht, fr;q=0.8"},
        )
        body = assert_problem(response, 401, "bad_credentials")
        assert body["detail"] == "Non itilizatè a oswa modpas la pa kòrèk."

    def test_me_without_or_with_a_bad_token_is_401(self, client: TestClient) -> None:
        assert_problem(client.get("/api/v1/me"), 401, "not_authenticated")
        bad = {"Authorization": "Bearer nope"}
        assert_problem(client.get("/api/v1/me", headers=bad), 401, "invalid_token")

    def test_logout_revokes_the_token(self, client: TestClient) -> None:
        headers = register(client)
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert_problem(client.get("/api/v1/me", headers=headers), 401, "invalid_token")


class TestGroup:
    def test_put_then_get_the_group(self, client: TestClient) -> None:
        headers = register(client)
        members = [member(), member(given_names="Jean", birth_date="2016-07-02", languages=[])]
        put = client.put("/api/v1/me/group", json={"members": members}, headers=headers)
        assert put.status_code == 200, put.text
        got = client.get("/api/v1/me/group", headers=headers).json()
        assert got["size"] == 2
        assert [m["given_names"] for m in got["members"]] == ["Marie", "Jean"]

    def test_no_group_yet_is_group_missing(self, client: TestClient) -> None:
        assert_problem(
            client.get("/api/v1/me/group", headers=register(client)), 409, "group_missing"
        )

    def test_bad_groups_are_refused_and_the_stored_group_is_kept(self, client: TestClient) -> None:
        headers = register(client, language="en")
        client.put("/api/v1/me/group", json={"members": [member()]}, headers=headers)
        bad_groups = [
            ({"members": []}, "invalid_request"),
            ({"members": [member()] * 13}, "invalid_request"),
            ({"members": [member(birth_date="2999-01-01")]}, "invalid_group"),
            ({"members": [member(nationality="XX1")]}, "invalid_group"),
            ({"members": [member(face_photo="...")]}, "invalid_request"),
            ({"members": [member(birth_date="14/03/1990")]}, "invalid_request"),
        ]
        for payload, code in bad_groups:
            response = client.put("/api/v1/me/group", json=payload, headers=headers)
            assert_problem(response, 422, code)
        kept = client.get("/api/v1/me/group", headers=headers).json()
        assert [m["given_names"] for m in kept["members"]] == ["Marie"]

    def test_unknown_codes_duplicates_and_dates_with_a_time_are_refused(
        self, client: TestClient
    ) -> None:
        headers = register(client, language="en")
        client.put("/api/v1/me/group", json={"members": [member()]}, headers=headers)
        bad_groups = [
            ([member(nationality="XXX")], "invalid_group", "three-letter ISO 3166"),
            ([member(languages=["zz"])], "invalid_group", "language codes"),
            ([member(), member(given_names=" MARIE ")], "invalid_group", "the same names"),
            ([member(birth_date="2010-02-02T10:00")], "invalid_request", ""),
            ([member(birth_date="2010-02-02T00:00")], "invalid_request", ""),
            ([member(birth_date="1265068800")], "invalid_request", ""),
            ([member(birth_date=1265068800)], "invalid_request", ""),
        ]
        for members, code, says in bad_groups:
            response = client.put("/api/v1/me/group", json={"members": members}, headers=headers)
            assert says in str(assert_problem(response, 422, code)["detail"])
        kept = client.get("/api/v1/me/group", headers=headers).json()
        assert [m["nationality"] for m in kept["members"]] == ["HTI"]

    def test_codes_are_stored_in_their_usual_spelling(self, client: TestClient) -> None:
        headers = register(client)
        body = {"members": [member(nationality="hti", languages=["HT", "zh_hans", "hat"])]}
        put = client.put("/api/v1/me/group", json=body, headers=headers)
        assert put.status_code == 200, put.text
        [stored] = put.json()["members"]
        assert (stored["nationality"], stored["languages"]) == ("HTI", ["ht", "zh-Hans"])

    def test_staff_have_no_family_group(self, client: TestClient) -> None:
        headers = staff(client.app.state.runtime, Role.OFFICER, "laredo")  # type: ignore[attr-defined]
        response = client.put("/api/v1/me/group", json={"members": [member()]}, headers=headers)
        assert_problem(response, 403, "role_required")

    def test_a_fresh_login_works_after_the_group_is_saved(self, client: TestClient) -> None:
        username = phone()
        headers = register(client, username=username)
        client.put("/api/v1/me/group", json={"members": [member()]}, headers=headers)
        again = login(client, username)
        assert client.get("/api/v1/me/group", headers=again).status_code == 200
