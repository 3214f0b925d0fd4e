"""Driving the HTML pages over HTTP as a browser would: cookies, CSRF tokens, forms."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from puerta.accounts.domain import Role
from puerta.accounts.service import create_account
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from tests.factories import PASSWORD, organization, phone

_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def csrf(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def submit(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Response:
    """GET ``page``, then POST ``data`` to ``action`` with the page's CSRF token."""
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    return client.post(
        action, data={"csrf_token": csrf(shown.text), **data}, follow_redirects=False
    )


def register(client: TestClient, language: str = "es", username: str | None = None) -> str:
    username = username or phone()
    answer = submit(
        client, "/register", "/register",
        {"username": username, "password": PASSWORD, "language": language},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    return username


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    return submit(client, "/login", "/login", {"username": username, "password": password})


def family(**overrides: str) -> dict[str, str]:
    row = {
        "count": "1", "action": "save", "members-0-given_names": "Marie",
        "members-0-family_names": "Joseph", "members-0-birth_day": "14",
        "members-0-birth_month": "3", "members-0-birth_year": "1990",
        "members-0-nationality": "HTI", "members-0-languages": "ht", "members-0-id_document": "",
    }  # fmt: skip
    return row | overrides


def request_form(
    client: TestClient, ports: list[str], lat: str, lon: str, action: str = "send"
) -> Response:
    """The request form as sent by its ``action`` button: ``review`` shows the choices back,
    ``send`` (the review page's button) makes the request."""
    shown = client.get("/request")
    key = _KEY.search(shown.text)
    assert key, shown.text
    data = {"csrf_token": csrf(shown.text), "idempotency_key": key.group(1), "ports": ports,
            "lat": lat, "lon": lon, "standing": "on", "action": action}  # fmt: skip
    return client.post("/request", data=data, follow_redirects=False)


def main_text(html: str) -> str:
    """The visible text of ``<main>``, tags stripped, spaces collapsed."""
    body = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def staff_login(
    client: TestClient, rt: Runtime, role: Role, port: str | None = None, org: str | None = None
) -> str:
    """A staff account made the way the CLI makes one, logged in on ``client``'s pages.

    A caseworker belongs to ``org`` (by default the shared test organization)."""
    username = phone()
    if role is Role.CASEWORKER and org is None:
        org = organization(rt)
    create_account(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=username, password=PASSWORD,
        language="en", languages=available_languages(), role=role, port=port, organization=org,
    )  # fmt: skip
    assert log_in(client, username).status_code == 303
    return username
