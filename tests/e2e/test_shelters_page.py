"""The /shelters page and the caseworkers' occupancy page, over HTTP as a browser uses them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from puerta.accounts.domain import Role
from puerta.i18n import available_languages
from puerta.runtime import Runtime
from puerta.shelters import service
from puerta.shelters.domain import ShelterInput
from tests.e2e.pages_helpers import csrf, log_in, main_text, register
from tests.factories import PASSWORD, organization, phone

SECRET_ADDRESS = "Calle Escondida 77"


def rt_of(client: TestClient) -> Runtime:
    return client.app.state.runtime  # type: ignore[attr-defined,no-any-return]


def add(rt: Runtime, slug: str, lat: float, lon: float, occupied: int | None, **kw: object) -> None:
    fields: dict[str, object] = {
        "name": f"Casa {slug}", "organization": "casa-del-migrante", "address": f"Calle {slug}",
        "municipality": "Tijuana", "beds": 10, "services": ("food",), "populations": ("families",),
    } | kw  # fmt: skip
    service.create_shelter(
        uow=rt.uow(),
        clock=rt.clock,
        shelter=ShelterInput(slug=slug, lat=lat, lon=lon, **fields),  # type: ignore[arg-type]
    )
    if occupied is not None:
        service.update_occupancy(
            uow=rt.uow(), clock=rt.clock, slug=slug, occupied=occupied, account=None
        )


@pytest.fixture
def world(client: TestClient) -> Runtime:
    rt = rt_of(client)
    organization(rt)
    organization(rt, "otra-org")
    add(rt, "tijuana", 32.50, -117.00, 4)
    add(rt, "juarez", 31.69, -106.42, 10, municipality="Juárez", services=("legal",))
    add(rt, "tapachula", 14.90, -92.26, None, municipality="Tapachula", populations=("women",))
    add(rt, "refugio", 31.73457, -106.48123, 1, municipality="Juárez",
        address=SECRET_ADDRESS, confidential_location=True)  # fmt: skip
    return rt


def shown(client: TestClient, **query: str) -> str:
    answer = client.get("/shelters", params=query)
    assert answer.status_code == 200, answer.text
    return answer.text


def slugs(html: str) -> list[str]:
    listing = html.split('id="shelter-list"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'id="shelter-([a-z0-9-]+)"', listing)


class TestThePublicPage:
    def test_lists_every_shelter_and_draws_the_map(
        self, client: TestClient, world: Runtime
    ) -> None:
        html = shown(client)
        assert sorted(slugs(html)) == ["juarez", "refugio", "tapachula", "tijuana"]
        svg = html.split('<svg id="shelter-map"', 1)[1].split("</svg>", 1)[0]
        assert svg.count("<path d=") == 32  # every state
        assert 'id="map-geofence"' in svg
        assert svg.count("<circle") == 3  # the confidential one is not on the map
        assert 'class="shelter-dot room"' in svg and 'class="shelter-dot full"' in svg
        assert 'class="shelter-dot unknown"' in svg  # Tapachula never reported
        assert "aria-labelledby" in svg and "<title" in svg

    def test_filters_by_need_and_room(self, client: TestClient, world: Runtime) -> None:
        assert slugs(shown(client, service="legal")) == ["juarez"]
        assert slugs(shown(client, population="women")) == ["tapachula"]
        assert sorted(slugs(shown(client, has_room="true"))) == ["refugio", "tijuana"]

    def test_puts_the_nearest_first_from_a_location_it_does_not_keep(
        self, client: TestClient, world: Runtime
    ) -> None:
        html = shown(client, lat="14.9", lon="-92.3")
        assert slugs(html)[0] == "tapachula" and "km" in main_text(html)
        assert slugs(shown(client, lat="32.5", lon="-117.0"))[0] == "tijuana"

    def test_a_bad_location_or_need_is_told_with_a_422(
        self, client: TestClient, world: Runtime
    ) -> None:
        for query in ({"lat": "north", "lon": "-92"}, {"service": "spa"}):
            answer = client.get("/shelters", params=query)
            assert answer.status_code == 422 and 'id="form-error"' in answer.text

    def test_never_shows_a_confidential_address_or_coordinates(
        self, client: TestClient, world: Runtime
    ) -> None:
        html = shown(client, lat="31.7", lon="-106.4")
        for needle in (SECRET_ADDRESS, "31.7345", "106.4812"):
            assert needle not in html
        card = html.split('id="shelter-refugio"', 1)[1].split("</li>", 1)[0]
        assert "Juárez" in card
        # Nor a dot whose place would give it away: 3 dots, none at its projected point.
        from puerta.shelters.mapping import project

        x, y = project(31.73457, -106.48123)
        assert f'cx="{x}"' not in html

    def test_shows_occupancy_by_state_over_time(self, client: TestClient, world: Runtime) -> None:
        html = shown(client)
        table = html.split('id="history-MX-CHH"', 1)[1].split("</table>", 1)[0]
        assert "Chihuahua" in table and ">20<" in table and ">11<" in table  # 2 shelters, 10+1

    def test_loads_nothing_from_another_host_and_has_no_inline_style(
        self, client: TestClient, world: Runtime
    ) -> None:
        html = shown(client)
        assert " style=" not in html and "<style" not in html
        assert not re.search(r'(src|href)="(https?:)?//', html)

    @pytest.mark.parametrize("language", sorted(available_languages()))
    def test_is_translated_and_mirrored_in_every_language(
        self, client: TestClient, world: Runtime, language: str
    ) -> None:
        answer = client.get("/shelters", headers={"Accept-Language": language})
        assert answer.status_code == 200
        direction = "rtl" if language in ("ar", "fa") else "ltr"
        assert f'dir="{direction}"' in answer.text
        if language != "en":
            assert "Only shelters with free beds" not in answer.text


def caseworker_of(client: TestClient, org: str) -> str:
    username = phone()
    from puerta.accounts.service import create_account

    rt = rt_of(client)
    create_account(
        uow=rt.uow(), clock=rt.clock, hasher=rt.hasher, username=username, password=PASSWORD,
        language="en", languages=available_languages(), role=Role.CASEWORKER, organization=org,
    )  # fmt: skip
    assert log_in(client, username).status_code == 303
    return username


def post_occupancy(client: TestClient, slug: str, occupied: str) -> object:
    page = client.get("/caseworker/shelters")
    return client.post(
        f"/caseworker/shelters/{slug}/occupancy",
        data={"csrf_token": csrf(page.text), "occupied": occupied},
        follow_redirects=False,
    )


def occupied_of(rt: Runtime, slug: str) -> int | None:
    found = [v for v in service.public_shelters(uow=rt.uow(), clock=rt.clock, today=rt.today())
             if v.slug == slug]  # fmt: skip
    return found[0].occupied


class TestTheCaseworkersPage:
    def test_lists_the_organizations_shelters_and_saves_an_update(
        self, client: TestClient, world: Runtime
    ) -> None:
        caseworker_of(client, "casa-del-migrante")
        page = client.get("/caseworker/shelters")
        assert page.status_code == 200 and 'id="shelter-tijuana"' in page.text
        answer = post_occupancy(client, "tijuana", "7")
        assert answer.status_code == 303  # type: ignore[attr-defined]
        assert occupied_of(world, "tijuana") == 7

    def test_above_the_beds_shows_the_error_and_changes_nothing(
        self, client: TestClient, world: Runtime
    ) -> None:
        caseworker_of(client, "casa-del-migrante")
        for bad in ("11", "-1", "seven"):
            answer = post_occupancy(client, "tijuana", bad)
            assert answer.status_code == 422, bad  # type: ignore[attr-defined]
            assert 'id="form-error"' in answer.text  # type: ignore[attr-defined]
        assert occupied_of(world, "tijuana") == 4

    def test_a_caseworker_of_another_organization_sees_none_and_may_not_update(
        self, client: TestClient, world: Runtime
    ) -> None:
        caseworker_of(client, "otra-org")
        page = client.get("/caseworker/shelters")
        assert 'id="no-shelters"' in page.text
        answer = post_occupancy(client, "tijuana", "1")
        assert answer.status_code == 403  # type: ignore[attr-defined]
        assert occupied_of(world, "tijuana") == 4

    def test_a_form_without_its_csrf_token_is_refused(
        self, client: TestClient, world: Runtime
    ) -> None:
        caseworker_of(client, "casa-del-migrante")
        answer = client.post("/caseworker/shelters/tijuana/occupancy", data={"occupied": "1"})
        assert answer.status_code == 403
        assert occupied_of(world, "tijuana") == 4

    def test_others_are_sent_to_log_in_or_refused(self, client: TestClient, world: Runtime) -> None:
        anonymous = client.get("/caseworker/shelters", follow_redirects=False)
        assert anonymous.status_code in (302, 303, 307)
        register(client)
        assert client.get("/caseworker/shelters").status_code == 403
