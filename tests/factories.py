"""Builders for test data through the public API and the services."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from fastapi.testclient import TestClient

from puerta.accounts.domain import Member, OrganizationTaken, Role
from puerta.accounts.service import create_account, create_organization, log_in, set_group
from puerta.i18n import available_languages
from puerta.runtime import Runtime

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)

# Inside the geofence (Tijuana, Baja California) and outside it (Oaxaca city; Guatemala City).
TIJUANA = {"lat": 32.5149, "lon": -117.0382}
OAXACA = {"lat": 17.0732, "lon": -96.7266}
GUATEMALA_CITY = {"lat": 14.6349, "lon": -90.5069}


def phone() -> str:
    return f"+52155{next(_numbers):08d}"


def member(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "given_names": "Marie",
        "family_names": "Joseph",
        "birth_date": "1990-03-14",
        "nationality": "HTI",
        "languages": ["ht", "fr"],
    }
    return data | overrides


def register(
    client: TestClient, *, language: str = "es", username: str | None = None
) -> dict[str, str]:
    """Create an account over HTTP, log in, and return the Authorization header."""
    username = username or phone()
    created = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": PASSWORD, "language": language},
    )
    assert created.status_code == 201, created.text
    return login(client, username)


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def registrant_with_group(
    client: TestClient,
    *,
    language: str = "es",
    members: list[dict[str, Any]] | None = None,
    username: str | None = None,
) -> dict[str, str]:
    headers = register(client, language=language, username=username)
    response = client.put(
        "/api/v1/me/group", json={"members": members or [member()]}, headers=headers
    )
    assert response.status_code == 200, response.text
    return headers


def organization(rt: Runtime, slug: str = "casa-del-migrante") -> str:
    """The organization ``slug``, created the first time it is asked for; returns the slug."""
    try:
        create_organization(uow=rt.uow(), clock=rt.clock, slug=slug, name=f"Casa {slug}")
    except OrganizationTaken:
        pass
    return slug


def staff(
    rt: Runtime, role: Role, port: str | None = None, org: str | None = None
) -> dict[str, str]:
    """A staff account made the way the CLI makes one; returns its Authorization header.

    A caseworker belongs to ``org`` (by default the shared test organization)."""
    username = phone()
    if role is Role.CASEWORKER and org is None:
        org = organization(rt)
    create_account(
        uow=rt.uow(),
        clock=rt.clock,
        hasher=rt.hasher,
        username=username,
        password=PASSWORD,
        language="en",
        languages=available_languages(),
        role=role,
        port=port,
        organization=org,
    )
    token, _ = log_in(
        uow=rt.uow(),
        clock=rt.clock,
        hasher=rt.hasher,
        username=username,
        password=PASSWORD,
        ttl=dt.timedelta(days=30),
    )
    return {"Authorization": f"Bearer {token}"}


def family_account(rt: Runtime, members: list[Member] | None = None) -> int:
    """A registrant with a family group, made through the services; returns the account id."""
    account = create_account(
        uow=rt.uow(),
        clock=rt.clock,
        hasher=rt.hasher,
        username=phone(),
        password=PASSWORD,
        language="es",
        languages=available_languages(),
    )
    set_group(
        uow=rt.uow(),
        clock=rt.clock,
        account_id=account.id,
        members=members or [Member("Ana", "Pérez", dt.date(1985, 1, 1), "VEN", ("es",))],
        lock=rt.group_lock,
    )
    return account.id
